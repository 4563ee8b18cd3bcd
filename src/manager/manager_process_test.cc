// coffer-manager as a real process on a loopback port picked at run time,
// driven through a gRPC client over mutual TLS: the calls of this slice,
// state kept across a kill -9 and restart, and clients of another CA
// refused.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "coffer/manager/v1/manager.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "provision/provision.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"

namespace coffer::manager {
namespace {

namespace pb = ::coffer::manager::v1;
using ::coffer::testing::BackgroundProcess;
using ::testing::HasSubstr;

constexpr const char* kManagerPath = COFFER_TEST_MANAGER_PATH;

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::trunc);
  out << contents;
  ASSERT_TRUE(out) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct ClientPem {
  std::string cert, key;
};

// Issues a leaf under `ca` and returns it as PEM (the key too: test only).
ClientPem Issue(const provision::CertificateAuthority& ca,
                const std::string& name, crypto::CertificateUsage usage) {
  auto leaf = provision::IssueLeaf(ca, name, usage);
  EXPECT_TRUE(leaf.ok()) << leaf.status();
  auto key = leaf->key.ToPem();
  EXPECT_TRUE(key.ok()) << key.status();
  const ByteView k = key->ExposeSecret();
  return {leaf->cert.ToPem(), std::string(k.begin(), k.end())};
}

class ManagerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = provision::CreateCa("Coffer test operators", "Coffer tests");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_pem_ = ca->cert.ToPem();
    const ClientPem server =
        Issue(*ca, "coffer-manager", crypto::CertificateUsage::kTlsServer);
    client_ = Issue(*ca, "operator", crypto::CertificateUsage::kTlsClient);
    auto other_ca = provision::CreateCa("Somebody else", "Elsewhere");
    ASSERT_TRUE(other_ca.ok()) << other_ca.status();
    stranger_ =
        Issue(*other_ca, "stranger", crypto::CertificateUsage::kTlsClient);
    WriteFile(dir_.File("ca.pem"), ca_pem_);
    WriteFile(dir_.File("server.pem"), server.cert);
    WriteFile(dir_.File("server.key"), server.key);
  }

  // Starts the manager and waits for its port file.
  void StartManager() {
    const std::string port_file = dir_.File("port");
    std::remove(port_file.c_str());
    auto proc = BackgroundProcess::Start(
        {.argv = {kManagerPath, "--data-dir", dir_.File("data"), "--listen",
                  "127.0.0.1:0", "--port-file", port_file, "--tls-cert",
                  dir_.File("server.pem"), "--tls-key", dir_.File("server.key"),
                  "--client-ca", dir_.File("ca.pem")}},
        dir_.File("manager.log"));
    ASSERT_TRUE(proc.ok()) << proc.status();
    manager_ = std::make_unique<BackgroundProcess>(std::move(*proc));
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      int port = 0;
      if (absl::SimpleAtoi(ReadFile(port_file), &port)) port_ = port;
      if (port_ == 0) {
        ASSERT_TRUE(manager_->running()) << ReadFile(dir_.File("manager.log"));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    ASSERT_NE(port_, 0) << ReadFile(dir_.File("manager.log"));
  }

  std::unique_ptr<pb::Manager::Stub> Connect(const ClientPem& who) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ca_pem_;
    ssl.pem_cert_chain = who.cert;
    ssl.pem_private_key = who.key;
    return pb::Manager::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::SslCredentials(ssl)));
  }

  // A context with a deadline, so a broken server fails the test quickly.
  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(10));
    return ctx;
  }

  coffer::testing::TempDir dir_;
  std::string ca_pem_;
  ClientPem client_, stranger_;
  std::unique_ptr<BackgroundProcess> manager_;
  int port_ = 0;
};

TEST_F(ManagerProcessTest, ClustersOverMutualTlsSurviveARestart) {
  ASSERT_NO_FATAL_FAILURE(StartManager());
  auto stub = Connect(client_);

  pb::CreateClusterRequest create;
  create.set_region("local");
  create.set_mode(pb::CLUSTER_MODE_FIPS);
  create.set_backup_retention_days(30);
  pb::CreateClusterResponse created;
  grpc::Status s = stub->CreateCluster(Ctx().get(), create, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string id = created.cluster().cluster_id();
  EXPECT_EQ(created.cluster().state(), pb::CLUSTER_STATE_UNINITIALIZED);

  create.set_backup_retention_days(400);
  pb::CreateClusterResponse refused;
  s = stub->CreateCluster(Ctx().get(), create, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("7 to 379"));

  pb::TagResourceRequest tag;
  tag.set_resource_id(id);
  auto* t = tag.add_tags();
  t->set_key("owner");
  t->set_value("payments");
  pb::TagResourceResponse tagged;
  s = stub->TagResource(Ctx().get(), tag, &tagged);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // kill -9: only committed state may be counted on, and all of it is.
  manager_->Kill();
  port_ = 0;
  ASSERT_NO_FATAL_FAILURE(StartManager());
  stub = Connect(client_);
  pb::DescribeClustersRequest describe;
  describe.add_cluster_ids(id);
  pb::DescribeClustersResponse described;
  s = stub->DescribeClusters(Ctx().get(), describe, &described);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(described.clusters_size(), 1);
  const pb::Cluster& c = described.clusters(0);
  EXPECT_EQ(c.region(), "local");
  EXPECT_EQ(c.mode(), pb::CLUSTER_MODE_FIPS);
  EXPECT_EQ(c.backup_retention_days(), 30u);
  ASSERT_EQ(c.tags_size(), 1);
  EXPECT_EQ(c.tags(0).key(), "owner");
  EXPECT_EQ(c.tags(0).value(), "payments");

  pb::DeleteClusterRequest del;
  del.set_cluster_id(id);
  pb::DeleteClusterResponse deleted;
  s = stub->DeleteCluster(Ctx().get(), del, &deleted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(deleted.cluster().state(), pb::CLUSTER_STATE_DELETED);
  s = stub->DeleteCluster(Ctx().get(), del, &deleted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("is DELETED"));

  del.set_cluster_id("cluster-000000000000");
  s = stub->DeleteCluster(Ctx().get(), del, &deleted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);

  // SIGTERM: a clean stop.
  EXPECT_EQ(manager_->Stop(SIGTERM, std::chrono::seconds(10)), 0)
      << ReadFile(dir_.File("manager.log"));
}

TEST_F(ManagerProcessTest, ClientOfAnotherCaIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartManager());
  auto stub = Connect(stranger_);
  pb::DescribeClustersRequest req;
  pb::DescribeClustersResponse resp;
  grpc::Status s = stub->DescribeClusters(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();

  // A client with no certificate at all is refused too.
  grpc::SslCredentialsOptions anonymous;
  anonymous.pem_root_certs = ca_pem_;
  auto anon = pb::Manager::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port_), grpc::SslCredentials(anonymous)));
  s = anon->DescribeClusters(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();

  // The manager's own client still gets in.
  s = Connect(client_)->DescribeClusters(Ctx().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

}  // namespace
}  // namespace coffer::manager
