// How `coffer` reaches coffer-manager: its gRPC API (proto/coffer/manager/
// v1/manager.proto) over mutually authenticated TLS, with the address from
// --manager or the config file's "manager" key and the same ca/cert/key/
// server_name as the HSM's (connection.h). gRPC is linked into the CLI for
// the manager commands, and for finding a cluster's HSM through the
// manager (ClusterHsmEndpoint).
//
// Exit codes follow the HSM's (docs/cli.md): the manager's refusals keep
// their gRPC code and message (exit 1), except INVALID_ARGUMENT, which for
// the manager always means a flag's value was wrong (exit 2); UNAVAILABLE
// (refused connection or handshake) and DEADLINE_EXCEEDED are exit 3.
#ifndef COFFER_CLI_MANAGER_CONNECTION_H_
#define COFFER_CLI_MANAGER_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "cli/connection.h"
#include "coffer/manager/v1/manager.grpc.pb.h"

namespace coffer::cli {

namespace mpb = ::coffer::manager::v1;

class ManagerConnection {
 public:
  // Resolves the config and makes the channel. gRPC connects lazily, so an
  // unreachable manager shows on the first call (exit 3). UsageError for a
  // missing address or unreadable TLS files.
  static absl::StatusOr<ManagerConnection> Open(const ConnectionFlags& flags);
  // The same with a resolved config (manager, ca, cert, key set).
  static absl::StatusOr<ManagerConnection> Open(const ConnectionConfig& config);

  // Catalog calls answer at once; a silent manager should not hang a
  // script.
  static constexpr std::chrono::seconds kDeadline{30};
  // Calls that provision, restore or back up HSMs (CreateHsm, DeleteHsm,
  // InitializeCluster, CreateBackup, CopyBackupToRegion) run to the end
  // before answering.
  static constexpr std::chrono::seconds kLongDeadline{600};

  // One unary call, e.g. Call(&mpb::Manager::Stub::DescribeClusters, req),
  // with `deadline` from now.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      grpc::Status (mpb::Manager::Stub::*method)(grpc::ClientContext*,
                                                 const Request&, Response*),
      const Request& request, std::chrono::seconds deadline = kDeadline) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    Response response;
    const grpc::Status s = ((*stub_).*method)(&context, request, &response);
    if (!s.ok()) return FromGrpc(s);
    return response;
  }

  const std::string& address() const { return address_; }

 private:
  ManagerConnection(std::string address,
                    std::unique_ptr<mpb::Manager::Stub> stub)
      : address_(std::move(address)), stub_(std::move(stub)) {}
  // The status and exit code a failed call becomes.
  absl::Status FromGrpc(const grpc::Status& s) const;

  std::string address_;
  std::unique_ptr<mpb::Manager::Stub> stub_;
};

// The address of the HSM that HSM commands use when the config names a
// manager and a cluster_id but no hsm: the cluster's oldest ACTIVE HSM, as
// DescribeClusters reports it (stable while that HSM lives, so a saved
// session stays valid). NotFound for an unknown cluster, FailedPrecondition
// if it has no ACTIVE HSM, the manager's errors otherwise.
absl::StatusOr<std::string> ClusterHsmEndpoint(const ConnectionConfig& config);

}  // namespace coffer::cli

#endif  // COFFER_CLI_MANAGER_CONNECTION_H_
