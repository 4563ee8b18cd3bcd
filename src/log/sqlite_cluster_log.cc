// The embedded ClusterLog: one SQLite file in WAL mode. Table `clusters`
// holds one row per cluster (last position, compacted-through position);
// table `entries` holds the records keyed by (cluster_id, position). Every
// mutation is one BEGIN IMMEDIATE transaction that first compares against
// the `clusters` row, so the compare and the write are atomic across
// connections and processes alike (docs/log.md).
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "base/fault.h"
#include "base/status.h"
#include "log/cluster_log.h"
#include "log/internal/validate.h"
#include "sqlite/sqlite_db.h"

namespace coffer::log {
namespace {

using sqlite::Connection;
using sqlite::ResetOnExit;
using sqlite::Statement;

// The log is shared by design (several processes, one writer at a time): a
// held lock is worth a retry, so SQLITE_BUSY maps to Unavailable.
constexpr sqlite::BusyMapping kBusy{
    absl::StatusCode::kUnavailable,
    "another writer holds the log's lock, retry"};

constexpr int64_t kSchemaVersion = 1;
constexpr int64_t kApplicationId = 0x43464C47;  // "CFLG"

// `entries` keeps its rowid: records reach 1 MiB, and SQLite advises
// WITHOUT ROWID only for rows far smaller than a page.
constexpr char kSchemaSql[] = R"sql(
CREATE TABLE coffer_log_schema(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL);
CREATE TABLE clusters(
  cluster_id TEXT PRIMARY KEY NOT NULL,
  last_position INTEGER NOT NULL CHECK (last_position >= 0),
  compacted_through INTEGER NOT NULL
      CHECK (compacted_through BETWEEN 0 AND last_position)) WITHOUT ROWID;
CREATE TABLE entries(
  cluster_id TEXT NOT NULL,
  position INTEGER NOT NULL CHECK (position >= 1),
  record BLOB NOT NULL,
  PRIMARY KEY (cluster_id, position));
)sql";

struct Statements {
  Statement begin_read;
  Statement begin_write;
  Statement commit;
  Statement rollback;
  Statement get_meta;
  Statement put_meta;
  Statement insert_entry;
  Statement read_entries;
  Statement compact;
  Statement delete_entries;
  Statement delete_meta;
};

absl::StatusOr<Statements> PrepareStatements(const Connection& db) {
  Statements s;
  COFFER_ASSIGN_OR_RETURN(s.begin_read,
                          Statement::Prepare(db, "BEGIN DEFERRED"));
  // IMMEDIATE takes the write lock up front, so the compare below cannot be
  // invalidated by another connection before this transaction commits.
  COFFER_ASSIGN_OR_RETURN(s.begin_write,
                          Statement::Prepare(db, "BEGIN IMMEDIATE"));
  COFFER_ASSIGN_OR_RETURN(s.commit, Statement::Prepare(db, "COMMIT"));
  COFFER_ASSIGN_OR_RETURN(s.rollback, Statement::Prepare(db, "ROLLBACK"));
  COFFER_ASSIGN_OR_RETURN(
      s.get_meta,
      Statement::Prepare(db,
                         "SELECT last_position, compacted_through FROM "
                         "clusters WHERE cluster_id = ?1"));
  COFFER_ASSIGN_OR_RETURN(
      s.put_meta,
      Statement::Prepare(db,
                         "INSERT INTO clusters(cluster_id, last_position, "
                         "compacted_through) VALUES (?1, ?2, ?3) "
                         "ON CONFLICT(cluster_id) DO UPDATE SET "
                         "last_position = excluded.last_position, "
                         "compacted_through = excluded.compacted_through"));
  COFFER_ASSIGN_OR_RETURN(
      s.insert_entry,
      Statement::Prepare(db,
                         "INSERT INTO entries(cluster_id, position, record) "
                         "VALUES (?1, ?2, ?3)"));
  COFFER_ASSIGN_OR_RETURN(
      s.read_entries,
      Statement::Prepare(
          db,
          "SELECT position, record FROM entries WHERE cluster_id = "
          "?1 AND position > ?2 ORDER BY position LIMIT ?3"));
  COFFER_ASSIGN_OR_RETURN(
      s.compact,
      Statement::Prepare(db,
                         "DELETE FROM entries WHERE cluster_id = ?1 AND "
                         "position <= ?2"));
  COFFER_ASSIGN_OR_RETURN(
      s.delete_entries,
      Statement::Prepare(db, "DELETE FROM entries WHERE cluster_id = ?1"));
  COFFER_ASSIGN_OR_RETURN(
      s.delete_meta,
      Statement::Prepare(db, "DELETE FROM clusters WHERE cluster_id = ?1"));
  return s;
}

// A cluster's row in `clusters`; all zero for an unknown cluster.
struct Meta {
  uint64_t last = 0;
  uint64_t compacted = 0;  // entries <= this are gone
};

int64_t AsSql(uint64_t position) {  // callers validated <= kMaxPosition
  return static_cast<int64_t>(position);
}

int64_t AsSqlLimit(size_t n) {
  return static_cast<int64_t>(std::min<uint64_t>(n, kMaxPosition));
}

class SqliteClusterLog final : public ClusterLog {
 public:
  SqliteClusterLog(Connection db, Statements stmts, std::string path,
                   const SqliteClusterLogOptions& options)
      : db_(std::move(db)),
        stmts_(std::move(stmts)),
        path_(std::move(path)),
        options_(options) {}

  absl::StatusOr<uint64_t> Append(const std::string& cluster_id,
                                  uint64_t expected_last,
                                  ByteView record) override {
    return AppendRecords(cluster_id, expected_last,
                         absl::Span<const ByteView>(&record, 1));
  }

  absl::StatusOr<uint64_t> AppendBatch(
      const std::string& cluster_id, uint64_t expected_last,
      const std::vector<Bytes>& records) override {
    std::vector<ByteView> views(records.begin(), records.end());
    return AppendRecords(cluster_id, expected_last, views);
  }

  absl::StatusOr<std::vector<LogEntry>> Read(const std::string& cluster_id,
                                             uint64_t after, size_t max_entries,
                                             size_t max_bytes) override;
  absl::StatusOr<uint64_t> LastPosition(const std::string& cluster_id) override;
  absl::Status Compact(const std::string& cluster_id, uint64_t up_to) override;
  absl::Status DeleteCluster(const std::string& cluster_id) override;
  absl::Status StartAt(const std::string& cluster_id,
                       uint64_t position) override;
  absl::StatusOr<uint64_t> WaitForPosition(const std::string& cluster_id,
                                           uint64_t after,
                                           absl::Duration timeout) override;

 private:
  absl::StatusOr<uint64_t> AppendRecords(const std::string& cluster_id,
                                         uint64_t expected_last,
                                         absl::Span<const ByteView> records);
  absl::StatusOr<uint64_t> AppendInTxn(const std::string& cluster_id,
                                       uint64_t expected_last,
                                       absl::Span<const ByteView> records)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<LogEntry>> ReadInTxn(const std::string& cluster_id,
                                                  uint64_t after,
                                                  size_t max_entries,
                                                  size_t max_bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CompactInTxn(const std::string& cluster_id, uint64_t up_to)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Meta> GetMeta(const std::string& cluster_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PutMeta(const std::string& cluster_id, const Meta& meta)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Begin(Statement& begin) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits if `body` is OK, else rolls back; returns the first error.
  absl::Status Finish(absl::Status body) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RollbackIfOpen() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MissingEntry(const std::string& cluster_id, uint64_t position,
                            uint64_t last) const;
  // Wakes WaitForPosition callers after a committed change.
  void NotifyChanged();

  // Held for every use of the connection: a transaction is never shared.
  absl::Mutex mu_;
  Connection db_
      ABSL_GUARDED_BY(mu_);  // declared first: outlives the statements
  Statements stmts_ ABSL_GUARDED_BY(mu_);
  const std::string path_;
  const SqliteClusterLogOptions options_;

  // Separate from mu_ so waiters never hold up appenders.
  absl::Mutex watch_mu_;
  absl::CondVar watch_cv_;
  uint64_t generation_ ABSL_GUARDED_BY(watch_mu_) = 0;
};

absl::Status SqliteClusterLog::Begin(Statement& begin) { return begin.Run(); }

void SqliteClusterLog::RollbackIfOpen() {
  // SQLite may already have rolled back (e.g. after an I/O error).
  if (sqlite3_get_autocommit(db_.get()) == 0) {
    stmts_.rollback.Run().IgnoreError();  // closing the txn is all we can do
  }
}

absl::Status SqliteClusterLog::Finish(absl::Status body) {
  if (!body.ok()) {
    RollbackIfOpen();
    return body;
  }
  absl::Status commit = stmts_.commit.Run();
  if (!commit.ok()) RollbackIfOpen();
  return commit;
}

absl::Status SqliteClusterLog::MissingEntry(const std::string& cluster_id,
                                            uint64_t position,
                                            uint64_t last) const {
  return absl::DataLossError(absl::StrCat(
      "cluster ", cluster_id, "'s log in ", path_, " has lost position ",
      position, " of ", last, "; restore the log from a backup"));
}

absl::StatusOr<Meta> SqliteClusterLog::GetMeta(const std::string& cluster_id) {
  Statement& s = stmts_.get_meta;
  ResetOnExit reset(s);
  COFFER_RETURN_IF_ERROR(s.BindText(1, cluster_id));
  COFFER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return Meta{};
  const int64_t last = s.ColumnInt64(0);
  const int64_t compacted = s.ColumnInt64(1);
  // The CHECK constraints hold this for an intact file.
  if (last < 0 || compacted < 0 || compacted > last) {
    return absl::DataLossError(absl::StrCat("the cluster log ", path_,
                                            " has an impossible row for "
                                            "cluster ",
                                            cluster_id,
                                            "; restore it from a backup"));
  }
  return Meta{static_cast<uint64_t>(last), static_cast<uint64_t>(compacted)};
}

absl::Status SqliteClusterLog::PutMeta(const std::string& cluster_id,
                                       const Meta& meta) {
  Statement& s = stmts_.put_meta;
  COFFER_RETURN_IF_ERROR(s.BindText(1, cluster_id));
  COFFER_RETURN_IF_ERROR(s.BindInt64(2, AsSql(meta.last)));
  COFFER_RETURN_IF_ERROR(s.BindInt64(3, AsSql(meta.compacted)));
  return s.Run();
}

absl::StatusOr<uint64_t> SqliteClusterLog::AppendRecords(
    const std::string& cluster_id, uint64_t expected_last,
    absl::Span<const ByteView> records) {
  COFFER_RETURN_IF_ERROR(internal::ValidateClusterId(cluster_id));
  COFFER_RETURN_IF_ERROR(
      internal::ValidatePosition(expected_last, "expected_last"));
  COFFER_RETURN_IF_ERROR(internal::ValidateRecords(records));
  if (records.size() > kMaxPosition - expected_last) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cluster ", cluster_id, " has no positions left"));
  }
  absl::StatusOr<uint64_t> last;
  {
    absl::MutexLock lock(&mu_);
    COFFER_RETURN_IF_ERROR(Begin(stmts_.begin_write));
    last = AppendInTxn(cluster_id, expected_last, records);
    COFFER_RETURN_IF_ERROR(Finish(last.status()));
  }
  NotifyChanged();
  return last;
}

absl::StatusOr<uint64_t> SqliteClusterLog::AppendInTxn(
    const std::string& cluster_id, uint64_t expected_last,
    absl::Span<const ByteView> records) {
  COFFER_ASSIGN_OR_RETURN(Meta meta, GetMeta(cluster_id));
  if (meta.last != expected_last) {
    return absl::AbortedError(absl::StrCat(
        "cluster ", cluster_id, "'s log ends at position ", meta.last, ", not ",
        expected_last,
        ": another writer appended first. Read the new entries and retry"));
  }
  Statement& insert = stmts_.insert_entry;
  for (const ByteView& record : records) {
    ++meta.last;
    ResetOnExit reset(insert);
    COFFER_RETURN_IF_ERROR(insert.BindText(1, cluster_id));
    COFFER_RETURN_IF_ERROR(insert.BindInt64(2, AsSql(meta.last)));
    COFFER_RETURN_IF_ERROR(insert.BindBlob(3, record));
    COFFER_RETURN_IF_ERROR(insert.Run());
  }
  COFFER_RETURN_IF_ERROR(PutMeta(cluster_id, meta));
  // Lets a test fail the append after every write but before the commit.
  COFFER_FAULT_POINT("log.append.before_commit");
  return meta.last;
}

absl::StatusOr<std::vector<LogEntry>> SqliteClusterLog::Read(
    const std::string& cluster_id, uint64_t after, size_t max_entries,
    size_t max_bytes) {
  COFFER_RETURN_IF_ERROR(internal::ValidateClusterId(cluster_id));
  COFFER_RETURN_IF_ERROR(internal::ValidatePosition(after, "after"));
  if (max_entries == 0 || max_bytes == 0) {
    return absl::InvalidArgumentError(
        "max_entries and max_bytes must be at least 1");
  }
  absl::MutexLock lock(&mu_);
  // One read transaction: the compaction check and the rows agree even
  // if another process compacts or appends meanwhile.
  COFFER_RETURN_IF_ERROR(Begin(stmts_.begin_read));
  absl::StatusOr<std::vector<LogEntry>> entries =
      ReadInTxn(cluster_id, after, max_entries, max_bytes);
  COFFER_RETURN_IF_ERROR(Finish(entries.status()));
  return entries;
}

absl::StatusOr<std::vector<LogEntry>> SqliteClusterLog::ReadInTxn(
    const std::string& cluster_id, uint64_t after, size_t max_entries,
    size_t max_bytes) {
  COFFER_ASSIGN_OR_RETURN(Meta meta, GetMeta(cluster_id));
  if (after < meta.compacted) {
    return absl::OutOfRangeError(absl::StrCat(
        "cluster ", cluster_id, "'s log was compacted through position ",
        meta.compacted, "; the first retained position is ", meta.compacted + 1,
        ". Restore a backup taken at position ", meta.compacted,
        " or later, then read after its position"));
  }
  if (after > meta.last) {
    return absl::FailedPreconditionError(
        absl::StrCat("position ", after, " is beyond the end of cluster ",
                     cluster_id, "'s log (", meta.last,
                     "): the reader has state this log does not hold"));
  }
  std::vector<LogEntry> out;
  Statement& s = stmts_.read_entries;
  ResetOnExit reset(s);
  COFFER_RETURN_IF_ERROR(s.BindText(1, cluster_id));
  COFFER_RETURN_IF_ERROR(s.BindInt64(2, AsSql(after)));
  COFFER_RETURN_IF_ERROR(s.BindInt64(3, AsSqlLimit(max_entries)));
  size_t bytes = 0;
  bool page_full = false;
  while (!page_full) {
    COFFER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    const int64_t position = s.ColumnInt64(0);
    ByteView record = s.ColumnBlob(1);
    // Dense positions are the log's invariant: a gap means damage.
    if (position != AsSql(after + out.size() + 1) ||
        static_cast<uint64_t>(position) > meta.last) {
      return MissingEntry(cluster_id, after + out.size() + 1, meta.last);
    }
    if (!out.empty() && record.size() > max_bytes - bytes) {
      page_full = true;
      break;
    }
    bytes += record.size();  // may pass max_bytes for the first entry only
    page_full = bytes >= max_bytes;
    out.push_back(LogEntry{static_cast<uint64_t>(position),
                           Bytes(record.begin(), record.end())});
  }
  // Rows ran out before the limits and before the last position.
  if (!page_full && out.size() < max_entries &&
      after + out.size() < meta.last) {
    return MissingEntry(cluster_id, after + out.size() + 1, meta.last);
  }
  return out;
}

absl::StatusOr<uint64_t> SqliteClusterLog::LastPosition(
    const std::string& cluster_id) {
  COFFER_RETURN_IF_ERROR(internal::ValidateClusterId(cluster_id));
  absl::MutexLock lock(&mu_);
  COFFER_ASSIGN_OR_RETURN(Meta meta, GetMeta(cluster_id));
  return meta.last;
}

absl::Status SqliteClusterLog::Compact(const std::string& cluster_id,
                                       uint64_t up_to) {
  COFFER_RETURN_IF_ERROR(internal::ValidateClusterId(cluster_id));
  COFFER_RETURN_IF_ERROR(internal::ValidatePosition(up_to, "up_to"));
  absl::MutexLock lock(&mu_);
  COFFER_RETURN_IF_ERROR(Begin(stmts_.begin_write));
  return Finish(CompactInTxn(cluster_id, up_to));
}

absl::Status SqliteClusterLog::CompactInTxn(const std::string& cluster_id,
                                            uint64_t up_to) {
  COFFER_ASSIGN_OR_RETURN(Meta meta, GetMeta(cluster_id));
  if (up_to > meta.last) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot compact cluster ", cluster_id, "'s log through position ",
        up_to, ": it ends at ", meta.last));
  }
  if (up_to <= meta.compacted) return absl::OkStatus();
  Statement& s = stmts_.compact;
  COFFER_RETURN_IF_ERROR(s.BindText(1, cluster_id));
  COFFER_RETURN_IF_ERROR(s.BindInt64(2, AsSql(up_to)));
  COFFER_RETURN_IF_ERROR(s.Run());
  meta.compacted = up_to;
  return PutMeta(cluster_id, meta);
}

absl::Status SqliteClusterLog::StartAt(const std::string& cluster_id,
                                       uint64_t position) {
  COFFER_RETURN_IF_ERROR(internal::ValidateClusterId(cluster_id));
  COFFER_RETURN_IF_ERROR(internal::ValidatePosition(position, "position"));
  {
    absl::MutexLock lock(&mu_);
    COFFER_RETURN_IF_ERROR(Begin(stmts_.begin_write));
    auto body = [&]() -> absl::Status {
      COFFER_ASSIGN_OR_RETURN(Meta meta, GetMeta(cluster_id));
      if (meta.last == position) return absl::OkStatus();
      if (meta.last != 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("cluster ", cluster_id, "'s log already ends at ",
                         meta.last, "; it cannot start at ", position));
      }
      return PutMeta(cluster_id, Meta{position, position});
    };
    COFFER_RETURN_IF_ERROR(Finish(body()));
  }
  NotifyChanged();
  return absl::OkStatus();
}

absl::Status SqliteClusterLog::DeleteCluster(const std::string& cluster_id) {
  COFFER_RETURN_IF_ERROR(internal::ValidateClusterId(cluster_id));
  {
    absl::MutexLock lock(&mu_);
    COFFER_RETURN_IF_ERROR(Begin(stmts_.begin_write));
    absl::Status status = stmts_.delete_entries.BindText(1, cluster_id);
    if (status.ok()) status = stmts_.delete_entries.Run();
    if (status.ok()) status = stmts_.delete_meta.BindText(1, cluster_id);
    if (status.ok()) status = stmts_.delete_meta.Run();
    COFFER_RETURN_IF_ERROR(Finish(status));
  }
  NotifyChanged();  // a waiter past the new end should re-check
  return absl::OkStatus();
}

void SqliteClusterLog::NotifyChanged() {
  absl::MutexLock lock(&watch_mu_);
  ++generation_;
  watch_cv_.SignalAll();
}

absl::StatusOr<uint64_t> SqliteClusterLog::WaitForPosition(
    const std::string& cluster_id, uint64_t after, absl::Duration timeout) {
  COFFER_RETURN_IF_ERROR(internal::ValidatePosition(after, "after"));
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    uint64_t seen;
    {
      absl::MutexLock lock(&watch_mu_);
      seen = generation_;
    }
    // Read after noting the generation: a change committed in between
    // bumps it, so the wait below cannot miss it.
    COFFER_ASSIGN_OR_RETURN(uint64_t last, LastPosition(cluster_id));
    const absl::Time now = absl::Now();
    if (last > after || now >= deadline) return last;
    // Other processes' appends signal nothing: wake up to poll for them.
    const absl::Time wake = std::min(deadline, now + options_.poll_interval);
    absl::MutexLock lock(&watch_mu_);
    while (generation_ == seen) {
      if (watch_cv_.WaitWithDeadline(&watch_mu_, wake)) break;  // timed out
    }
  }
}

absl::Status Configure(Connection& db, const SqliteClusterLogOptions& options) {
  db.DistrustSchema();
  sqlite3_busy_timeout(db.get(), options.busy_timeout_ms);
  // Shared (not exclusive) locking: several processes may open the log;
  // WAL lets readers proceed while one writer commits.
  COFFER_RETURN_IF_ERROR(db.EnableWal());
  COFFER_RETURN_IF_ERROR(db.Exec(options.full_sync
                                     ? "PRAGMA synchronous = FULL"
                                     : "PRAGMA synchronous = NORMAL"));
  return db.Exec("PRAGMA cell_size_check = ON");
}

absl::Status CheckSchema(Connection& db, const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(int64_t app_id, db.QueryInt("PRAGMA application_id"));
  if (app_id != kApplicationId) {
    return absl::FailedPreconditionError(
        absl::StrCat(path,
                     " is an SQLite file but not a Coffer cluster log "
                     "(application_id ",
                     app_id, "); refusing to use it"));
  }
  absl::StatusOr<int64_t> version =
      db.QueryInt("SELECT version FROM coffer_log_schema WHERE id = 1");
  if (!version.ok()) {
    return absl::DataLossError(absl::StrCat(
        "the cluster log ", path, " has lost its schema row (",
        version.status().message(), "); restore it from a backup"));
  }
  if (*version != kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the cluster log ", path, " has schema version ", *version,
                     "; this build reads version ", kSchemaVersion,
                     ". Use a Coffer release that supports it"));
  }
  return absl::OkStatus();
}

// Creates the schema in a fresh file or checks an existing one. Only a
// fresh file takes the write lock (busy writers could starve an opener
// for longer than the busy timeout); the count is repeated under the lock
// so two processes creating one file cannot both create.
absl::Status CreateOrCheckSchema(Connection& db, const std::string& path) {
  const std::string count_sql = "SELECT count(*) FROM sqlite_schema";
  COFFER_ASSIGN_OR_RETURN(int64_t tables, db.QueryInt(count_sql));
  if (tables != 0) return CheckSchema(db, path);
  COFFER_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  absl::StatusOr<int64_t> locked_tables = db.QueryInt(count_sql);
  absl::Status status = locked_tables.status();
  if (status.ok() && *locked_tables != 0) {
    status = CheckSchema(db, path);
  } else if (status.ok()) {
    status = db.Exec(kSchemaSql);
    if (status.ok()) {
      status =
          db.Exec(absl::StrCat("PRAGMA application_id = ", kApplicationId));
    }
    if (status.ok()) {
      status = db.Exec(
          absl::StrCat("INSERT INTO coffer_log_schema(id, version) VALUES "
                       "(1, ",
                       kSchemaVersion, ")"));
    }
  }
  if (!status.ok()) {
    if (sqlite3_get_autocommit(db.get()) == 0) {
      db.Exec("ROLLBACK").IgnoreError();  // keep the first error
    }
    return status;
  }
  return db.Exec("COMMIT");
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClusterLog>> OpenSqliteClusterLog(
    const std::string& path, const SqliteClusterLogOptions& options) {
  absl::Status prepared =
      sqlite::PrepareDbFile(path, options.create_if_missing);
  if (absl::IsNotFound(prepared) && !options.create_if_missing) {
    return absl::NotFoundError(absl::StrCat("no cluster log at ", path,
                                            " and create_if_missing is off"));
  }
  COFFER_RETURN_IF_ERROR(prepared);
  COFFER_ASSIGN_OR_RETURN(Connection db, Connection::Open(path, kBusy));
  COFFER_RETURN_IF_ERROR(Configure(db, options));
  COFFER_RETURN_IF_ERROR(CreateOrCheckSchema(db, path));
  COFFER_ASSIGN_OR_RETURN(Statements stmts, PrepareStatements(db));
  return std::make_unique<SqliteClusterLog>(std::move(db), std::move(stmts),
                                            path, options);
}

}  // namespace coffer::log
