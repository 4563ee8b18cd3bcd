// A thin RAII layer over the SQLite C API: one connection, prepared
// statements, SQLite result codes turned into absl::Status, and the file
// preparation every Coffer database gets (mode 0600, no symlinks). Shared by
// the HSM's sealed store (src/store) and the cluster log (src/log); each
// keeps its own SQL, pragmas and locking policy.
//
// Not thread-safe: a Connection and its Statements are used by one thread
// at a time (callers serialise on their own mutex; connections are opened
// with SQLITE_OPEN_NOMUTEX).
#ifndef COFFER_SQLITE_SQLITE_DB_H_
#define COFFER_SQLITE_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/bytes.h"

namespace coffer::sqlite {

// What SQLITE_BUSY and SQLITE_LOCKED (a lock held elsewhere) become. The
// only place the owners differ: a file one process holds exclusively (the
// store) reports FailedPrecondition, since retrying will not help; a file
// shared by design (the log) reports Unavailable, since a retry will.
struct BusyMapping {
  absl::StatusCode code = absl::StatusCode::kFailedPrecondition;
  // Appended to the message as "; <hint>" unless empty. Must outlive every
  // Connection and Statement using it (a string literal).
  std::string_view hint;
};

// Maps a SQLite result code (primary or extended): BUSY/LOCKED -> `busy`;
// CANTOPEN, READONLY, PERM -> FailedPrecondition; FULL -> ResourceExhausted;
// CORRUPT, NOTADB -> DataLoss; anything else -> Internal. The message is
// "<what>: <SQLite's message> (SQLite <rc>)".
absl::Status SqliteError(sqlite3* db, int rc, std::string_view what,
                         const BusyMapping& busy);

class Connection;

class Statement {
 public:
  Statement() = default;
  // Prepared once and kept (SQLITE_PREPARE_PERSISTENT). Errors map with the
  // connection's BusyMapping.
  static absl::StatusOr<Statement> Prepare(const Connection& conn,
                                           std::string_view sql);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based. Values are not copied: a blob or text must stay
  // alive until Reset(). An empty blob binds an empty blob, not NULL.
  absl::Status BindBlob(int index, ByteView value);
  absl::Status BindText(int index, const std::string& value);
  // A temporary would dangle before Step() reads it.
  absl::Status BindText(int index, std::string&& value) = delete;
  // Copies the text (SQLITE_TRANSIENT), for callers binding short-lived
  // values in one-off statements.
  absl::Status BindTextCopy(int index, std::string_view value);
  absl::Status BindInt64(int index, int64_t value);
  // true: a row is ready; false: done.
  absl::StatusOr<bool> Step();
  // Steps once expecting no row (Internal if one comes), then resets.
  absl::Status Run();
  // Valid until the next Step() or Reset(). NULL reads as empty / 0.
  ByteView ColumnBlob(int index) const;
  std::string ColumnString(int index) const;
  int64_t ColumnInt64(int index) const;
  bool ColumnIsNull(int index) const;
  // Resets and clears bindings; cheap, safe at any time.
  void Reset();

 private:
  Statement(sqlite3* db, sqlite3_stmt* stmt, BusyMapping busy)
      : db_(db), stmt_(stmt), busy_(busy) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  BusyMapping busy_;
};

// Resets a cached statement when a scope ends, whatever the outcome, so it
// never keeps a read transaction open or a bound blob referenced.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& s) : s_(s) {}
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;
  ~ResetOnExit() { s_.Reset(); }

 private:
  Statement& s_;
};

// Owns a connection. Statements must be destroyed before it.
class Connection {
 public:
  // Opens an existing file read-write: never creates it (PrepareDbFile
  // does, with the right mode) and never follows a symlink.
  static absl::StatusOr<Connection> Open(const std::string& path,
                                         BusyMapping busy);
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  sqlite3* get() const { return db_; }
  const BusyMapping& busy() const { return busy_; }
  // SqliteError with this connection's message and BusyMapping.
  absl::Status Error(int rc, std::string_view what) const;

  // A file an attacker may have modified can carry triggers or views: never
  // let its schema call functions, and refuse SQL that could corrupt it
  // (SQLITE_DBCONFIG_DEFENSIVE on, SQLITE_DBCONFIG_TRUSTED_SCHEMA off).
  void DistrustSchema();
  // PRAGMA journal_mode = WAL; Internal if SQLite answers another mode.
  absl::Status EnableWal();

  // Runs SQL that returns no rows we need (PRAGMA setters, DDL).
  absl::Status Exec(const std::string& sql);
  // One value from the first row of `sql`; Internal if there is no row.
  absl::StatusOr<std::string> QueryText(const std::string& sql);
  absl::StatusOr<int64_t> QueryInt(const std::string& sql);

 private:
  Connection(sqlite3* db, BusyMapping busy) : db_(db), busy_(busy) {}
  sqlite3* db_ = nullptr;
  BusyMapping busy_;
};

// Readies `path` for Connection::Open: creates it (mode 0600, directory
// entry synced) if `create` and it is missing, and restricts it and any
// -wal/-shm/-journal companions an earlier run left to mode 0600 (SQLite
// gives new companions the database's mode; old ones may differ). Never
// follows a symlink. NotFound if missing and !create; FailedPrecondition for
// a symlink or a non-regular file; errors name the path.
absl::Status PrepareDbFile(const std::string& path, bool create);

}  // namespace coffer::sqlite

#endif  // COFFER_SQLITE_SQLITE_DB_H_
