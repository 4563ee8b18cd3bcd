// The Manager gRPC service: each rpc converts its request, calls the
// control plane and converts the result or the error.
#include "manager/grpc_service.h"

#include <grpcpp/grpcpp.h>
#include <openssl/crypto.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "coffer/manager/v1/manager.grpc.pb.h"
#include "manager/internal/convert.h"

namespace coffer::manager {
namespace {

using grpc::ServerContext;
using internal::FromProto;
using internal::ToGrpcStatus;
using internal::ToProto;
namespace pb = ::coffer::manager::v1;

PageRequest Paging(uint32_t max_results, const std::string& next_token) {
  return PageRequest{max_results, next_token};
}

grpc::Status NoProvider() {
  return ToGrpcStatus(absl::UnimplementedError(
      "this manager runs without an HSM provider and archive, so it cannot "
      "touch HSMs or backups' contents"));
}

class Service final : public pb::Manager::Service {
 public:
  Service(ControlPlane& cp, ClusterWorkflows* workflows)
      : cp_(cp), workflows_(workflows) {}

  grpc::Status CreateCluster(ServerContext*,
                             const pb::CreateClusterRequest* req,
                             pb::CreateClusterResponse* resp) override {
    CreateClusterParams p{.region = req->region(),
                          .backup_retention_days = req->backup_retention_days(),
                          .source_backup_id = req->source_backup_id(),
                          .tags = FromProto(req->tags())};
    if (req->mode() != pb::CLUSTER_MODE_UNSPECIFIED) {
      absl::StatusOr<ClusterMode> mode = FromProto(req->mode(), "mode");
      if (!mode.ok()) return ToGrpcStatus(mode.status());
      p.mode = *mode;
    }
    return Reply(cp_.CreateCluster(p), resp->mutable_cluster());
  }

  grpc::Status DescribeClusters(ServerContext*,
                                const pb::DescribeClustersRequest* req,
                                pb::DescribeClustersResponse* resp) override {
    ClusterFilter filter;
    filter.cluster_ids.assign(req->cluster_ids().begin(),
                              req->cluster_ids().end());
    for (int state : req->states()) {
      absl::StatusOr<ClusterState> s =
          FromProto(static_cast<pb::ClusterState>(state), "states");
      if (!s.ok()) return ToGrpcStatus(s.status());
      filter.states.push_back(*s);
    }
    absl::StatusOr<Page<Cluster>> page = cp_.DescribeClusters(
        filter, Paging(req->max_results(), req->next_token()));
    if (!page.ok()) return ToGrpcStatus(page.status());
    for (const Cluster& c : page->items) ToProto(c, resp->add_clusters());
    resp->set_next_token(page->next_token);
    return grpc::Status::OK;
  }

  grpc::Status ModifyCluster(ServerContext*,
                             const pb::ModifyClusterRequest* req,
                             pb::ModifyClusterResponse* resp) override {
    return Reply(
        cp_.ModifyCluster(req->cluster_id(), req->backup_retention_days()),
        resp->mutable_cluster());
  }

  grpc::Status DeleteCluster(ServerContext*,
                             const pb::DeleteClusterRequest* req,
                             pb::DeleteClusterResponse* resp) override {
    return Reply(cp_.DeleteCluster(req->cluster_id()), resp->mutable_cluster());
  }

  grpc::Status InitializeCluster(ServerContext*,
                                 const pb::InitializeClusterRequest* req,
                                 pb::InitializeClusterResponse* resp) override {
    if (workflows_ == nullptr) return NoProvider();
    absl::StatusOr<ClusterState> state = workflows_->InitializeCluster(
        req->cluster_id(), req->signed_cert_pem(), req->trust_anchor_pem());
    if (!state.ok()) return ToGrpcStatus(state.status());
    resp->set_state(static_cast<pb::ClusterState>(*state));
    return grpc::Status::OK;
  }

  grpc::Status CreateHsm(ServerContext*, const pb::CreateHsmRequest* req,
                         pb::CreateHsmResponse* resp) override {
    if (workflows_ == nullptr) return NoProvider();
    return Reply(
        workflows_->CreateHsm(req->cluster_id(), req->availability_zone()),
        resp->mutable_hsm());
  }

  grpc::Status DeleteHsm(ServerContext*, const pb::DeleteHsmRequest* req,
                         pb::DeleteHsmResponse* resp) override {
    if (workflows_ == nullptr) return NoProvider();
    absl::Status s = workflows_->DeleteHsm(req->cluster_id(), req->hsm_id());
    if (s.ok()) resp->set_hsm_id(req->hsm_id());
    return ToGrpcStatus(s);
  }

  grpc::Status CreateBackup(ServerContext*, const pb::CreateBackupRequest* req,
                            pb::CreateBackupResponse* resp) override {
    if (workflows_ == nullptr) return NoProvider();
    return Reply(
        workflows_->CreateBackup(req->cluster_id(), FromProto(req->tags())),
        resp->mutable_backup());
  }

  grpc::Status DescribeBackups(ServerContext*,
                               const pb::DescribeBackupsRequest* req,
                               pb::DescribeBackupsResponse* resp) override {
    BackupFilter filter;
    filter.backup_ids.assign(req->backup_ids().begin(),
                             req->backup_ids().end());
    filter.cluster_ids.assign(req->cluster_ids().begin(),
                              req->cluster_ids().end());
    for (int state : req->states()) {
      absl::StatusOr<BackupState> s =
          FromProto(static_cast<pb::BackupState>(state), "states");
      if (!s.ok()) return ToGrpcStatus(s.status());
      filter.states.push_back(*s);
    }
    if (req->has_never_expires()) filter.never_expires = req->never_expires();
    filter.newest_first = req->sort() == pb::SORT_ORDER_DESCENDING;
    absl::StatusOr<Page<Backup>> page = cp_.DescribeBackups(
        filter, Paging(req->max_results(), req->next_token()));
    if (!page.ok()) return ToGrpcStatus(page.status());
    for (const Backup& b : page->items) ToProto(b, resp->add_backups());
    resp->set_next_token(page->next_token);
    return grpc::Status::OK;
  }

  grpc::Status DeleteBackup(ServerContext*, const pb::DeleteBackupRequest* req,
                            pb::DeleteBackupResponse* resp) override {
    return Reply(cp_.DeleteBackup(req->backup_id()), resp->mutable_backup());
  }

  grpc::Status RestoreBackup(ServerContext*,
                             const pb::RestoreBackupRequest* req,
                             pb::RestoreBackupResponse* resp) override {
    return Reply(cp_.RestoreBackup(req->backup_id()), resp->mutable_backup());
  }

  grpc::Status CopyBackupToRegion(
      ServerContext*, const pb::CopyBackupToRegionRequest* req,
      pb::CopyBackupToRegionResponse* resp) override {
    if (workflows_ == nullptr) return NoProvider();
    return Reply(workflows_->CopyBackupToRegion(req->backup_id(),
                                                req->destination_region(),
                                                FromProto(req->tags())),
                 resp->mutable_destination_backup());
  }

  grpc::Status ModifyBackupAttributes(
      ServerContext*, const pb::ModifyBackupAttributesRequest* req,
      pb::ModifyBackupAttributesResponse* resp) override {
    return Reply(
        cp_.ModifyBackupAttributes(req->backup_id(), req->never_expires()),
        resp->mutable_backup());
  }

  grpc::Status TagResource(ServerContext*, const pb::TagResourceRequest* req,
                           pb::TagResourceResponse*) override {
    return ToGrpcStatus(
        cp_.TagResource(req->resource_id(), FromProto(req->tags())));
  }

  grpc::Status UntagResource(ServerContext*,
                             const pb::UntagResourceRequest* req,
                             pb::UntagResourceResponse*) override {
    return ToGrpcStatus(cp_.UntagResource(
        req->resource_id(), {req->tag_keys().begin(), req->tag_keys().end()}));
  }

  grpc::Status ListTags(ServerContext*, const pb::ListTagsRequest* req,
                        pb::ListTagsResponse* resp) override {
    absl::StatusOr<Page<Tag>> page = cp_.ListTags(
        req->resource_id(), Paging(req->max_results(), req->next_token()));
    if (!page.ok()) return ToGrpcStatus(page.status());
    for (const Tag& t : page->items) ToProto(t, resp->add_tags());
    resp->set_next_token(page->next_token);
    return grpc::Status::OK;
  }

 private:
  template <typename T, typename P>
  static grpc::Status Reply(const absl::StatusOr<T>& result, P* out) {
    if (!result.ok()) return ToGrpcStatus(result.status());
    ToProto(*result, out);
    return grpc::Status::OK;
  }

  ControlPlane& cp_;
  ClusterWorkflows* workflows_;  // null: no provider (tests)
};

class GrpcManagerServer final : public ManagerServer {
 public:
  GrpcManagerServer(ControlPlane& cp, ClusterWorkflows* workflows)
      : service_(cp, workflows) {}
  ~GrpcManagerServer() override { Shutdown(); }

  absl::Status Start(ServerOptions options);
  int port() const override { return port_; }
  void Shutdown() override {
    if (server_ == nullptr || stopped_) return;
    stopped_ = true;
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
    server_->Wait();
  }

 private:
  Service service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool stopped_ = false;
};

absl::Status GrpcManagerServer::Start(ServerOptions options) {
  if (options.cert_chain_pem.empty() || options.private_key_pem.empty() ||
      options.client_ca_pem.empty()) {
    return absl::InvalidArgumentError(
        "the manager needs a certificate chain, its private key and a client "
        "CA: it serves only mutually authenticated TLS");
  }
  grpc::SslServerCredentialsOptions ssl(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = options.client_ca_pem;
  ssl.pem_key_cert_pairs.push_back(
      {options.private_key_pem, options.cert_chain_pem});
  std::shared_ptr<grpc::ServerCredentials> creds =
      grpc::SslServerCredentials(ssl);
  // gRPC keeps its own copy; ours are wiped (its API takes std::string).
  OPENSSL_cleanse(options.private_key_pem.data(),
                  options.private_key_pem.size());
  OPENSSL_cleanse(ssl.pem_key_cert_pairs[0].private_key.data(),
                  ssl.pem_key_cert_pairs[0].private_key.size());

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, creds, &port_);
  builder.RegisterService(&service_);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot serve on ", options.listen,
                     ": is it a free host:port of this machine?"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ManagerServer>> ManagerServer::Start(
    ControlPlane& control_plane, ClusterWorkflows* workflows,
    ServerOptions options) {
  auto server = std::make_unique<GrpcManagerServer>(control_plane, workflows);
  COFFER_RETURN_IF_ERROR(server->Start(std::move(options)));
  return server;
}

}  // namespace coffer::manager
