#include "manager/state_store.h"

#include <sys/stat.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::manager {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Cluster SampleCluster(const std::string& id) {
  Cluster c;
  c.cluster_id = id;
  c.region = "local";
  c.mode = ClusterMode::kNonFips;
  c.state = ClusterState::kActive;
  c.backup_retention_days = 30;
  c.create_time = 100;
  return c;
}

TEST(StateStoreTest, FileIsPrivateAndStateSurvivesReopen) {
  coffer::testing::TempDir dir;
  {
    auto store = StateStore::Open(dir.path());
    ASSERT_THAT(store, IsOk());
    auto body = [&]() -> absl::Status {
      absl::Status s = (*store)->PutCluster(SampleCluster("cluster-1"));
      if (!s.ok()) return s;
      Hsm hsm{.hsm_id = "hsm-1", .cluster_id = "cluster-1"};
      s = (*store)->PutHsm(hsm);
      if (!s.ok()) return s;
      return (*store)->SetTags("cluster-1", {{"a", "1"}, {"b", ""}});
    };
    ASSERT_THAT((*store)->Transaction(body), IsOk());
  }
  struct stat st {};
  ASSERT_EQ(stat(dir.File("manager.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto store = StateStore::Open(dir.path());
  ASSERT_THAT(store, IsOk());
  auto cluster = (*store)->GetCluster("cluster-1");
  ASSERT_THAT(cluster, IsOk());
  EXPECT_EQ(cluster->region, "local");
  EXPECT_EQ(cluster->mode, ClusterMode::kNonFips);
  EXPECT_EQ(cluster->state, ClusterState::kActive);
  EXPECT_EQ(cluster->backup_retention_days, 30u);
  ASSERT_EQ(cluster->hsms.size(), 1u);
  EXPECT_EQ(cluster->hsms[0].hsm_id, "hsm-1");
  EXPECT_THAT(cluster->tags, ElementsAre(Tag{"a", "1"}, Tag{"b", ""}));
  EXPECT_THAT((*store)->IdExists("hsm-1"), IsOk());
  EXPECT_TRUE(*(*store)->IdExists("hsm-1"));
  EXPECT_FALSE(*(*store)->IdExists("hsm-2"));
}

TEST(StateStoreTest, SecondOpenOfTheSameDirectoryIsRefused) {
  coffer::testing::TempDir dir;
  auto first = StateStore::Open(dir.path());
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(StateStore::Open(dir.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("another coffer-manager")));
}

TEST(StateStoreTest, FailedTransactionLeavesNothing) {
  coffer::testing::TempDir dir;
  auto store = StateStore::Open(dir.path());
  ASSERT_THAT(store, IsOk());
  auto body = [&]() -> absl::Status {
    absl::Status s = (*store)->PutCluster(SampleCluster("cluster-1"));
    if (!s.ok()) return s;
    return absl::AbortedError("changed my mind");
  };
  EXPECT_THAT((*store)->Transaction(body),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT((*store)->GetCluster("cluster-1"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(StateStoreTest, WritesOutsideATransactionAreRefused) {
  coffer::testing::TempDir dir;
  auto store = StateStore::Open(dir.path());
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->PutCluster(SampleCluster("cluster-1")),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(StateStoreTest, ForeignFileIsRefused) {
  coffer::testing::TempDir dir;
  {
    auto store = StateStore::Open(dir.path());
    ASSERT_THAT(store, IsOk());
  }
  FILE* f = fopen(dir.File("manager.db").c_str(), "r+b");
  ASSERT_NE(f, nullptr);
  fseek(f, 68, SEEK_SET);  // the header's application id
  fputs("XXXX", f);
  fclose(f);
  EXPECT_THAT(StateStore::Open(dir.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a coffer-manager state file")));
}

}  // namespace
}  // namespace coffer::manager
