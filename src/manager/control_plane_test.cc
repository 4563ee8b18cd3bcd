// The control plane in-process, over a real SQLite store in a temp dir.
// States only the HSM provider can reach (ACTIVE, *_IN_PROGRESS, HSM rows,
// backups) are seeded through the StateStore before the control plane
// opens it.
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

std::vector<std::string> Ids(const std::vector<Cluster>& v) {
  std::vector<std::string> out;
  for (const Cluster& c : v) out.push_back(c.cluster_id);
  return out;
}
std::vector<std::string> Ids(const std::vector<Backup>& v) {
  std::vector<std::string> out;
  for (const Backup& b : v) out.push_back(b.backup_id);
  return out;
}

class ControlPlaneTest : public ControlPlaneFixture {
 protected:
  void SetClusterState(const std::string& id, ClusterState state) {
    Seed([&](StateStore& s) -> absl::Status {
      absl::StatusOr<Cluster> c = s.GetCluster(id);
      if (!c.ok()) return c.status();
      c->state = state;
      return s.PutCluster(*c);
    });
  }
  std::string NewCluster(const std::string& region = "local",
                         uint32_t retention = 0) {
    CreateClusterParams p{.region = region,
                          .mode = ClusterMode::kFips,
                          .backup_retention_days = retention};
    absl::StatusOr<Cluster> c = cp_->CreateCluster(p);
    EXPECT_THAT(c, IsOk());
    ++now_;
    return c.ok() ? c->cluster_id : "";
  }
  // A backup of `cluster_id` taken at `time` (as the backup job will).
  std::string SeedBackup(const std::string& cluster_id, int64_t time,
                         BackupState state = BackupState::kReady) {
    const std::string id = absl::StrCat("backup-", ++ids_);
    Seed([&](StateStore& s) -> absl::Status {
      absl::StatusOr<Cluster> c = s.GetCluster(cluster_id);
      if (!c.ok()) return c.status();
      Backup b{.backup_id = id,
               .cluster_id = cluster_id,
               .region = c->region,
               .state = state,
               .mode = c->mode,
               .create_time = time};
      return s.PutBackup(b);
    });
    return id;
  }
  Backup GetBackup(const std::string& id) {
    auto page = cp_->DescribeBackups({.backup_ids = {id}}, {});
    EXPECT_THAT(page, IsOk());
    EXPECT_EQ(page->items.size(), 1u);
    return page->items.empty() ? Backup{} : page->items[0];
  }
  Cluster GetCluster(const std::string& id) {
    auto page = cp_->DescribeClusters({.cluster_ids = {id}}, {});
    EXPECT_THAT(page, IsOk());
    EXPECT_EQ(page->items.size(), 1u);
    return page->items.empty() ? Cluster{} : page->items[0];
  }
};

TEST_F(ControlPlaneTest, CreateClusterRecordsItUninitialized) {
  CreateClusterParams p{.region = "eu-west-1",
                        .mode = ClusterMode::kNonFips,
                        .tags = {{"team", "payments"}}};
  auto c = cp_->CreateCluster(p);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->cluster_id, "cluster-1");
  EXPECT_EQ(c->region, "eu-west-1");
  EXPECT_EQ(c->mode, ClusterMode::kNonFips);
  EXPECT_EQ(c->state, ClusterState::kUninitialized);
  EXPECT_EQ(c->backup_retention_days, 90u);
  EXPECT_EQ(c->create_time, kStart);
  EXPECT_THAT(c->hsms, IsEmpty());
  EXPECT_THAT(c->tags, ElementsAre(Tag{"team", "payments"}));
}

TEST_F(ControlPlaneTest, CreateClusterRejectsBadInput) {
  auto create = [&](CreateClusterParams p) { return cp_->CreateCluster(p); };
  const CreateClusterParams ok{.region = "r1", .mode = ClusterMode::kFips};
  for (const std::string& region : std::vector<std::string>{
           "", "EU", "a_b", "eu west", std::string(33, 'a')}) {
    CreateClusterParams p = ok;
    p.region = region;
    EXPECT_THAT(create(p),
                StatusIs(Code::kInvalidArgument, HasSubstr("region")))
        << region;
  }
  for (uint32_t days : {1u, 6u, 380u, 1000u}) {
    CreateClusterParams p = ok;
    p.backup_retention_days = days;
    EXPECT_THAT(create(p), StatusIs(Code::kInvalidArgument,
                                    HasSubstr("must be 7 to 379")));
  }
  for (uint32_t days : {7u, 379u}) {
    CreateClusterParams p = ok;
    p.backup_retention_days = days;
    auto c = create(p);
    ASSERT_THAT(c, IsOk());
    EXPECT_EQ(c->backup_retention_days, days);
  }
  CreateClusterParams no_mode = ok;
  no_mode.mode.reset();
  EXPECT_THAT(create(no_mode),
              StatusIs(Code::kInvalidArgument, HasSubstr("mode")));
  CreateClusterParams bad_tags = ok;
  bad_tags.tags = {{"", "x"}};
  EXPECT_THAT(create(bad_tags), StatusIs(Code::kInvalidArgument));
  // Nothing was written by the refused calls.
  EXPECT_EQ(cp_->DescribeClusters({}, {})->items.size(), 2u);
}

TEST_F(ControlPlaneTest, CreateClusterFromBackup) {
  const std::string source = NewCluster("r1");
  const std::string ready = SeedBackup(source, now_);
  const std::string pending =
      SeedBackup(source, now_, BackupState::kPendingDeletion);

  auto c = cp_->CreateCluster({.region = "r1", .source_backup_id = ready});
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->state, ClusterState::kInitialized);
  EXPECT_EQ(c->mode, ClusterMode::kFips);  // the backup's
  EXPECT_EQ(c->source_backup_id, ready);

  EXPECT_THAT(
      cp_->CreateCluster({.region = "r1", .source_backup_id = "backup-x"}),
      StatusIs(Code::kNotFound, HasSubstr("backup-x")));
  EXPECT_THAT(
      cp_->CreateCluster({.region = "r1", .source_backup_id = pending}),
      StatusIs(Code::kFailedPrecondition, HasSubstr("PENDING_DELETION")));
  EXPECT_THAT(cp_->CreateCluster({.region = "r2", .source_backup_id = ready}),
              StatusIs(Code::kInvalidArgument, HasSubstr("region r1")));
  EXPECT_THAT(cp_->CreateCluster({.region = "r1",
                                  .mode = ClusterMode::kNonFips,
                                  .source_backup_id = ready}),
              StatusIs(Code::kInvalidArgument, HasSubstr("FIPS mode")));
}

TEST_F(ControlPlaneTest, DescribeClustersFiltersAndPaginates) {
  std::vector<std::string> all;
  for (int i = 0; i < 5; ++i) all.push_back(NewCluster());
  SetClusterState(all[1], ClusterState::kActive);
  SetClusterState(all[3], ClusterState::kDegraded);

  auto page =
      cp_->DescribeClusters({.cluster_ids = {all[4], all[0], "nope"}}, {});
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Ids(page->items), ElementsAre(all[0], all[4]));
  page = cp_->DescribeClusters(
      {.states = {ClusterState::kActive, ClusterState::kDegraded}}, {});
  EXPECT_THAT(Ids(page->items), ElementsAre(all[1], all[3]));

  std::vector<std::string> seen;
  PageRequest req{.max_results = 2};
  int pages = 0;
  do {
    page = cp_->DescribeClusters({}, req);
    ASSERT_THAT(page, IsOk());
    for (const Cluster& c : page->items) seen.push_back(c.cluster_id);
    req.next_token = page->next_token;
    ++pages;
  } while (!req.next_token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, all);

  EXPECT_THAT(cp_->DescribeClusters({}, {.next_token = "garbage"}),
              StatusIs(Code::kInvalidArgument, HasSubstr("next_token")));
  EXPECT_THAT(cp_->DescribeClusters({}, {.max_results = 101}),
              StatusIs(Code::kInvalidArgument, HasSubstr("max_results")));
  EXPECT_THAT(cp_->DescribeClusters({}, {.max_results = 100}), IsOk());
}

const ClusterState kAllClusterStates[] = {ClusterState::kCreateInProgress,
                                          ClusterState::kUninitialized,
                                          ClusterState::kInitializeInProgress,
                                          ClusterState::kInitialized,
                                          ClusterState::kActive,
                                          ClusterState::kUpdateInProgress,
                                          ClusterState::kDeleteInProgress,
                                          ClusterState::kDeleted,
                                          ClusterState::kDegraded};

bool Settled(ClusterState s) {
  return s == ClusterState::kUninitialized || s == ClusterState::kInitialized ||
         s == ClusterState::kActive || s == ClusterState::kDegraded;
}

TEST_F(ControlPlaneTest, ModifyClusterInEveryState) {
  const std::string id = NewCluster();
  EXPECT_THAT(cp_->ModifyCluster(id, 6), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(cp_->ModifyCluster(id, 380), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(cp_->ModifyCluster("cluster-404", 30), StatusIs(Code::kNotFound));
  for (ClusterState state : kAllClusterStates) {
    SetClusterState(id, state);
    auto c = cp_->ModifyCluster(id, 30);
    if (Settled(state)) {
      ASSERT_THAT(c, IsOk()) << Name(state);
      EXPECT_EQ(c->backup_retention_days, 30u);
      EXPECT_EQ(c->state, state);  // metadata only
      ASSERT_THAT(cp_->ModifyCluster(id, 90), IsOk());
    } else {
      EXPECT_THAT(c,
                  StatusIs(Code::kFailedPrecondition,
                           HasSubstr(absl::StrCat("ModifyCluster is not "
                                                  "allowed: cluster ",
                                                  id, " is ", Name(state)))));
    }
  }
}

TEST_F(ControlPlaneTest, DeleteClusterInEveryState) {
  for (ClusterState state : kAllClusterStates) {
    const std::string id = NewCluster();
    SetClusterState(id, state);
    auto c = cp_->DeleteCluster(id);
    if (Settled(state)) {
      ASSERT_THAT(c, IsOk()) << Name(state);
      EXPECT_EQ(c->state, ClusterState::kDeleted);
    } else {
      EXPECT_THAT(c,
                  StatusIs(Code::kFailedPrecondition, HasSubstr(Name(state))));
    }
  }
  EXPECT_THAT(cp_->DeleteCluster("cluster-404"), StatusIs(Code::kNotFound));
}

TEST_F(ControlPlaneTest, DeleteClusterNeedsNoHsms) {
  const std::string id = NewCluster();
  SetClusterState(id, ClusterState::kActive);
  Seed([&](StateStore& s) -> absl::Status {
    for (auto [hsm, state] : {std::pair{"hsm-a", HsmState::kActive},
                              std::pair{"hsm-b", HsmState::kDegraded},
                              std::pair{"hsm-c", HsmState::kDeleted}}) {
      absl::Status st = s.PutHsm(
          {.hsm_id = hsm, .cluster_id = id, .state = state, .create_time = 1});
      if (!st.ok()) return st;
    }
    return absl::OkStatus();
  });
  EXPECT_THAT(cp_->DeleteCluster(id),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("still has 2 HSMs (hsm-a, hsm-b)")));
  EXPECT_EQ(GetCluster(id).state, ClusterState::kActive);
  EXPECT_EQ(GetCluster(id).hsms.size(), 3u);
}

TEST_F(ControlPlaneTest, UpdateClusterWritesClusterAndHsmsOrNothing) {
  const std::string id = NewCluster();
  auto hsm_id = cp_->ReserveId("hsm");
  ASSERT_THAT(hsm_id, IsOk());
  auto updated = cp_->UpdateCluster(id, [&](Cluster& c) {
    Hsm h;
    h.hsm_id = *hsm_id;
    h.cluster_id = id;
    h.state = HsmState::kActive;
    h.endpoint = "127.0.0.1:1";
    c.hsms.push_back(h);
    c.cluster_csr_pem = "csr";
    return absl::OkStatus();
  });
  ASSERT_THAT(updated, IsOk());
  ASSERT_EQ(updated->hsms.size(), 1u);
  EXPECT_EQ(updated->hsms[0].endpoint, "127.0.0.1:1");
  // A failing change writes nothing, the cluster nor its HSMs.
  EXPECT_THAT(cp_->UpdateCluster(id,
                                 [](Cluster& c) {
                                   c.cluster_csr_pem = "other";
                                   c.hsms[0].state = HsmState::kDeleted;
                                   return absl::AbortedError("changed mind");
                                 }),
              StatusIs(Code::kAborted));
  auto read = cp_->GetCluster(id);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->cluster_csr_pem, "csr");
  EXPECT_EQ(read->hsms[0].state, HsmState::kActive);
  // DeleteCluster counts the HSM.
  EXPECT_THAT(cp_->DeleteCluster(id),
              StatusIs(Code::kFailedPrecondition, HasSubstr(*hsm_id)));
  EXPECT_THAT(cp_->GetCluster("cluster-000000000000"),
              StatusIs(Code::kNotFound));
}

TEST_F(ControlPlaneTest, BackupDeleteAndRestore) {
  const std::string cluster = NewCluster();
  const std::string id = SeedBackup(cluster, now_);
  now_ += 10;
  auto b = cp_->DeleteBackup(id);
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->state, BackupState::kPendingDeletion);
  EXPECT_EQ(b->delete_time, now_);
  EXPECT_THAT(cp_->DeleteBackup(id),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("DeleteBackup is not allowed: backup " + id +
                                 " is PENDING_DELETION; it needs READY")));
  b = cp_->RestoreBackup(id);
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->state, BackupState::kReady);
  EXPECT_EQ(b->delete_time, 0);
  EXPECT_THAT(cp_->RestoreBackup(id),
              StatusIs(Code::kFailedPrecondition, HasSubstr("is READY")));
  EXPECT_THAT(cp_->DeleteBackup("backup-404"), StatusIs(Code::kNotFound));
  EXPECT_THAT(cp_->RestoreBackup("backup-404"), StatusIs(Code::kNotFound));
}

TEST_F(ControlPlaneTest, BackupCallsInOtherStates) {
  const std::string cluster = NewCluster();
  const std::string creating =
      SeedBackup(cluster, now_, BackupState::kCreateInProgress);
  const std::string deleted = SeedBackup(cluster, now_, BackupState::kDeleted);
  for (const std::string& id : {creating, deleted}) {
    EXPECT_THAT(cp_->DeleteBackup(id), StatusIs(Code::kFailedPrecondition));
    EXPECT_THAT(cp_->RestoreBackup(id), StatusIs(Code::kFailedPrecondition));
  }
  EXPECT_THAT(cp_->ModifyBackupAttributes(creating, true), IsOk());
  EXPECT_THAT(cp_->ModifyBackupAttributes(deleted, true),
              StatusIs(Code::kFailedPrecondition, HasSubstr("DELETED")));
  EXPECT_THAT(cp_->TagResource(deleted, {{"k", "v"}}),
              StatusIs(Code::kFailedPrecondition, HasSubstr("DELETED")));
}

TEST_F(ControlPlaneTest, ModifyBackupAttributes) {
  const std::string id = SeedBackup(NewCluster(), now_);
  auto b = cp_->ModifyBackupAttributes(id, true);
  ASSERT_THAT(b, IsOk());
  EXPECT_TRUE(b->never_expires);
  ASSERT_THAT(cp_->DeleteBackup(id), IsOk());
  b = cp_->ModifyBackupAttributes(id, false);
  ASSERT_THAT(b, IsOk());
  EXPECT_FALSE(b->never_expires);
  EXPECT_EQ(b->state, BackupState::kPendingDeletion);
}

TEST_F(ControlPlaneTest, DescribeBackupsFiltersSortsAndPaginates) {
  const std::string c1 = NewCluster(), c2 = NewCluster();
  const std::string b1 = SeedBackup(c1, kStart + 100);
  const std::string b2 = SeedBackup(c2, kStart + 200);
  const std::string b3 = SeedBackup(c1, kStart + 300);
  const std::string b4 = SeedBackup(c1, kStart + 300);  // same time: by id
  ASSERT_THAT(cp_->ModifyBackupAttributes(b2, true), IsOk());
  ASSERT_THAT(cp_->DeleteBackup(b3), IsOk());

  auto ids = [&](const BackupFilter& f) {
    auto page = cp_->DescribeBackups(f, {});
    EXPECT_THAT(page, IsOk());
    return Ids(page->items);
  };
  EXPECT_THAT(ids({}), ElementsAre(b1, b2, b3, b4));
  EXPECT_THAT(ids({.newest_first = true}), ElementsAre(b4, b3, b2, b1));
  EXPECT_THAT(ids({.cluster_ids = {c1}}), ElementsAre(b1, b3, b4));
  EXPECT_THAT(ids({.backup_ids = {b4, b2}}), ElementsAre(b2, b4));
  EXPECT_THAT(ids({.states = {BackupState::kPendingDeletion}}),
              ElementsAre(b3));
  EXPECT_THAT(ids({.never_expires = true}), ElementsAre(b2));
  EXPECT_THAT(ids({.never_expires = false}), ElementsAre(b1, b3, b4));
  EXPECT_THAT(ids({.cluster_ids = {c1}, .states = {BackupState::kReady}}),
              ElementsAre(b1, b4));

  for (bool newest_first : {false, true}) {
    std::vector<std::string> seen;
    PageRequest req{.max_results = 1};
    do {
      auto page = cp_->DescribeBackups({.newest_first = newest_first}, req);
      ASSERT_THAT(page, IsOk());
      ASSERT_EQ(page->items.size(), 1u);
      seen.push_back(page->items[0].backup_id);
      req.next_token = page->next_token;
    } while (!req.next_token.empty());
    EXPECT_EQ(seen, ids({.newest_first = newest_first}));
  }
}

TEST_F(ControlPlaneTest, RetentionJob) {
  const std::string cluster = NewCluster("local", 7);
  const std::string other = NewCluster("local", 30);
  const int64_t t0 = kStart;
  const std::string old1 = SeedBackup(cluster, t0);
  const std::string old_never = SeedBackup(cluster, t0 + 1);
  const std::string young = SeedBackup(cluster, t0 + 5 * kDay);
  const std::string other_old = SeedBackup(other, t0);  // its newest
  const std::string other_mid = SeedBackup(other, t0 + 1);
  const std::string other_new = SeedBackup(other, t0 + 2);
  ASSERT_THAT(cp_->ModifyBackupAttributes(old_never, true), IsOk());

  // Day 8: old1 is past 7 days; old_never never expires; young is not old.
  // For `other`, 30 days have not passed.
  auto report = cp_->RunRetention(t0 + 8 * kDay);
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->expired, ElementsAre(old1));
  EXPECT_THAT(report->purged, IsEmpty());
  EXPECT_EQ(GetBackup(old1).state, BackupState::kPendingDeletion);
  EXPECT_EQ(GetBackup(old1).delete_time, t0 + 8 * kDay);

  // Day 31: `other`'s two older ones expire, never its newest; `young` is
  // the newest of `cluster` and stays though past retention.
  report = cp_->RunRetention(t0 + 31 * kDay);
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->expired, ElementsAre(other_old, other_mid));
  EXPECT_THAT(report->purged, ElementsAre(old1));  // 23 days pending
  EXPECT_EQ(GetBackup(old1).state, BackupState::kDeleted);
  EXPECT_EQ(GetBackup(young).state, BackupState::kReady);
  EXPECT_EQ(GetBackup(other_new).state, BackupState::kReady);
  EXPECT_EQ(GetBackup(old_never).state, BackupState::kReady);

  // Pending deletions are purged only after 7 full days.
  report = cp_->RunRetention(t0 + 38 * kDay - 1);
  EXPECT_THAT(report->purged, IsEmpty());
  report = cp_->RunRetention(t0 + 38 * kDay);
  EXPECT_THAT(report->purged, ElementsAre(other_old, other_mid));
  // A restored backup of a deleted cluster keeps its last protection rules.
  ASSERT_THAT(cp_->DeleteCluster(other), IsOk());
  EXPECT_THAT(cp_->RunRetention(t0 + 400 * kDay)->expired, IsEmpty());
}

TEST_F(ControlPlaneTest, RetentionSparesCopies) {
  const std::string cluster = NewCluster("local", 7);
  const std::string original = SeedBackup(cluster, kStart);
  const std::string newest = SeedBackup(cluster, kStart + 1);
  const std::string copy = absl::StrCat("backup-", ++ids_);
  Seed([&](StateStore& s) {
    return s.PutBackup({.backup_id = copy,
                        .cluster_id = cluster,
                        .region = "far",
                        .state = BackupState::kReady,
                        .create_time = kStart,
                        .source_backup_id = original,
                        .source_region = "local",
                        .source_cluster_id = cluster,
                        .copy_time = kStart});
  });
  auto report = cp_->RunRetention(kStart + 100 * kDay);
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->expired, ElementsAre(original));
  EXPECT_EQ(GetBackup(copy).state, BackupState::kReady);
  EXPECT_EQ(GetBackup(newest).state, BackupState::kReady);
}

TEST_F(ControlPlaneTest, Tags) {
  const std::string id = NewCluster();
  ASSERT_THAT(cp_->TagResource(id, {{"b", "2"}, {"a", "1"}}), IsOk());
  ASSERT_THAT(cp_->TagResource(id, {{"b", "two"}, {"c", ""}}), IsOk());
  auto tags = cp_->ListTags(id, {});
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(tags->items,
              ElementsAre(Tag{"a", "1"}, Tag{"b", "two"}, Tag{"c", ""}));
  ASSERT_THAT(cp_->UntagResource(id, {"a", "not-there"}), IsOk());
  EXPECT_THAT(cp_->ListTags(id, {})->items,
              ElementsAre(Tag{"b", "two"}, Tag{"c", ""}));
  EXPECT_THAT(GetCluster(id).tags, ElementsAre(Tag{"b", "two"}, Tag{"c", ""}));

  const std::string backup = SeedBackup(id, now_);
  ASSERT_THAT(cp_->TagResource(backup, {{"x", "y"}}), IsOk());
  EXPECT_THAT(GetBackup(backup).tags, ElementsAre(Tag{"x", "y"}));

  EXPECT_THAT(cp_->TagResource("cluster-404", {{"k", "v"}}),
              StatusIs(Code::kNotFound));
  EXPECT_THAT(cp_->ListTags("backup-404", {}), StatusIs(Code::kNotFound));
  EXPECT_THAT(cp_->TagResource("hsm-1", {{"k", "v"}}),
              StatusIs(Code::kInvalidArgument, HasSubstr("resource_id")));
  EXPECT_THAT(cp_->TagResource(id, {}), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(cp_->UntagResource(id, {}), StatusIs(Code::kInvalidArgument));

  ASSERT_THAT(cp_->DeleteCluster(id), IsOk());
  EXPECT_THAT(cp_->TagResource(id, {{"k", "v"}}),
              StatusIs(Code::kFailedPrecondition, HasSubstr("DELETED")));
  EXPECT_THAT(cp_->ListTags(id, {})->items.size(), 2u);  // still readable
}

TEST_F(ControlPlaneTest, TagLimits) {
  const std::string id = NewCluster();
  auto tag = [](std::string key, std::string value = "") {
    return std::vector<Tag>{{std::move(key), std::move(value)}};
  };
  EXPECT_THAT(cp_->TagResource(id, tag("")), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(cp_->TagResource(id, tag(std::string(129, 'k'))),
              StatusIs(Code::kInvalidArgument, HasSubstr("129 characters")));
  EXPECT_THAT(cp_->TagResource(id, tag("k", std::string(257, 'v'))),
              StatusIs(Code::kInvalidArgument, HasSubstr("257 characters")));
  EXPECT_THAT(cp_->TagResource(id, {{"k", "1"}, {"k", "2"}}),
              StatusIs(Code::kInvalidArgument, HasSubstr("twice")));
  // Limits count characters, not bytes: 128 two-byte characters fit.
  std::string key;
  for (int i = 0; i < 128; ++i) key += "\xc3\xa9";
  EXPECT_THAT(cp_->TagResource(id, tag(key, std::string(256, 'v'))), IsOk());

  std::vector<Tag> many;
  for (int i = 0; i < 49; ++i) many.push_back({absl::StrCat("k", i), ""});
  ASSERT_THAT(cp_->TagResource(id, many), IsOk());  // 50 in all
  EXPECT_THAT(cp_->TagResource(id, tag("one-more")),
              StatusIs(Code::kInvalidArgument, HasSubstr("51 tags")));
  EXPECT_THAT(cp_->TagResource(id, tag("k0", "replaced")), IsOk());

  std::vector<Tag> seen;
  PageRequest req{.max_results = 7};
  do {
    auto page = cp_->ListTags(id, req);
    ASSERT_THAT(page, IsOk());
    seen.insert(seen.end(), page->items.begin(), page->items.end());
    req.next_token = page->next_token;
  } while (!req.next_token.empty());
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_EQ(seen, cp_->ListTags(id, {.max_results = 100})->items);
}

TEST_F(ControlPlaneTest, RestartKeepsState) {
  const std::string c1 = NewCluster("r1", 30);
  const std::string c2 = NewCluster("r2");
  ASSERT_THAT(cp_->TagResource(c1, {{"k", "v"}}), IsOk());
  const std::string backup = SeedBackup(c1, now_);
  ASSERT_THAT(cp_->DeleteBackup(backup), IsOk());
  ASSERT_THAT(cp_->DeleteCluster(c2), IsOk());
  const auto clusters_before = cp_->DescribeClusters({}, {})->items;
  const Backup backup_before = GetBackup(backup);

  Reopen();
  const auto clusters_after = cp_->DescribeClusters({}, {})->items;
  ASSERT_EQ(clusters_after.size(), 2u);
  EXPECT_EQ(clusters_after[0].cluster_id, c1);
  EXPECT_EQ(clusters_after[0].backup_retention_days, 30u);
  EXPECT_THAT(clusters_after[0].tags, ElementsAre(Tag{"k", "v"}));
  EXPECT_EQ(clusters_after[1].state, ClusterState::kDeleted);
  EXPECT_EQ(clusters_after[1].region, clusters_before[1].region);
  const Backup backup_after = GetBackup(backup);
  EXPECT_EQ(backup_after.state, BackupState::kPendingDeletion);
  EXPECT_EQ(backup_after.delete_time, backup_before.delete_time);
  // Ids stay unique across restarts: the store remembers them.
  EXPECT_THAT(cp_->RestoreBackup(backup), IsOk());
}

}  // namespace
}  // namespace coffer::manager
