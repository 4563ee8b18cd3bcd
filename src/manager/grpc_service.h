// Serves a ControlPlane as the coffer.manager.v1.Manager gRPC service over
// mutually authenticated TLS: clients must present a certificate that
// chains to `client_ca_pem` (the operator's or customer's CA), or the
// handshake fails. Status codes map one to one (docs/manager.md).
//
// gRPC stays behind this header (CONVENTIONS: only the modules that serve
// the wire API include it). Thread-safe; the control plane must outlive
// the server.
#ifndef COFFER_MANAGER_GRPC_SERVICE_H_
#define COFFER_MANAGER_GRPC_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "manager/cluster_workflows.h"
#include "manager/control_plane.h"

namespace coffer::manager {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks one
  std::string cert_chain_pem;          // the server's certificate chain
  std::string private_key_pem;         // wiped once the server has it
  std::string client_ca_pem;           // trust anchor for client certificates
};

class ManagerServer {
 public:
  // Binds and starts serving. InvalidArgument for a bad `listen` or
  // missing credentials; Unavailable if the address cannot be bound.
  // `workflows` serves the calls that touch HSMs and the archive; null
  // answers them UNIMPLEMENTED.
  static absl::StatusOr<std::unique_ptr<ManagerServer>> Start(
      ControlPlane& control_plane, ClusterWorkflows* workflows,
      ServerOptions options);
  virtual ~ManagerServer() = default;

  virtual int port() const = 0;  // the bound port
  // Stops accepting calls and waits up to 5 s for those running. Idempotent.
  virtual void Shutdown() = 0;
};

}  // namespace coffer::manager

#endif  // COFFER_MANAGER_GRPC_SERVICE_H_
