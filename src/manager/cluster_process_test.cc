// A whole cluster with real processes: coffer-manager (gRPC over mTLS) with
// its local HSM provider starting coffer-hsm processes, the cluster log and
// the archive in a temp dir. The activation flow as a customer runs it, then
// sync, replacement after kill -9, manager restarts, restore paths, the
// archive's tamper check and the plaintext scan (issue 5).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "crypto/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "manager/local_cluster.h"
#include "testing/temp_dir.h"

namespace coffer::manager {
namespace {

namespace pb = ::coffer::manager::v1;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kManagerPath = COFFER_TEST_MANAGER_PATH;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

class ClusterProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = LocalCluster::Start(kManagerPath, dir_.path(), ManagerArgs());
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
  }

  virtual std::vector<std::string> ManagerArgs() const {
    return {"--health-interval", "1"};
  }
  std::string data() const { return cluster_->data_dir(); }
  std::string Log() { return cluster_->ManagerLog(); }
  pb::Cluster Describe(const std::string& id) {
    return cluster_->Describe(id).value_or(pb::Cluster());
  }
  std::vector<pb::Hsm> LiveHsms(const std::string& id) {
    return cluster_->ActiveHsms(id);
  }
  template <typename Req, typename Resp>
  grpc::Status Rpc(grpc::Status (pb::Manager::Stub::*m)(grpc::ClientContext*,
                                                        const Req&, Resp*),
                   const Req& req, Resp* resp) {
    return cluster_->Rpc(m, req, resp);
  }
  grpc::Status CreateHsm(const std::string& id, pb::Hsm* out = nullptr) {
    return cluster_->CreateHsm(id, out);
  }
  grpc::Status DeleteHsm(const std::string& id, const std::string& hsm) {
    return cluster_->DeleteHsm(id, hsm);
  }
  std::string NewCluster(const std::string& source_backup = "") {
    auto id = cluster_->CreateCluster(source_backup);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or("");
  }
  std::string ActiveCluster() {
    auto id = cluster_->ActiveCluster();
    EXPECT_TRUE(id.ok()) << id.status() << Log();
    return id.value_or("");
  }
  HsmSession App(const pb::Hsm& hsm) {
    auto s = cluster_->App(hsm);
    EXPECT_TRUE(s.ok()) << s.status();
    return std::move(*s);
  }
  static std::set<uint64_t> Handles(HsmSession& s) {
    absl::StatusOr<std::set<uint64_t>> h = s.Handles();
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() ? *h : std::set<uint64_t>{};
  }
  int ReadyBackups(const std::string& id) {
    pb::DescribeBackupsRequest req;
    req.add_cluster_ids(id);
    req.add_states(pb::BACKUP_STATE_READY);
    pb::DescribeBackupsResponse resp;
    EXPECT_TRUE(Rpc(&pb::Manager::Stub::DescribeBackups, req, &resp).ok());
    return resp.backups_size();
  }

  coffer::testing::TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(ClusterProcessTest, ActivationSyncAndNewHsmsServeEverything) {
  const std::string id = ActiveCluster();
  EXPECT_GE(ReadyBackups(id), 1) << "a backup on activation";
  pb::Hsm second;
  ASSERT_TRUE(CreateHsm(id, &second).ok()) << Log();
  ASSERT_EQ(LiveHsms(id).size(), 2u);
  HsmSession a = App(LiveHsms(id)[0]);
  HsmSession b = App(second);
  // Made through one HSM, usable through the other as soon as it returns.
  for (int i = 0; i < 5; ++i) {
    auto on_a = a.GenerateEcPair();
    ASSERT_TRUE(on_a.ok()) << on_a.status();
    EXPECT_TRUE(b.Sign(*on_a).ok());
    auto on_b = b.GenerateEcPair();
    ASSERT_TRUE(on_b.ok()) << on_b.status();
    EXPECT_TRUE(a.Sign(*on_b).ok());
  }
  EXPECT_EQ(Handles(a), Handles(b));
  EXPECT_EQ(Handles(a).size(), 20u);
}

TEST_F(ClusterProcessTest, KilledHsmUnderLoadIsReplacedAndNoKeyIsLost) {
  const std::string id = ActiveCluster();
  ASSERT_TRUE(CreateHsm(id).ok()) << Log();
  std::vector<pb::Hsm> hsms = LiveHsms(id);
  ASSERT_EQ(hsms.size(), 2u);
  const pb::Hsm victim = hsms[0], survivor = hsms[1];
  std::atomic<bool> stop{false};
  std::set<uint64_t> acknowledged;
  std::thread load([&] {
    HsmSession s = App(survivor);
    while (!stop) {
      auto k = s.GenerateEcPair();
      if (k.ok()) {
        acknowledged.insert(*k);
        EXPECT_TRUE(s.Sign(*k).ok());
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto pid = cluster_->HsmPid(victim.hsm_id());
  ASSERT_TRUE(pid.ok()) << pid.status();
  ASSERT_EQ(kill(*pid, SIGKILL), 0);
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(cluster_->WaitFor(id, [&](const pb::Cluster& c) {
    int active = 0;
    bool victim_gone = false;
    for (const pb::Hsm& h : c.hsms()) {
      active += h.state() == pb::HSM_STATE_ACTIVE;
      victim_gone |=
          h.hsm_id() == victim.hsm_id() && h.state() == pb::HSM_STATE_DELETED;
    }
    return c.state() == pb::CLUSTER_STATE_ACTIVE && victim_gone && active == 2;
  })) << Log();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed)
          .count();
  stop = true;
  load.join();
  std::cout << "death to replacement ACTIVE: " << seconds << " s\n";
  ASSERT_FALSE(acknowledged.empty());
  for (const pb::Hsm& h : LiveHsms(id)) {
    HsmSession s = App(h);
    std::set<uint64_t> there = Handles(s);
    for (uint64_t k : acknowledged) EXPECT_TRUE(there.count(k)) << k;
  }
}

TEST_F(ClusterProcessTest, ManagerRestartKeepsStateAndHsms) {
  const std::string id = ActiveCluster();
  HsmSession app = App(LiveHsms(id)[0]);
  auto key = app.GenerateEcPair();
  ASSERT_TRUE(key.ok());
  const pb::Cluster before = Describe(id);
  ASSERT_TRUE(cluster_->RestartManager().ok()) << Log();
  const pb::Cluster after = Describe(id);
  EXPECT_EQ(after.state(), pb::CLUSTER_STATE_ACTIVE);
  ASSERT_EQ(after.hsms_size(), before.hsms_size());
  // The HSM kept running and still syncs through the restarted log host.
  HsmSession again = App(LiveHsms(id)[0]);
  EXPECT_TRUE(again.Sign(*key).ok());
  EXPECT_TRUE(again.GenerateAes().ok());
  ASSERT_TRUE(CreateHsm(id).ok()) << Log();
  HsmSession second = App(LiveHsms(id)[1]);
  EXPECT_TRUE(second.Sign(*key).ok());
}

TEST_F(ClusterProcessTest, EmptiedClusterPicksUpAndTamperedArchiveIsRefused) {
  const std::string id = ActiveCluster();
  HsmSession app = App(LiveHsms(id)[0]);
  auto key = app.GenerateEcPair();
  ASSERT_TRUE(key.ok());
  for (const pb::Hsm& h : LiveHsms(id)) {
    ASSERT_TRUE(DeleteHsm(id, h.hsm_id()).ok()) << Log();
  }
  ASSERT_TRUE(LiveHsms(id).empty());
  // Damage every archived object of this cluster: CreateHsm must refuse.
  std::map<std::string, std::string> originals;
  for (const auto& e : fs::recursive_directory_iterator(data() + "/archive")) {
    if (e.is_regular_file() &&
        e.path().string().find(id) != std::string::npos) {
      std::string bytes = ReadFile(e.path().string());
      originals[e.path().string()] = bytes;
      bytes[bytes.size() / 2] ^= 1;
      WriteFile(e.path().string(), bytes);
    }
  }
  ASSERT_FALSE(originals.empty());
  grpc::Status refused = CreateHsm(id);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::DATA_LOSS)
      << refused.error_message();
  EXPECT_TRUE(LiveHsms(id).empty());
  EXPECT_EQ(Describe(id).state(), pb::CLUSTER_STATE_ACTIVE);
  for (const auto& [path, bytes] : originals) WriteFile(path, bytes);
  // Undamaged: the new HSM continues where the cluster left off.
  ASSERT_TRUE(CreateHsm(id).ok()) << Log();
  HsmSession again = App(LiveHsms(id)[0]);
  EXPECT_TRUE(again.Sign(*key).ok());
}

TEST_F(ClusterProcessTest, NewClusterFromABackupSignsWithTheSameKeys) {
  const std::string id = ActiveCluster();
  HsmSession app = App(LiveHsms(id)[0]);
  auto key = app.GenerateEcPair();
  ASSERT_TRUE(key.ok());
  pb::CreateBackupRequest req;
  req.set_cluster_id(id);
  pb::CreateBackupResponse backup;
  ASSERT_TRUE(Rpc(&pb::Manager::Stub::CreateBackup, req, &backup).ok());
  EXPECT_EQ(backup.backup().state(), pb::BACKUP_STATE_READY);
  const std::string copy_id = NewCluster(backup.backup().backup_id());
  EXPECT_EQ(Describe(copy_id).state(), pb::CLUSTER_STATE_INITIALIZED);
  grpc::Status created = CreateHsm(copy_id);
  ASSERT_TRUE(created.ok()) << created.error_message() << Log();
  EXPECT_EQ(Describe(copy_id).state(), pb::CLUSTER_STATE_ACTIVE);
  HsmSession there = App(LiveHsms(copy_id)[0]);
  EXPECT_TRUE(there.Sign(*key).ok());
  // The clusters have separate logs from here on.
  auto only_there = there.GenerateAes();
  ASSERT_TRUE(only_there.ok());
  ASSERT_TRUE(CreateHsm(copy_id).ok()) << Log();
  HsmSession second = App(LiveHsms(copy_id)[1]);
  EXPECT_TRUE(Handles(second).count(*only_there));
  EXPECT_FALSE(Handles(app).count(*only_there));
}

TEST_F(ClusterProcessTest, NoPlaintextKeyByteInTheManagersFiles) {
  const std::string id = ActiveCluster();
  HsmSession app = App(LiveHsms(id)[0]);
  // A key whose value the test knows: an AES key sent in RSA-OAEP-wrapped.
  hpb::Request pair;
  pair.mutable_generate_key_pair()->mutable_template_()->set_key_type(
      hpb::KEY_TYPE_RSA);
  pair.mutable_generate_key_pair()->mutable_template_()->set_bits(2048);
  pair.mutable_generate_key_pair()
      ->mutable_template_()
      ->mutable_unwrap()
      ->set_value(true);
  pair.mutable_generate_key_pair()
      ->mutable_template_()
      ->mutable_wrap()
      ->set_value(true);
  auto made = app.Call(pair);
  ASSERT_TRUE(made.ok()) << made.status();
  hpb::Request get;
  get.mutable_get_attributes()->set_handle(
      made->generate_key_pair().public_handle());
  auto pub = app.Call(get);
  ASSERT_TRUE(pub.ok());
  auto public_key = crypto::PublicKey::FromDer(
      AsBytes(pub->get_attributes().key().public_der()));
  ASSERT_TRUE(public_key.ok()) << public_key.status();
  const Bytes secret = crypto::RandomBytes(32).value();
  auto wrapped = public_key->EncryptOaep(crypto::HashAlg::kSha256, secret);
  ASSERT_TRUE(wrapped.ok());
  hpb::Request unwrap;
  unwrap.mutable_unwrap_key()->set_unwrapping_handle(
      made->generate_key_pair().private_handle());
  unwrap.mutable_unwrap_key()->mutable_mechanism()->set_mechanism(
      hpb::MECHANISM_RSA_PKCS_OAEP);
  unwrap.mutable_unwrap_key()->mutable_mechanism()->set_hash(
      hpb::HASH_ALG_SHA256);
  unwrap.mutable_unwrap_key()->set_wrapped(wrapped->data(), wrapped->size());
  unwrap.mutable_unwrap_key()->mutable_template_()->set_key_type(
      hpb::KEY_TYPE_AES);
  unwrap.mutable_unwrap_key()->mutable_template_()->set_bits(256);
  auto unwrapped = app.Call(unwrap);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status();
  ASSERT_TRUE(CreateHsm(id).ok()) << Log();  // backup, restore, log
  pb::CreateBackupRequest req;
  req.set_cluster_id(id);
  pb::CreateBackupResponse backup;
  ASSERT_TRUE(Rpc(&pb::Manager::Stub::CreateBackup, req, &backup).ok());
  // The manager's own files: state, log, archive, keyring (not the HSMs'
  // data directories, which hold keys sealed under each device's key).
  const std::string needle(secret.begin(), secret.end());
  int scanned = 0;
  for (const auto& e : fs::recursive_directory_iterator(data())) {
    if (!e.is_regular_file() ||
        e.path().string().find("/hsms/hsms/") != std::string::npos) {
      continue;
    }
    ++scanned;
    EXPECT_EQ(ReadFile(e.path().string()).find(needle), std::string::npos)
        << e.path();
  }
  EXPECT_GT(scanned, 5);
}

TEST_F(ClusterProcessTest, IllegalCallsAreRefusedClearly) {
  EXPECT_EQ(CreateHsm("cluster-000000000000").error_code(),
            grpc::StatusCode::NOT_FOUND);
  const std::string id = NewCluster();
  pb::CreateBackupRequest backup;
  backup.set_cluster_id(id);
  pb::CreateBackupResponse backup_resp;
  grpc::Status s = Rpc(&pb::Manager::Stub::CreateBackup, backup, &backup_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("UNINITIALIZED"));
  ASSERT_TRUE(CreateHsm(id).ok()) << Log();
  s = CreateHsm(id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("second HSM"));
  // A certificate for another key is refused, and the cluster stays
  // UNINITIALIZED with the reason.
  auto other = provision::IssueLeaf(cluster_->ca(), "not the cluster",
                                    crypto::CertificateUsage::kTlsServer);
  pb::InitializeClusterRequest init;
  init.set_cluster_id(id);
  init.set_signed_cert_pem(other->cert.ToPem());
  init.set_trust_anchor_pem(cluster_->ca_pem());
  pb::InitializeClusterResponse init_resp;
  s = Rpc(&pb::Manager::Stub::InitializeCluster, init, &init_resp);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(Describe(id).state(), pb::CLUSTER_STATE_UNINITIALIZED);
  EXPECT_THAT(Describe(id).state_message(), HasSubstr("InitializeCluster"));
  pb::DeleteClusterRequest del;
  del.set_cluster_id(id);
  pb::DeleteClusterResponse del_resp;
  s = Rpc(&pb::Manager::Stub::DeleteCluster, del, &del_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("HSM"));
  // Deleting its only HSM lets initialization start over.
  ASSERT_TRUE(DeleteHsm(id, Describe(id).hsms(0).hsm_id()).ok());
  EXPECT_EQ(Describe(id).state(), pb::CLUSTER_STATE_UNINITIALIZED);
  EXPECT_TRUE(DeleteHsm(id, "hsm-000000000000").error_code() ==
              grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Rpc(&pb::Manager::Stub::DeleteCluster, del, &del_resp).ok());
}

TEST_F(ClusterProcessTest, BackupsCopyToAnotherRegionAndNotTheSame) {
  const std::string id = ActiveCluster();
  pb::CreateBackupRequest req;
  req.set_cluster_id(id);
  pb::CreateBackupResponse backup;
  ASSERT_TRUE(Rpc(&pb::Manager::Stub::CreateBackup, req, &backup).ok());
  pb::CopyBackupToRegionRequest copy;
  copy.set_backup_id(backup.backup().backup_id());
  copy.set_destination_region("eu-west");
  pb::CopyBackupToRegionResponse copied;
  grpc::Status s = Rpc(&pb::Manager::Stub::CopyBackupToRegion, copy, &copied);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(copied.destination_backup().state(), pb::BACKUP_STATE_READY);
  EXPECT_EQ(copied.destination_backup().region(), "eu-west");
  copy.set_destination_region("local");
  s = Rpc(&pb::Manager::Stub::CopyBackupToRegion, copy, &copied);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ClusterProcessTest, TamperedHsmIsReplacedFromTheOthers) {
  const std::string id = ActiveCluster();
  ASSERT_TRUE(CreateHsm(id).ok()) << Log();
  HsmSession app = App(LiveHsms(id)[1]);
  auto key = app.GenerateEcPair();
  ASSERT_TRUE(key.ok());
  const pb::Hsm victim = LiveHsms(id)[0];
  auto pid = cluster_->HsmPid(victim.hsm_id());
  ASSERT_TRUE(pid.ok());
  ASSERT_EQ(kill(*pid, SIGUSR1), 0);  // the tamper signal: secrets erased
  ASSERT_TRUE(cluster_->WaitFor(id, [&](const pb::Cluster& c) {
    int active = 0;
    bool replaced = false;
    for (const pb::Hsm& h : c.hsms()) {
      active += h.state() == pb::HSM_STATE_ACTIVE;
      replaced |= h.hsm_id() == victim.hsm_id() &&
                  h.state() == pb::HSM_STATE_DELETED &&
                  h.state_message().find("TAMPERED") != std::string::npos;
    }
    return replaced && active == 2 && c.state() == pb::CLUSTER_STATE_ACTIVE;
  })) << Log();
  for (const pb::Hsm& h : LiveHsms(id)) {
    HsmSession s = App(h);
    EXPECT_TRUE(s.Sign(*key).ok()) << h.hsm_id();
  }
}

// The schedule: a manager whose backup interval is 2 s.
class ScheduledBackupTest : public ClusterProcessTest {
 protected:
  std::vector<std::string> ManagerArgs() const override {
    return {"--health-interval", "1", "--backup-interval", "2"};
  }
};

TEST_F(ScheduledBackupTest, BackupsComeOnTheirOwn) {
  const std::string id = ActiveCluster();
  const int first = ReadyBackups(id);
  EXPECT_GE(first, 1);
  bool more = false;
  for (int i = 0; i < 100 && !more; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    more = ReadyBackups(id) >= first + 2;
  }
  EXPECT_TRUE(more) << Log();
}

}  // namespace
}  // namespace coffer::manager
