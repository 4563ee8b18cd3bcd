// Behaviour of the SQLite store through its public contract.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/fault.h"
#include "crypto/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/sealed_store.h"
#include "store/store_test_util.h"
#include "testing/status_matchers.h"

namespace coffer::store {
namespace {

using ::coffer::store::testing::AsString;
using ::coffer::store::testing::Erase;
using ::coffer::store::testing::ListFiles;
using ::coffer::store::testing::MustOpen;
using ::coffer::store::testing::Put;
using ::coffer::store::testing::RawDb;
using ::coffer::store::testing::TempDir;
using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

std::pair<uint64_t, std::string> V(uint64_t version, std::string payload) {
  return {version, std::move(payload)};
}

class StoreTest : public ::testing::Test {
 protected:
  void TearDown() override { fault::Disarm(); }
  std::string path() const { return dir_.File("state.db"); }
  std::unique_ptr<SealedStore> Open(const SqliteStoreOptions& o = {}) {
    return MustOpen(path(), key_, o);
  }
  // "kind/id" -> (version, payload)
  std::map<std::string, std::pair<uint64_t, std::string>> Load(
      SealedStore& store) {
    std::map<std::string, std::pair<uint64_t, std::string>> out;
    auto records = store.LoadAll();
    EXPECT_THAT(records, IsOk());
    if (!records.ok()) return out;
    for (const StoredRecord& r : *records) {
      out[absl::StrCat(r.kind, "/", r.id)] = {r.version, AsString(r.payload)};
    }
    return out;
  }

  TempDir dir_;
  crypto::SecretBytes key_ = crypto::RandomSecret(32).value();
};

TEST_F(StoreTest, RoundTripsManyRecordsSortedByKindAndId) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::mt19937 rng(7);
  std::map<std::pair<std::string, std::string>, std::string> expected;
  for (int batch = 0; batch < 10; ++batch) {
    std::vector<RecordWrite> writes;
    for (int i = 0; i < 50; ++i) {
      std::string kind = absl::StrCat("kind", i % 3);
      std::string id = absl::StrCat("id-", batch, "-", i, std::string(1, '\0'));
      std::string payload(rng() % 3 == 0 ? 0 : rng() % 70000, '\0');
      for (char& c : payload) c = static_cast<char>(rng());
      expected[{kind, id}] = payload;
      writes.push_back(Put(kind, id, payload));
    }
    ASSERT_THAT(store->Commit(std::move(writes)), IsOk());
  }
  auto records = store->LoadAll();
  ASSERT_THAT(records, IsOk());
  ASSERT_EQ(records->size(), expected.size());
  auto it = expected.begin();
  for (const StoredRecord& r : *records) {
    EXPECT_EQ(r.kind, it->first.first);
    EXPECT_EQ(r.id, it->first.second);
    EXPECT_EQ(r.version, 1u);
    EXPECT_EQ(AsString(r.payload), it->second);
    ++it;
  }
  EXPECT_EQ(store->generation(), 10u);
}

TEST_F(StoreTest, VersionsIncreaseAndDeletesEndThem) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(*store->Commit([] {
    std::vector<RecordWrite> w;
    w.push_back(Put("key", "a", "1"));
    w.push_back(Put("key", "b", "1"));
    return w;
  }()),
              ElementsAre(1u, 1u));
  std::vector<RecordWrite> w2;
  w2.push_back(Put("key", "a", "2"));
  EXPECT_THAT(*store->Commit(std::move(w2)), ElementsAre(2u));
  std::vector<RecordWrite> w3;
  w3.push_back(Put("key", "c", "1"));
  w3.push_back(Put("key", "a", "3"));
  w3.push_back(Erase("key", "b"));
  EXPECT_THAT(*store->Commit(std::move(w3)), ElementsAre(1u, 3u, 2u));
  auto state = Load(*store);
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state["key/a"], V(3, "3"));
  EXPECT_EQ(state["key/c"], V(1, "1"));
  // A record created again after a delete starts over at version 1.
  std::vector<RecordWrite> w4;
  w4.push_back(Put("key", "b", "again"));
  EXPECT_THAT(*store->Commit(std::move(w4)), ElementsAre(1u));
  EXPECT_EQ(store->generation(), 4u);
}

TEST_F(StoreTest, AFailingWriteLeavesTheWholeBatchUnapplied) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<RecordWrite> w;
  w.push_back(Put("key", "a", "1"));
  ASSERT_THAT(store->Commit(std::move(w)), IsOk());
  std::vector<RecordWrite> bad;
  bad.push_back(Put("key", "a", "2"));
  bad.push_back(Put("key", "new", "x"));
  bad.push_back(Erase("key", "missing"));
  EXPECT_THAT(store->Commit(std::move(bad)),
              StatusIs(Code::kNotFound, HasSubstr("missing")));
  auto state = Load(*store);
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state["key/a"].first, 1u);
  EXPECT_EQ(store->generation(), 1u);
}

TEST_F(StoreTest, RejectsBadBatchesBeforeTouchingTheFile) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<RecordWrite> dup;
  dup.push_back(Put("key", "a", "1"));
  dup.push_back(Erase("key", "a"));
  EXPECT_THAT(store->Commit(std::move(dup)),
              StatusIs(Code::kInvalidArgument, HasSubstr("twice")));
  std::vector<RecordWrite> empty_id;
  empty_id.push_back(Put("key", "", "1"));
  EXPECT_THAT(store->Commit(std::move(empty_id)),
              StatusIs(Code::kInvalidArgument));
  std::vector<RecordWrite> long_kind;
  long_kind.push_back(Put(std::string(kMaxNameSize + 1, 'k'), "a", "1"));
  EXPECT_THAT(store->Commit(std::move(long_kind)),
              StatusIs(Code::kInvalidArgument));
  std::vector<RecordWrite> del;
  del.push_back(Erase("key", "a"));
  EXPECT_THAT(store->ReplaceAll(std::move(del)),
              StatusIs(Code::kInvalidArgument, HasSubstr("payload")));
  EXPECT_THAT(store->Commit({}), IsOk());
  EXPECT_EQ(store->generation(), 0u);
  EXPECT_THAT(
      OpenSqliteSealedStore(dir_.File("other.db"), crypto::SecretBytes(16)),
      StatusIs(Code::kInvalidArgument, HasSubstr("32")));
}

TEST_F(StoreTest, ReplaceAllDropsEverythingElse) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<RecordWrite> w;
  w.push_back(Put("key", "a", "1"));
  w.push_back(Put("key", "b", "1"));
  ASSERT_THAT(store->Commit(std::move(w)), IsOk());
  std::vector<RecordWrite> w2;
  w2.push_back(Put("key", "a", "2"));
  ASSERT_THAT(store->Commit(std::move(w2)), IsOk());
  std::vector<RecordWrite> fresh;
  fresh.push_back(Put("key", "a", "restored"));
  fresh.push_back(Put("user", "u", "restored"));
  ASSERT_THAT(store->ReplaceAll(std::move(fresh)), IsOk());
  auto state = Load(*store);
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state["key/a"], V(1, "restored"));
  EXPECT_EQ(state["user/u"].second, "restored");
  EXPECT_EQ(store->generation(), 3u);
  ASSERT_THAT(store->ReplaceAll({}), IsOk());
  EXPECT_TRUE(Load(*store).empty());
}

TEST_F(StoreTest, ReplaceAllFromStreamsAndRefusesDuplicates) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<RecordWrite> w;
  w.push_back(Put("key", "old", "1"));
  ASSERT_THAT(store->Commit(std::move(w)), IsOk());
  auto source = [](std::vector<std::string> ids) {
    return
        [ids, i = size_t{
                  0}]() mutable -> absl::StatusOr<std::optional<RecordWrite>> {
          if (i == ids.size()) return std::nullopt;
          return Put("key", ids[i++], "new");
        };
  };
  // A duplicate, or an error from the source, changes nothing.
  EXPECT_THAT(store->ReplaceAllFrom(source({"a", "b", "a"})),
              StatusIs(Code::kInvalidArgument, HasSubstr("twice")));
  EXPECT_THAT(
      store->ReplaceAllFrom([]() -> absl::StatusOr<std::optional<RecordWrite>> {
        return absl::DataLossError("source failed");
      }),
      StatusIs(Code::kDataLoss));
  auto state = Load(*store);
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state["key/old"].second, "1");
  ASSERT_THAT(store->ReplaceAllFrom(source({"a", "b"})), IsOk());
  state = Load(*store);
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state["key/b"], V(1, "new"));
}

TEST_F(StoreTest, ReopenKeepsEverything) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    std::vector<RecordWrite> w;
    w.push_back(Put("key", "a", "alpha"));
    w.push_back(Put("cfg", "main", ""));
    ASSERT_THAT(store->Commit(std::move(w)), IsOk());
    std::vector<RecordWrite> w2;
    w2.push_back(Put("key", "a", "beta"));
    ASSERT_THAT(store->Commit(std::move(w2)), IsOk());
  }
  auto store = Open({.create_if_missing = false});
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->generation(), 2u);
  auto state = Load(*store);
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state["key/a"], V(2, "beta"));
  EXPECT_EQ(state["cfg/main"], V(1, ""));
}

TEST_F(StoreTest, WrongKeyIsDataLoss) {
  { ASSERT_NE(Open(), nullptr); }
  EXPECT_THAT(OpenSqliteSealedStore(path(), crypto::RandomSecret(32).value()),
              StatusIs(Code::kDataLoss, HasSubstr("key")));
}

TEST_F(StoreTest, MissingFileWithoutCreateIsNotFound) {
  EXPECT_THAT(
      OpenSqliteSealedStore(path(), key_.Clone(), {.create_if_missing = false}),
      StatusIs(Code::kNotFound));
}

TEST_F(StoreTest, RefusesOtherSqliteFilesAndNewerSchemas) {
  {
    RawDb raw(path());
    raw.Exec("CREATE TABLE t(x)");
  }
  EXPECT_THAT(OpenSqliteSealedStore(path(), key_.Clone()),
              StatusIs(Code::kFailedPrecondition, HasSubstr("not a Coffer")));
  std::string p2 = dir_.File("newer.db");
  { ASSERT_NE(MustOpen(p2, key_), nullptr); }
  {
    RawDb raw(p2);
    raw.Exec("UPDATE coffer_schema SET version = 2");
  }
  EXPECT_THAT(OpenSqliteSealedStore(p2, key_.Clone()),
              StatusIs(Code::kFailedPrecondition, HasSubstr("version 2")));
}

TEST_F(StoreTest, ASecondOpenInThisProcessIsRefused) {
  auto first = Open();
  ASSERT_NE(first, nullptr);
  EXPECT_THAT(
      OpenSqliteSealedStore(path(), key_.Clone(), {.busy_timeout_ms = 50}),
      StatusIs(Code::kFailedPrecondition, HasSubstr("in use")));
  std::vector<RecordWrite> w;
  w.push_back(Put("key", "a", "1"));
  EXPECT_THAT(first->Commit(std::move(w)), IsOk());
  first.reset();
  EXPECT_NE(Open(), nullptr);
}

TEST_F(StoreTest, ASecondOpenInAnotherProcessIsRefused) {
  auto first = Open();
  ASSERT_NE(first, nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto second =
        OpenSqliteSealedStore(path(), key_.Clone(), {.busy_timeout_ms = 50});
    bool refused = !second.ok() &&
                   second.status().code() == Code::kFailedPrecondition &&
                   absl::StrContains(second.status().message(), "in use");
    _exit(refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the child could open a store this process holds";
}

TEST_F(StoreTest, FilesAreOwnerOnlyWhateverTheUmask) {
  mode_t old = umask(0);
  auto store = Open();
  umask(old);
  ASSERT_NE(store, nullptr);
  std::vector<RecordWrite> w;
  w.push_back(Put("key", "a", "1"));
  ASSERT_THAT(store->Commit(std::move(w)), IsOk());
  for (const std::string& f : ListFiles(dir_.path())) {
    struct stat st {};
    ASSERT_EQ(stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  EXPECT_FALSE(std::filesystem::exists(path() + "-shm"))
      << "exclusive locking keeps the WAL index in memory";
}

TEST_F(StoreTest, AnInjectedErrorBeforeCommitChangesNothing) {
  if (!fault::kFaultInjectionEnabled) GTEST_SKIP() << "fault points off";
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<RecordWrite> w;
  w.push_back(Put("key", "a", "1"));
  ASSERT_THAT(store->Commit(std::move(w)), IsOk());
  for (const char* point :
       {"store.commit.after_write", "store.commit.before_commit"}) {
    fault::Arm(point, fault::FaultAction::kError);
    std::vector<RecordWrite> w2;
    w2.push_back(Put("key", "a", "2"));
    w2.push_back(Put("key", "b", "1"));
    EXPECT_THAT(store->Commit(std::move(w2)),
                StatusIs(Code::kInternal, HasSubstr(point)));
    fault::Disarm();
  }
  for (const char* point :
       {"store.replace_all.after_delete", "store.replace_all.before_commit"}) {
    fault::Arm(point, fault::FaultAction::kError);
    std::vector<RecordWrite> w2;
    w2.push_back(Put("key", "z", "1"));
    EXPECT_THAT(store->ReplaceAll(std::move(w2)), StatusIs(Code::kInternal));
    fault::Disarm();
  }
  auto state = Load(*store);
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state["key/a"], V(1, "1"));
  std::vector<RecordWrite> w3;
  w3.push_back(Put("key", "a", "2"));
  EXPECT_THAT(*store->Commit(std::move(w3)), ElementsAre(2u));
  store.reset();
  store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Load(*store)["key/a"].second, "2");
  EXPECT_EQ(store->generation(), 2u);
}

TEST_F(StoreTest, AFailedSqlCommitIsUnknownAndNeedsAReopen) {
  if (!fault::kFaultInjectionEnabled) GTEST_SKIP() << "fault points off";
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<RecordWrite> w;
  w.push_back(Put("key", "a", "1"));
  ASSERT_THAT(store->Commit(std::move(w)), IsOk());
  fault::Arm("store.sql_commit", fault::FaultAction::kError);
  std::vector<RecordWrite> w2;
  w2.push_back(Put("key", "a", "2"));
  EXPECT_THAT(store->Commit(std::move(w2)),
              StatusIs(Code::kUnknown, HasSubstr("reopen")));
  fault::Disarm();
  EXPECT_THAT(store->LoadAll(),
              StatusIs(Code::kFailedPrecondition, HasSubstr("reopen")));
  std::vector<RecordWrite> w3;
  w3.push_back(Put("key", "b", "1"));
  EXPECT_THAT(store->Commit(std::move(w3)),
              StatusIs(Code::kFailedPrecondition));
  store.reset();
  store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Load(*store)["key/a"], V(1, "1"));
}

TEST_F(StoreTest, ConcurrentCommitsAreSerialised) {
  auto store = Open({.sync = SyncMode::kNormal});
  ASSERT_NE(store, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 25; ++i) {
        std::vector<RecordWrite> w;
        w.push_back(Put("key", absl::StrCat(t, "-", i), "x"));
        w.push_back(Put("shared", "counter", absl::StrCat(t, "-", i)));
        EXPECT_THAT(store->Commit(std::move(w)), IsOk());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  auto state = Load(*store);
  EXPECT_EQ(state.size(), 101u);
  EXPECT_EQ(state["shared/counter"].first, 100u);
  EXPECT_EQ(store->generation(), 100u);
}

}  // namespace
}  // namespace coffer::store
