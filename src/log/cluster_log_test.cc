#include "log/cluster_log.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/fault.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/log_test_util.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::log {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::vector<uint64_t> Positions(const std::vector<LogEntry>& entries) {
  std::vector<uint64_t> out;
  for (const LogEntry& e : entries) out.push_back(e.position);
  return out;
}

class ClusterLogTest : public ::testing::Test {
 protected:
  void SetUp() override { log_ = Open(); }

  std::unique_ptr<ClusterLog> Open(SqliteClusterLogOptions options = {}) {
    auto log = OpenSqliteClusterLog(path_, options);
    EXPECT_THAT(log, IsOk());
    return log.ok() ? *std::move(log) : nullptr;
  }

  // Appends `n` records "<prefix><i>" and checks the positions they get.
  void AppendN(const std::string& cluster, int n, const std::string& prefix,
               size_t pad = 0) {
    for (int i = 0; i < n; ++i) {
      absl::StatusOr<uint64_t> last = log_->LastPosition(cluster);
      ASSERT_THAT(last, IsOk());
      Bytes record = Rec(absl::StrCat(prefix, i));
      record.resize(std::max(record.size(), pad), 'x');
      absl::StatusOr<uint64_t> pos = log_->Append(cluster, *last, record);
      ASSERT_THAT(pos, IsOk());
      ASSERT_EQ(*pos, *last + 1);
    }
  }

  std::vector<LogEntry> ReadAll(ClusterLog& log, const std::string& cluster,
                                uint64_t after = 0) {
    auto entries = log.Read(cluster, after, 1000000, size_t{1} << 30);
    EXPECT_THAT(entries, IsOk());
    return entries.ok() ? *entries : std::vector<LogEntry>{};
  }

  coffer::testing::TempDir dir_;
  std::string path_ = dir_.File("cluster.log");
  std::unique_ptr<ClusterLog> log_;
};

TEST_F(ClusterLogTest, AppendReadAndLastPosition) {
  EXPECT_THAT(log_->LastPosition("c1"), IsOkAndHolds(0u));
  EXPECT_THAT(log_->Read("c1", 0, 10, 1000), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(log_->Append("c1", 0, Rec("first")), IsOkAndHolds(1u));
  EXPECT_THAT(log_->Append("c1", 1, Rec("second")), IsOkAndHolds(2u));
  EXPECT_THAT(log_->LastPosition("c1"), IsOkAndHolds(2u));
  std::vector<LogEntry> all = ReadAll(*log_, "c1");
  ASSERT_THAT(all, SizeIs(2));
  EXPECT_EQ(all[0].position, 1u);
  EXPECT_EQ(all[0].record, Rec("first"));
  EXPECT_EQ(all[1].position, 2u);
  EXPECT_EQ(all[1].record, Rec("second"));
  EXPECT_THAT(log_->Read("c1", 2, 10, 1000), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(Positions(ReadAll(*log_, "c1", 1)), ElementsAre(2u));
}

TEST_F(ClusterLogTest, StaleExpectedLastIsAbortedAndChangesNothing) {
  ASSERT_THAT(log_->Append("c1", 0, Rec("a")), IsOk());
  EXPECT_THAT(log_->Append("c1", 0, Rec("b")),
              StatusIs(absl::StatusCode::kAborted,
                       HasSubstr("ends at position 1, not 0")));
  EXPECT_THAT(log_->Append("c1", 7, Rec("b")),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(log_->AppendBatch("c1", 0, {Rec("b"), Rec("c")}),
              StatusIs(absl::StatusCode::kAborted));
  std::vector<LogEntry> all = ReadAll(*log_, "c1");
  ASSERT_THAT(all, SizeIs(1));
  EXPECT_EQ(all[0].record, Rec("a"));
}

TEST_F(ClusterLogTest, CompareSpansObjectsOnTheSameFile) {
  std::unique_ptr<ClusterLog> other = Open();
  ASSERT_NE(other, nullptr);
  ASSERT_THAT(log_->Append("c1", 0, Rec("mine")), IsOk());
  EXPECT_THAT(other->Append("c1", 0, Rec("theirs")),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(other->Append("c1", 1, Rec("theirs")), IsOkAndHolds(2u));
  EXPECT_THAT(Positions(ReadAll(*log_, "c1")), ElementsAre(1u, 2u));
}

TEST_F(ClusterLogTest, BatchIsAllOrNothing) {
  EXPECT_THAT(log_->AppendBatch("c1", 0, {Rec("a"), Rec("b"), Rec("c")}),
              IsOkAndHolds(3u));
  Bytes too_big(kMaxRecordBytes + 1, 0x5a);
  EXPECT_THAT(
      log_->AppendBatch("c1", 3, {Rec("d"), too_big}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("record 1")));
  EXPECT_THAT(log_->AppendBatch("c1", 3, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<Bytes> too_many(kMaxBatchRecords + 1, Rec("x"));
  EXPECT_THAT(log_->AppendBatch("c1", 3, too_many),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<Bytes> too_heavy(5, Bytes(kMaxRecordBytes, 1));
  EXPECT_THAT(log_->AppendBatch("c1", 3, too_heavy),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(log_->LastPosition("c1"), IsOkAndHolds(3u));
  EXPECT_THAT(Positions(ReadAll(*log_, "c1")), ElementsAre(1u, 2u, 3u));
}

TEST_F(ClusterLogTest, FailureBeforeCommitRollsTheBatchBack) {
  if (!fault::kFaultInjectionEnabled) GTEST_SKIP() << "no fault points";
  ASSERT_THAT(log_->Append("c1", 0, Rec("a")), IsOk());
  fault::Arm("log.append.before_commit", fault::FaultAction::kError);
  EXPECT_THAT(log_->AppendBatch("c1", 1, {Rec("b"), Rec("c")}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("injected")));
  fault::Disarm();
  EXPECT_THAT(log_->LastPosition("c1"), IsOkAndHolds(1u));
  EXPECT_THAT(Positions(ReadAll(*log_, "c1")), ElementsAre(1u));
  // The connection is usable again and the same compare now succeeds.
  EXPECT_THAT(log_->AppendBatch("c1", 1, {Rec("b"), Rec("c")}),
              IsOkAndHolds(3u));
}

TEST_F(ClusterLogTest, ReadPagesByEntriesAndBytes) {
  AppendN("c1", 10, "r", /*pad=*/100);  // every record is 100 bytes
  EXPECT_THAT(log_->Read("c1", 0, 3, 1 << 20)->size(), 3u);
  EXPECT_THAT(Positions(*log_->Read("c1", 0, 3, 1 << 20)),
              ElementsAre(1u, 2u, 3u));
  EXPECT_THAT(Positions(*log_->Read("c1", 0, 100, 250)), ElementsAre(1u, 2u));
  EXPECT_THAT(Positions(*log_->Read("c1", 2, 100, 300)),
              ElementsAre(3u, 4u, 5u));
  // A record larger than max_bytes still comes, alone, so no reader stalls.
  EXPECT_THAT(Positions(*log_->Read("c1", 4, 100, 10)), ElementsAre(5u));
  EXPECT_THAT(log_->Read("c1", 0, 0, 100),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(log_->Read("c1", 0, 10, 0),
              StatusIs(absl::StatusCode::kInvalidArgument));

  // A catch-up streams the whole log in pages.
  std::vector<LogEntry> streamed;
  uint64_t after = 0;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = log_->Read("c1", after, 4, 350);
    ASSERT_THAT(page, IsOk());
    if (page->empty()) break;
    EXPECT_LE(page->size(), 3u);
    after = page->back().position;
    streamed.insert(streamed.end(), page->begin(), page->end());
  }
  ASSERT_THAT(streamed, SizeIs(10));
  std::vector<LogEntry> all = ReadAll(*log_, "c1");
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(streamed[i].position, i + 1);
    EXPECT_EQ(streamed[i].record, all[i].record);
  }
}

TEST_F(ClusterLogTest, CompactionAndOutOfRange) {
  AppendN("c1", 10, "r");
  ASSERT_THAT(log_->Compact("c1", 5), IsOk());
  EXPECT_THAT(log_->LastPosition("c1"), IsOkAndHolds(10u));
  EXPECT_THAT(Positions(ReadAll(*log_, "c1", 5)),
              ElementsAre(6u, 7u, 8u, 9u, 10u));
  EXPECT_THAT(log_->Read("c1", 4, 10, 1000),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("first retained position is 6")));
  EXPECT_THAT(log_->Read("c1", 0, 10, 1000),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(log_->Compact("c1", 3), IsOk());  // older backup: no-op
  EXPECT_THAT(log_->Compact("c1", 11),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(log_->Compact("nobody", 0), IsOk());

  // Compacting everything keeps the last position for the next append.
  ASSERT_THAT(log_->Compact("c1", 10), IsOk());
  EXPECT_THAT(log_->LastPosition("c1"), IsOkAndHolds(10u));
  EXPECT_THAT(log_->Read("c1", 10, 10, 1000), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(log_->Append("c1", 0, Rec("x")),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(log_->Append("c1", 10, Rec("x")), IsOkAndHolds(11u));
  EXPECT_THAT(Positions(ReadAll(*log_, "c1", 10)), ElementsAre(11u));

  log_ = Open();  // compaction survives a reopen
  EXPECT_THAT(log_->Read("c1", 9, 10, 1000),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("first retained position is 11")));
}

TEST_F(ClusterLogTest, ReadingPastTheEndIsRefused) {
  AppendN("c1", 2, "r");
  EXPECT_THAT(log_->Read("c1", 3, 10, 1000),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("beyond the end")));
  EXPECT_THAT(log_->Read("unknown", 1, 10, 1000),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(ClusterLogTest, ReopenKeepsEverythingByteExact) {
  std::vector<Bytes> records;
  Bytes every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<uint8_t>(b));
  records.push_back(every_byte);
  records.push_back(Bytes{});                       // empty
  records.push_back(Bytes{0, 0, 0});                // only NULs
  records.push_back(Bytes(kMaxRecordBytes, 0xff));  // the largest allowed
  for (int i = 0; i < 20; ++i) records.push_back(Rec(absl::StrCat("k", i)));
  uint64_t last = 0;
  for (const Bytes& r : records) {
    ASSERT_THAT(log_->Append("c1", last, r), IsOk());
    ++last;
  }
  EXPECT_THAT(log_->Append("c1", last, Bytes(kMaxRecordBytes + 1, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  log_.reset();
  log_ = Open();
  std::vector<LogEntry> all = ReadAll(*log_, "c1");
  ASSERT_EQ(all.size(), records.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].position, i + 1);
    EXPECT_TRUE(all[i].record == records[i]) << "record " << i;
  }
  EXPECT_THAT(log_->Append("c1", last, Rec("next")), IsOkAndHolds(last + 1));
}

TEST_F(ClusterLogTest, ClustersAreIndependent) {
  AppendN("alpha", 3, "a");
  AppendN("beta", 5, "b");
  EXPECT_THAT(log_->LastPosition("alpha"), IsOkAndHolds(3u));
  EXPECT_THAT(log_->LastPosition("beta"), IsOkAndHolds(5u));
  ASSERT_THAT(log_->Compact("alpha", 3), IsOk());
  EXPECT_THAT(Positions(ReadAll(*log_, "beta")),
              ElementsAre(1u, 2u, 3u, 4u, 5u));
  ASSERT_THAT(log_->DeleteCluster("beta"), IsOk());
  EXPECT_THAT(log_->LastPosition("beta"), IsOkAndHolds(0u));
  EXPECT_THAT(log_->LastPosition("alpha"), IsOkAndHolds(3u));
  EXPECT_EQ(ReadAll(*log_, "alpha", 3).size(), 0u);
  // A deleted cluster starts again at 1; a reader still at 5 is told.
  EXPECT_THAT(log_->Append("beta", 0, Rec("new")), IsOkAndHolds(1u));
  EXPECT_THAT(log_->Read("beta", 5, 10, 1000),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ReadAll(*log_, "beta")[0].record, Rec("new"));
  EXPECT_THAT(log_->DeleteCluster("never-existed"), IsOk());
}

TEST_F(ClusterLogTest, ArgumentsAreValidated) {
  for (const std::string& bad :
       {std::string(), std::string(65, 'a'), std::string("a/b"),
        std::string("a b"), std::string("caf\xc3\xa9"), std::string("a\0b", 3),
        std::string("../x")}) {
    EXPECT_THAT(log_->Append(bad, 0, Rec("x")),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
    EXPECT_THAT(log_->LastPosition(bad),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(log_->Read(bad, 0, 1, 1),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(log_->Compact(bad, 0),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(log_->DeleteCluster(bad),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  const std::string longest =
      std::string(32, 'Z') + std::string(30, '9') + "_-";
  EXPECT_THAT(log_->Append(longest, 0, Rec("x")), IsOkAndHolds(1u));
  EXPECT_THAT(log_->Append("c1", kMaxPosition + 1, Rec("x")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(log_->Read("c1", kMaxPosition + 1, 1, 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ClusterLogTest, WaitForPositionWakesOnAppend) {
  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(200));
    EXPECT_THAT(log_->Append("c1", 0, Rec("wake")), IsOk());
  });
  const absl::Time start = absl::Now();
  // A long poll interval proves the wake-up came from the append itself.
  EXPECT_THAT(log_->WaitForPosition("c1", 0, absl::Seconds(30)),
              IsOkAndHolds(1u));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  writer.join();
  // Already newer: returns at once.
  EXPECT_THAT(log_->WaitForPosition("c1", 0, absl::ZeroDuration()),
              IsOkAndHolds(1u));
}

TEST_F(ClusterLogTest, WaitForPositionTimesOut) {
  ASSERT_THAT(log_->Append("c1", 0, Rec("a")), IsOk());
  const absl::Time start = absl::Now();
  EXPECT_THAT(log_->WaitForPosition("c1", 1, absl::Milliseconds(300)),
              IsOkAndHolds(1u));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(290));
  // Appends to another cluster do not satisfy the wait.
  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(50));
    EXPECT_THAT(log_->Append("c2", 0, Rec("other")), IsOk());
  });
  EXPECT_THAT(log_->WaitForPosition("c1", 1, absl::Milliseconds(300)),
              IsOkAndHolds(1u));
  writer.join();
}

TEST_F(ClusterLogTest, WaitForPositionPollsForOtherWriters) {
  SqliteClusterLogOptions options;
  options.poll_interval = absl::Milliseconds(20);
  log_ = Open(options);
  std::unique_ptr<ClusterLog> other = Open();
  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(100));
    EXPECT_THAT(other->Append("c1", 0, Rec("elsewhere")), IsOk());
  });
  const absl::Time start = absl::Now();
  EXPECT_THAT(log_->WaitForPosition("c1", 0, absl::Seconds(30)),
              IsOkAndHolds(1u));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  writer.join();
}

TEST_F(ClusterLogTest, FilesAreOwnerOnly) {
  ASSERT_THAT(log_->Append("c1", 0, Rec("a")), IsOk());
  for (const std::string& file : dir_.ListFiles()) {
    struct stat st {};
    ASSERT_EQ(stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
}

TEST(ClusterLogOpenTest, RefusesWhatIsNotALog) {
  coffer::testing::TempDir dir;
  SqliteClusterLogOptions no_create;
  no_create.create_if_missing = false;
  EXPECT_THAT(OpenSqliteClusterLog(dir.File("missing"), no_create),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(dir.ListFiles().empty());

  ASSERT_EQ(symlink(dir.File("target").c_str(), dir.File("link").c_str()), 0);
  EXPECT_THAT(OpenSqliteClusterLog(dir.File("link")),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  std::ofstream(dir.File("garbage")) << std::string(4096, 'g');
  EXPECT_THAT(OpenSqliteClusterLog(dir.File("garbage")),
              StatusIs(absl::StatusCode::kDataLoss));

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.File("other.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_THAT(OpenSqliteClusterLog(dir.File("other.db")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a Coffer cluster log")));
}

}  // namespace
}  // namespace coffer::log
