// A coffer-manager process with its local HSM provider, driven the way a
// customer drives it: for the cluster integration tests and the cluster
// benchmark (bench/cluster_bench.cc). Everything lives in one directory;
// the customer CA and the operator's client certificate are made here.
// Not for production: keys of the test CA are kept in memory.
#ifndef COFFER_MANAGER_LOCAL_CLUSTER_H_
#define COFFER_MANAGER_LOCAL_CLUSTER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/hsm_client.h"
#include "coffer/manager/v1/manager.grpc.pb.h"
#include "provision/provision.h"
#include "testing/subprocess.h"

namespace coffer::manager {

namespace mpb = ::coffer::manager::v1;
namespace hpb = ::coffer::hsm::v1;

struct PemPair {
  std::string cert, key;
};

// A customer's connection to one HSM of a cluster.
class HsmSession {
 public:
  static absl::StatusOr<HsmSession> Open(const std::string& endpoint,
                                         const std::string& ca_pem,
                                         const PemPair& client);
  absl::Status Login(const std::string& user, const std::string& password);
  absl::StatusOr<hpb::Response> Call(hpb::Request request);
  absl::StatusOr<uint64_t> GenerateAes();
  absl::StatusOr<uint64_t> GenerateEcPair();  // the private key's handle
  absl::Status Sign(uint64_t handle);         // ECDSA-SHA256
  absl::StatusOr<std::set<uint64_t>> Handles();

 private:
  explicit HsmSession(client::HsmClient c) : c_(std::move(c)) {}
  client::HsmClient c_;
};

class LocalCluster {
 public:
  // Starts coffer-manager (`manager_path`) on loopback with its state in
  // `dir`/data. `extra_args` go to the manager (intervals).
  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(
      const std::string& manager_path, const std::string& dir,
      std::vector<std::string> extra_args = {});
  // Kills the manager and every HSM process of its provider.
  ~LocalCluster();

  absl::Status RestartManager();  // kill -9, then start again
  void KillManager();
  std::string ManagerLog() const;
  std::string data_dir() const { return dir_ + "/data"; }
  // The pid of an HSM's process (the provider's pid file).
  absl::StatusOr<int> HsmPid(const std::string& hsm_id) const;

  template <typename Req, typename Resp>
  grpc::Status Rpc(grpc::Status (mpb::Manager::Stub::*method)(
                       grpc::ClientContext*, const Req&, Resp*),
                   const Req& request, Resp* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(300));
    return ((*stub_).*method)(&ctx, request, response);
  }

  absl::StatusOr<mpb::Cluster> Describe(const std::string& cluster_id);
  std::vector<mpb::Hsm> ActiveHsms(const std::string& cluster_id);
  // Polls until `done` holds for the cluster (or `timeout`).
  bool WaitFor(const std::string& cluster_id,
               const std::function<bool(const mpb::Cluster&)>& done,
               std::chrono::milliseconds timeout = std::chrono::seconds(60));
  absl::StatusOr<std::string> CreateCluster(
      const std::string& source_backup_id = "");
  grpc::Status CreateHsm(const std::string& cluster_id,
                         mpb::Hsm* out = nullptr);
  grpc::Status DeleteHsm(const std::string& cluster_id,
                         const std::string& hsm_id);

  // The whole activation flow: first HSM, its CSR signed by this customer
  // CA, InitializeCluster, the admin password ("admin-password-1") set on
  // the HSM, the manager noticing; then crypto user "app"
  // ("app-password-1"). Returns the cluster id, ACTIVE with one HSM.
  absl::StatusOr<std::string> ActiveCluster();
  absl::StatusOr<HsmSession> Session(const mpb::Hsm& hsm);
  absl::StatusOr<HsmSession> App(const mpb::Hsm& hsm);  // logged in as app

  const provision::CertificateAuthority& ca() const { return *ca_; }
  const std::string& ca_pem() const { return ca_pem_; }

 private:
  LocalCluster() = default;
  absl::Status StartManager();

  std::string manager_path_, dir_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<provision::CertificateAuthority> ca_;
  std::string ca_pem_;
  PemPair client_;
  std::unique_ptr<testing::BackgroundProcess> manager_;
  std::unique_ptr<mpb::Manager::Stub> stub_;
};

}  // namespace coffer::manager

#endif  // COFFER_MANAGER_LOCAL_CLUSTER_H_
