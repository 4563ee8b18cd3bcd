// Cluster sync between real HSM cores through the real SQLite cluster log:
// a second HSM restored from a backup of the first, both attached to one
// log (hsm/cluster_sync.h, node/sync.h).
#include "node/sync.h"

#include "backup/backup_test_fixture.h"
#include "hsm/key_manager.h"
#include "hsm/user_manager.h"
#include "log/cluster_log.h"

namespace coffer::node {
namespace {

using ::coffer::backup::BackupTest;
using ::coffer::backup::Node;
using ::coffer::backup::Secret;
using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

constexpr char kLogCluster[] = "cluster-log-1";

// The log seen through a link that can be cut, and can corrupt entries.
class FlakyLog final : public hsm::ClusterLogLink {
 public:
  explicit FlakyLog(std::shared_ptr<hsm::ClusterLogLink> inner)
      : inner_(std::move(inner)) {}
  absl::StatusOr<uint64_t> Append(uint64_t expected_last,
                                  ByteView sealed) override {
    if (cut) return absl::UnavailableError("log unreachable (test)");
    return inner_->Append(expected_last, sealed);
  }
  absl::StatusOr<std::vector<Entry>> Read(uint64_t after) override {
    if (cut) return absl::UnavailableError("log unreachable (test)");
    absl::StatusOr<std::vector<Entry>> entries = inner_->Read(after);
    if (entries.ok() && corrupt && !entries->empty()) {
      entries->front().sealed.back() ^= 1;
    }
    return entries;
  }
  bool cut = false, corrupt = false;

 private:
  std::shared_ptr<hsm::ClusterLogLink> inner_;
};

class SyncTest : public BackupTest {
 protected:
  void SetUp() override {
    log_dir_ = std::make_unique<coffer::testing::TempDir>();
    log_ = std::shared_ptr<log::ClusterLog>(
        log::OpenSqliteClusterLog(log_dir_->File("log.db")).value());
    a_ = Active(*acme_, *service_a_, hsm::Mode::kNonFips, "A-1");
    a_.hsm->AttachClusterLog(MakeLogLink(log_, kLogCluster));
    admin_a_ = Login(*a_.hsm, "admin", "admin-password");
    // The admin's activation happened before the log was attached; a user
    // made now goes through it.
    ASSERT_THAT(
        a_.hsm->users().CreateUser(admin_a_, "alice", hsm::Role::kCryptoUser,
                                   Secret("alice-password")),
        IsOk());
    // B: restored from A's backup, then attached and caught up.
    b_ = Commissioned(*acme_, *service_a_, hsm::Mode::kNonFips, "B-1");
    Bytes backup = MakeBackup(*a_.hsm, &admin_a_).value();
    ASSERT_THAT(Restore(*b_.hsm, backup, nullptr), IsOk());
    b_.hsm->AttachClusterLog(MakeLogLink(log_, kLogCluster));
    ASSERT_THAT(b_.hsm->CatchUp(), IsOk());
  }

  std::unique_ptr<coffer::testing::TempDir> log_dir_;
  std::shared_ptr<log::ClusterLog> log_;
  Node a_, b_;
  hsm::Caller admin_a_;
};

hsm::KeyTemplate Aes() {
  hsm::KeyTemplate t;
  t.key_type = hsm::KeyType::kAes;
  t.bits = 256;
  t.label = "synced";
  return t;
}

Bytes GcmEncrypt(hsm::Hsm& h, const hsm::Caller& caller, hsm::ObjectHandle k) {
  hsm::MechanismParams gcm;
  gcm.mechanism = hsm::Mechanism::kAesGcm;
  auto out = h.keys().Encrypt(caller, k, gcm, AsBytes("hello"));
  return out.ok() ? out->ciphertext : Bytes{};
}

TEST_F(SyncTest, KeyAndUserMadeOnOneHsmWorkOnTheOther) {
  hsm::Caller alice_a = Login(*a_.hsm, "alice", "alice-password");
  auto key = a_.hsm->keys().GenerateSecretKey(alice_a, Aes());
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(a_.hsm->Info().log_position,
            log_->LastPosition(kLogCluster).value());

  // B has not applied it yet: a catch-up brings it (the dispatcher does this
  // on a miss; the follower thread does it continuously).
  hsm::Caller alice_b = Login(*b_.hsm, "alice", "alice-password");
  ASSERT_THAT(b_.hsm->CatchUp(), IsOk());
  EXPECT_FALSE(GcmEncrypt(*b_.hsm, alice_b, *key).empty());

  // A user created through B logs in on A (Login catches up itself).
  hsm::Caller admin_b = Login(*b_.hsm, "admin", "admin-password");
  ASSERT_THAT(b_.hsm->users().CreateUser(admin_b, "bob", hsm::Role::kCryptoUser,
                                         Secret("bob-password-1")),
              IsOk());
  EXPECT_THAT(a_.hsm->Login("bob", Secret("bob-password-1")), IsOk());
  EXPECT_EQ(a_.hsm->Info().users, b_.hsm->Info().users);

  // Destroyed on B: gone on A after catching up.
  ASSERT_THAT(b_.hsm->CatchUp(), IsOk());
  ASSERT_THAT(b_.hsm->keys().Destroy(alice_b, *key), IsOk());
  ASSERT_THAT(a_.hsm->CatchUp(), IsOk());
  EXPECT_THAT(a_.hsm->keys().GetAttributes(alice_a, *key),
              StatusIs(Code::kNotFound));
}

TEST_F(SyncTest, AStaleHsmLosesTheRaceCatchesUpAndSucceedsOnRetry) {
  hsm::Caller alice_a = Login(*a_.hsm, "alice", "alice-password");
  hsm::Caller alice_b = Login(*b_.hsm, "alice", "alice-password");
  ASSERT_THAT(a_.hsm->keys().GenerateSecretKey(alice_a, Aes()), IsOk());
  const uint64_t before = log_->LastPosition(kLogCluster).value();
  // B is one entry behind: its append is refused, it catches up.
  EXPECT_THAT(b_.hsm->keys().GenerateSecretKey(alice_b, Aes()),
              StatusIs(Code::kAborted, HasSubstr("retry")));
  EXPECT_EQ(b_.hsm->Info().log_position, before);
  EXPECT_EQ(log_->LastPosition(kLogCluster).value(), before);
  ASSERT_THAT(b_.hsm->keys().GenerateSecretKey(alice_b, Aes()), IsOk());
  ASSERT_THAT(a_.hsm->CatchUp(), IsOk());
  EXPECT_EQ(a_.hsm->Info().keys, b_.hsm->Info().keys);
  EXPECT_EQ(a_.hsm->Info().keys, 2u);
}

TEST_F(SyncTest, UnreachableLogRefusesTheChangeAndChangesNothing) {
  auto flaky = std::make_shared<FlakyLog>(MakeLogLink(log_, kLogCluster));
  a_.hsm->AttachClusterLog(flaky);
  hsm::Caller alice_a = Login(*a_.hsm, "alice", "alice-password");
  flaky->cut = true;
  EXPECT_THAT(a_.hsm->keys().GenerateSecretKey(alice_a, Aes()),
              StatusIs(Code::kUnavailable, HasSubstr("cluster log")));
  EXPECT_EQ(a_.hsm->Info().keys, 0u);
  flaky->cut = false;
  EXPECT_THAT(a_.hsm->keys().GenerateSecretKey(alice_a, Aes()), IsOk());
}

TEST_F(SyncTest, ATamperedEntryStopsSyncAndChanges) {
  hsm::Caller alice_a = Login(*a_.hsm, "alice", "alice-password");
  ASSERT_THAT(a_.hsm->keys().GenerateSecretKey(alice_a, Aes()), IsOk());
  auto flaky = std::make_shared<FlakyLog>(MakeLogLink(log_, kLogCluster));
  flaky->corrupt = true;
  b_.hsm->AttachClusterLog(flaky);
  EXPECT_THAT(b_.hsm->CatchUp(),
              StatusIs(Code::kDataLoss, HasSubstr("does not authenticate")));
  EXPECT_THAT(b_.hsm->Info().sync_error, HasSubstr("does not authenticate"));
  EXPECT_EQ(b_.hsm->Info().keys, 0u);
  hsm::Caller alice_b = Login(*b_.hsm, "alice", "alice-password");
  EXPECT_THAT(b_.hsm->keys().GenerateSecretKey(alice_b, Aes()),
              StatusIs(Code::kFailedPrecondition, HasSubstr("sync stopped")));
  // Re-attached to the honest log: it catches up.
  b_.hsm->AttachClusterLog(MakeLogLink(log_, kLogCluster));
  EXPECT_THAT(b_.hsm->CatchUp(), IsOk());
  EXPECT_EQ(b_.hsm->Info().keys, 1u);
}

TEST_F(SyncTest, AnEntryMovedToAnotherPositionIsRefused) {
  hsm::Caller alice_a = Login(*a_.hsm, "alice", "alice-password");
  ASSERT_THAT(a_.hsm->keys().GenerateSecretKey(alice_a, Aes()), IsOk());
  const uint64_t last = log_->LastPosition(kLogCluster).value();
  auto entries = log_->Read(kLogCluster, last - 1, 1, 1 << 20).value();
  // The log's host replays A's last entry at the next position.
  ASSERT_THAT(log_->Append(kLogCluster, last, entries[0].record), IsOk());
  ASSERT_THAT(a_.hsm->CatchUp(), StatusIs(Code::kDataLoss));
  EXPECT_THAT(a_.hsm->Info().sync_error, HasSubstr("forged, moved"));
}

TEST_F(SyncTest, DeletedUserLosesItsSessionsOnEveryHsm) {
  ASSERT_THAT(
      a_.hsm->users().CreateUser(admin_a_, "carol", hsm::Role::kCryptoUser,
                                 Secret("carol-password")),
      IsOk());
  ASSERT_THAT(b_.hsm->CatchUp(), IsOk());
  auto token = b_.hsm->Login("carol", Secret("carol-password"));
  ASSERT_THAT(token, IsOk());
  ASSERT_THAT(a_.hsm->users().DeleteUser(admin_a_, "carol"), IsOk());
  ASSERT_THAT(b_.hsm->CatchUp(), IsOk());
  EXPECT_THAT(b_.hsm->Authenticate(*token), StatusIs(Code::kUnauthenticated));
}

TEST_F(SyncTest, FollowerAppliesCommittedEntriesByItself) {
  SyncFollower follower(*b_.hsm, log_, kLogCluster);
  hsm::Caller alice_a = Login(*a_.hsm, "alice", "alice-password");
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(a_.hsm->keys().GenerateSecretKey(alice_a, Aes()), IsOk());
  }
  const uint64_t last = log_->LastPosition(kLogCluster).value();
  for (int i = 0; i < 500 && b_.hsm->Info().log_position < last; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(b_.hsm->Info().log_position, last);
  EXPECT_EQ(b_.hsm->Info().keys, 20u);
}

TEST_F(SyncTest, PositionSurvivesARestart) {
  hsm::Caller alice_a = Login(*a_.hsm, "alice", "alice-password");
  ASSERT_THAT(a_.hsm->keys().GenerateSecretKey(alice_a, Aes()), IsOk());
  ASSERT_THAT(b_.hsm->CatchUp(), IsOk());
  const uint64_t at = b_.hsm->Info().log_position;
  Reopen(b_);
  EXPECT_EQ(b_.hsm->Info().log_position, at);
  EXPECT_EQ(b_.hsm->Info().keys, 1u);
}

}  // namespace
}  // namespace coffer::node
