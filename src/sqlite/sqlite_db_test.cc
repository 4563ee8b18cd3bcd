#include "sqlite/sqlite_db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::sqlite {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::coffer::testing::TempDir;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

constexpr BusyMapping kRetry{Code::kUnavailable, "retry later"};

TEST(SqliteErrorTest, BusyFollowsTheCallersMapping) {
  EXPECT_THAT(SqliteError(nullptr, SQLITE_BUSY, "doing x", BusyMapping{}),
              StatusIs(Code::kFailedPrecondition, EndsWith("(SQLite 5)")));
  EXPECT_THAT(
      SqliteError(nullptr, SQLITE_LOCKED_SHAREDCACHE, "doing x", kRetry),
      StatusIs(Code::kUnavailable, EndsWith("; retry later")));
  EXPECT_THAT(SqliteError(nullptr, SQLITE_CORRUPT, "doing x", kRetry),
              StatusIs(Code::kDataLoss, HasSubstr("doing x: ")));
  EXPECT_THAT(SqliteError(nullptr, SQLITE_FULL, "doing x", kRetry),
              StatusIs(Code::kResourceExhausted));
  EXPECT_THAT(SqliteError(nullptr, SQLITE_CANTOPEN, "doing x", kRetry),
              StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(SqliteError(nullptr, SQLITE_ERROR, "doing x", kRetry),
              StatusIs(Code::kInternal));
}

TEST(ConnectionTest, PreparesOpensAndRoundTrips) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  EXPECT_THAT(PrepareDbFile(path, /*create=*/false), StatusIs(Code::kNotFound));
  ASSERT_THAT(PrepareDbFile(path, /*create=*/true), IsOk());
  auto conn = Connection::Open(path, kRetry);
  ASSERT_THAT(conn, IsOk());
  conn->DistrustSchema();
  ASSERT_THAT(conn->EnableWal(), IsOk());
  ASSERT_THAT(conn->Exec("CREATE TABLE t(b BLOB, s TEXT, i INTEGER)"), IsOk());

  auto insert = Statement::Prepare(*conn, "INSERT INTO t VALUES (?1, ?2, ?3)");
  ASSERT_THAT(insert, IsOk());
  const std::string text = "text";
  ASSERT_THAT(insert->BindBlob(1, ByteView()), IsOk());  // empty, not NULL
  ASSERT_THAT(insert->BindText(2, text), IsOk());
  ASSERT_THAT(insert->BindInt64(3, -7), IsOk());
  ASSERT_THAT(insert->Run(), IsOk());

  auto select = Statement::Prepare(*conn, "SELECT b, s, i, NULL FROM t");
  ASSERT_THAT(select, IsOk());
  {
    ResetOnExit reset(*select);
    ASSERT_THAT(select->Step(), IsOk());
    EXPECT_FALSE(select->ColumnIsNull(0));
    EXPECT_TRUE(select->ColumnBlob(0).empty());
    EXPECT_EQ(select->ColumnString(1), "text");
    EXPECT_EQ(select->ColumnInt64(2), -7);
    EXPECT_TRUE(select->ColumnIsNull(3));
  }
  EXPECT_THAT(select->Run(), StatusIs(Code::kInternal, HasSubstr("a row")));
  EXPECT_EQ(*conn->QueryInt("SELECT count(*) FROM t"), 1);
  EXPECT_EQ(*conn->QueryText("PRAGMA journal_mode"), "wal");
  EXPECT_THAT(conn->QueryInt("SELECT 1 WHERE 0"), StatusIs(Code::kInternal));
  EXPECT_THAT(Statement::Prepare(*conn, "SELEC nonsense"),
              StatusIs(Code::kInternal, HasSubstr("SELEC nonsense")));
}

TEST(ConnectionTest, BusyUsesTheConnectionsMapping) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  ASSERT_THAT(PrepareDbFile(path, /*create=*/true), IsOk());
  auto holder = Connection::Open(path, BusyMapping{});
  ASSERT_THAT(holder, IsOk());
  ASSERT_THAT(holder->Exec("BEGIN EXCLUSIVE"), IsOk());
  auto other = Connection::Open(path, kRetry);
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(other->Exec("CREATE TABLE t(x)"),
              StatusIs(Code::kUnavailable, HasSubstr("retry later")));
  auto stmt = Statement::Prepare(*holder, "SELECT 1");  // holder can go on
  ASSERT_THAT(stmt, IsOk());
}

TEST(PrepareDbFileTest, RestrictsCompanionsAndRefusesSymlinks) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  ASSERT_THAT(PrepareDbFile(path, /*create=*/true), IsOk());
  const std::string wal = path + "-wal";
  ASSERT_EQ(close(open(wal.c_str(), O_CREAT | O_WRONLY, 0644)), 0);
  ASSERT_EQ(chmod(wal.c_str(), 0644), 0);
  ASSERT_THAT(PrepareDbFile(path, /*create=*/false), IsOk());
  struct stat st {};
  ASSERT_EQ(stat(wal.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ASSERT_EQ(symlink(path.c_str(), dir.File("link").c_str()), 0);
  EXPECT_THAT(PrepareDbFile(dir.File("link"), /*create=*/true),
              StatusIs(Code::kFailedPrecondition));
}

}  // namespace
}  // namespace coffer::sqlite
