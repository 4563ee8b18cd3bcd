// The backup catalog transitions of control_plane_backups.cc, over a real
// SQLite store in a temp dir. Cluster states the workflows reach (ACTIVE,
// UPDATE_IN_PROGRESS...) are seeded through the StateStore.
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "manager/control_plane_test_fixture.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::manager {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Code = absl::StatusCode;

class BackupTransitionsTest : public ControlPlaneFixture {
 protected:
  // A cluster in `region` moved to `state` (ACTIVE by default).
  std::string NewCluster(ClusterState state = ClusterState::kActive,
                         const std::string& region = "eu-west-1",
                         uint32_t retention = 0) {
    CreateClusterParams p{.region = region,
                          .mode = ClusterMode::kNonFips,
                          .backup_retention_days = retention};
    absl::StatusOr<Cluster> c = cp_->CreateCluster(p);
    EXPECT_THAT(c, IsOk());
    if (!c.ok()) return "";
    Seed([&](StateStore& s) -> absl::Status {
      Cluster changed = *c;
      changed.state = state;
      return s.PutCluster(changed);
    });
    return c->cluster_id;
  }
  void SetBackup(const std::string& id, const std::function<void(Backup&)>& f) {
    Seed([&](StateStore& s) -> absl::Status {
      absl::StatusOr<Backup> b = s.GetBackup(id);
      if (!b.ok()) return b.status();
      f(*b);
      return s.PutBackup(*b);
    });
  }
  // A READY backup of `cluster_id` made at now_.
  std::string ReadyBackup(const std::string& cluster_id) {
    absl::StatusOr<Backup> b = cp_->BeginBackup(cluster_id, {});
    EXPECT_THAT(b, IsOk());
    if (!b.ok()) return "";
    EXPECT_THAT(cp_->FinishBackup(b->backup_id, true), IsOk());
    return b->backup_id;
  }
  std::vector<Backup> AllBackups() {
    auto page = cp_->DescribeBackups({}, {});
    EXPECT_THAT(page, IsOk());
    return page.ok() ? page->items : std::vector<Backup>{};
  }
  Backup GetBackup(const std::string& id) {
    auto page = cp_->DescribeBackups({.backup_ids = {id}}, {});
    EXPECT_THAT(page, IsOk());
    return page.ok() && page->items.size() == 1 ? page->items[0] : Backup{};
  }
};

TEST_F(BackupTransitionsTest, BeginBackupRecordsCreateInProgress) {
  for (ClusterState state : {ClusterState::kActive, ClusterState::kDegraded,
                             ClusterState::kUpdateInProgress}) {
    SCOPED_TRACE(Name(state));
    const std::string cluster = NewCluster(state);
    now_ += 5;
    auto b = cp_->BeginBackup(cluster, {{"purpose", "nightly"}});
    ASSERT_THAT(b, IsOk());
    EXPECT_EQ(b->cluster_id, cluster);
    EXPECT_EQ(b->state, BackupState::kCreateInProgress);
    EXPECT_EQ(b->region, "eu-west-1");
    EXPECT_EQ(b->mode, ClusterMode::kNonFips);
    EXPECT_EQ(b->create_time, now_);
    EXPECT_EQ(b->delete_time, 0);
    EXPECT_FALSE(b->never_expires);
    EXPECT_FALSE(b->is_copy());
    EXPECT_THAT(b->tags, ElementsAre(Tag{"purpose", "nightly"}));
    EXPECT_EQ(GetBackup(b->backup_id).state, BackupState::kCreateInProgress);
  }
}

TEST_F(BackupTransitionsTest, BeginBackupRefusesOtherClusterStates) {
  EXPECT_THAT(cp_->BeginBackup("cluster-404", {}),
              StatusIs(Code::kNotFound, HasSubstr("cluster-404")));
  const std::string fresh = NewCluster(ClusterState::kUninitialized);
  EXPECT_THAT(
      cp_->BeginBackup(fresh, {}),
      StatusIs(Code::kFailedPrecondition,
               absl::StrCat("CreateBackup is not allowed: cluster ", fresh,
                            " is UNINITIALIZED; it needs ACTIVE, DEGRADED or "
                            "UPDATE_IN_PROGRESS")));
  for (ClusterState state :
       {ClusterState::kCreateInProgress, ClusterState::kInitializeInProgress,
        ClusterState::kInitialized, ClusterState::kDeleteInProgress,
        ClusterState::kDeleted}) {
    SCOPED_TRACE(Name(state));
    const std::string cluster = NewCluster(state);
    EXPECT_THAT(cp_->BeginBackup(cluster, {}),
                StatusIs(Code::kFailedPrecondition,
                         HasSubstr(absl::StrCat("is ", Name(state)))));
  }
  EXPECT_THAT(AllBackups(), IsEmpty());
}

TEST_F(BackupTransitionsTest, BeginBackupValidatesTagsFirst) {
  const std::string cluster = NewCluster();
  EXPECT_THAT(cp_->BeginBackup(cluster, {{"", "v"}}),
              StatusIs(Code::kInvalidArgument, HasSubstr("tag key")));
  EXPECT_THAT(cp_->BeginBackup(cluster, {{"k", "1"}, {"k", "2"}}),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(AllBackups(), IsEmpty());
}

TEST_F(BackupTransitionsTest, FinishBackupMakesItReady) {
  const std::string cluster = NewCluster();
  auto b = cp_->BeginBackup(cluster, {});
  ASSERT_THAT(b, IsOk());
  now_ += 60;
  auto ready = cp_->FinishBackup(b->backup_id, true);
  ASSERT_THAT(ready, IsOk());
  EXPECT_EQ(ready->state, BackupState::kReady);
  EXPECT_EQ(ready->create_time, kStart);  // when it began
  EXPECT_EQ(ready->delete_time, 0);
  EXPECT_THAT(cp_->FinishBackup(b->backup_id, true),
              StatusIs(Code::kFailedPrecondition,
                       absl::StrCat("FinishBackup is not allowed: backup ",
                                    b->backup_id,
                                    " is READY; it needs CREATE_IN_PROGRESS")));
  EXPECT_EQ(GetBackup(b->backup_id).state, BackupState::kReady);
}

TEST_F(BackupTransitionsTest, FailedBackupIsDeletedAtOnce) {
  const std::string cluster = NewCluster();
  auto b = cp_->BeginBackup(cluster, {});
  ASSERT_THAT(b, IsOk());
  now_ += 60;
  auto failed = cp_->FinishBackup(b->backup_id, false);
  ASSERT_THAT(failed, IsOk());
  EXPECT_EQ(failed->state, BackupState::kDeleted);
  EXPECT_EQ(failed->delete_time, now_);
  EXPECT_THAT(cp_->FinishBackup(b->backup_id, true),
              StatusIs(Code::kFailedPrecondition, HasSubstr("is DELETED")));
  EXPECT_THAT(cp_->FinishBackup("backup-404", true), StatusIs(Code::kNotFound));
}

TEST_F(BackupTransitionsTest, FinishBackupRefusesPendingDeletion) {
  const std::string id = ReadyBackup(NewCluster());
  ASSERT_THAT(cp_->DeleteBackup(id), IsOk());
  EXPECT_THAT(cp_->FinishBackup(id, false),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("is PENDING_DELETION; it needs "
                                 "CREATE_IN_PROGRESS")));
  EXPECT_EQ(GetBackup(id).state, BackupState::kPendingDeletion);
}

TEST_F(BackupTransitionsTest, BeginCopyRecordsTheCopyInTheDestination) {
  const std::string cluster = NewCluster();
  const std::string source = ReadyBackup(cluster);
  SetBackup(source, [](Backup& b) { b.never_expires = true; });
  now_ += kDay;
  auto copy = cp_->BeginCopy(source, "us-east-2", {{"dr", "yes"}});
  ASSERT_THAT(copy, IsOk());
  EXPECT_NE(copy->backup_id, source);
  EXPECT_EQ(copy->state, BackupState::kCreateInProgress);
  EXPECT_EQ(copy->region, "us-east-2");
  EXPECT_EQ(copy->cluster_id, cluster);
  EXPECT_EQ(copy->mode, ClusterMode::kNonFips);
  EXPECT_EQ(copy->create_time, kStart);  // the source's, as in CloudHSM
  EXPECT_EQ(copy->copy_time, now_);
  EXPECT_EQ(copy->source_backup_id, source);
  EXPECT_EQ(copy->source_region, "eu-west-1");
  EXPECT_EQ(copy->source_cluster_id, cluster);
  EXPECT_FALSE(copy->never_expires);
  EXPECT_TRUE(copy->is_copy());
  EXPECT_THAT(copy->tags, ElementsAre(Tag{"dr", "yes"}));
  auto ready = cp_->FinishBackup(copy->backup_id, true);
  ASSERT_THAT(ready, IsOk());
  EXPECT_EQ(ready->state, BackupState::kReady);
  EXPECT_EQ(GetBackup(source).state, BackupState::kReady);  // untouched
}

TEST_F(BackupTransitionsTest, BeginCopyRefusals) {
  const std::string cluster = NewCluster();
  const std::string ready = ReadyBackup(cluster);
  auto running = cp_->BeginBackup(cluster, {});
  ASSERT_THAT(running, IsOk());
  EXPECT_THAT(cp_->BeginCopy("backup-404", "us-east-2", {}),
              StatusIs(Code::kNotFound));
  EXPECT_THAT(
      cp_->BeginCopy(running->backup_id, "us-east-2", {}),
      StatusIs(Code::kFailedPrecondition,
               absl::StrCat("CopyBackupToRegion is not allowed: backup ",
                            running->backup_id,
                            " is CREATE_IN_PROGRESS; it needs READY")));
  EXPECT_THAT(cp_->BeginCopy(ready, "US_EAST", {}),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("destination_region \"US_EAST\"")));
  EXPECT_THAT(cp_->BeginCopy(ready, "", {}), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(cp_->BeginCopy(ready, "eu-west-1", {}),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("a copy must go to another region")));
  EXPECT_THAT(cp_->BeginCopy(ready, "us-east-2", {{"", "x"}}),
              StatusIs(Code::kInvalidArgument));
  ASSERT_THAT(cp_->DeleteBackup(ready), IsOk());
  EXPECT_THAT(cp_->BeginCopy(ready, "us-east-2", {}),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("is PENDING_DELETION; it needs READY")));
  EXPECT_EQ(AllBackups().size(), 2u);  // nothing was written
}

TEST_F(BackupTransitionsTest, RetentionNeverExpiresCopiesButPurgesThem) {
  const std::string cluster =
      NewCluster(ClusterState::kActive, "eu-west-1", /*retention=*/7);
  const std::string old_original = ReadyBackup(cluster);
  auto copy = cp_->BeginCopy(old_original, "us-east-2", {});
  ASSERT_THAT(copy, IsOk());
  ASSERT_THAT(cp_->FinishBackup(copy->backup_id, true), IsOk());
  now_ += kDay;
  const std::string newest = ReadyBackup(cluster);
  now_ += 30 * kDay;
  auto report = cp_->RunRetention(now_);
  ASSERT_THAT(report, IsOk());
  // The copy (of the same age as its source) stays READY.
  EXPECT_THAT(report->expired, ElementsAre(old_original));
  EXPECT_EQ(GetBackup(copy->backup_id).state, BackupState::kReady);
  EXPECT_EQ(GetBackup(newest).state, BackupState::kReady);
  // Deleted on request, a copy is purged like any backup, and the report
  // names it so the daemon deletes its archived object.
  ASSERT_THAT(cp_->DeleteBackup(copy->backup_id), IsOk());
  now_ += 7 * kDay;
  report = cp_->RunRetention(now_);
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->purged, ElementsAre(old_original, copy->backup_id));
  EXPECT_EQ(GetBackup(copy->backup_id).state, BackupState::kDeleted);
}

TEST_F(BackupTransitionsTest, BackupInProgressIsLeftToItsWorkflow) {
  const std::string cluster = NewCluster();
  auto b = cp_->BeginBackup(cluster, {});
  ASSERT_THAT(b, IsOk());
  now_ += 400 * kDay;
  auto report = cp_->RunRetention(now_);
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->expired, IsEmpty());
  EXPECT_THAT(report->purged, IsEmpty());
  EXPECT_EQ(GetBackup(b->backup_id).state, BackupState::kCreateInProgress);
  // Tags and never-expires work while it runs.
  EXPECT_THAT(cp_->ModifyBackupAttributes(b->backup_id, true), IsOk());
  EXPECT_THAT(cp_->TagResource(b->backup_id, {{"k", "v"}}), IsOk());
}

}  // namespace
}  // namespace coffer::manager
