// A thin RAII layer over the SQLite C API for the store: one connection,
// cached prepared statements, SQLite result codes turned into absl::Status.
// Not thread-safe; the store serialises access.
#ifndef COFFER_STORE_INTERNAL_SQLITE_DB_H_
#define COFFER_STORE_INTERNAL_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/bytes.h"

namespace coffer::store::internal {

// Maps a SQLite result code: BUSY/LOCKED, CANTOPEN, READONLY, PERM ->
// FailedPrecondition; FULL -> ResourceExhausted; CORRUPT, NOTADB -> DataLoss;
// anything else -> Internal. `what` says what was being done.
absl::Status SqliteError(sqlite3* db, int rc, std::string_view what);

class Statement {
 public:
  Statement() = default;
  // Prepared once and kept (SQLITE_PREPARE_PERSISTENT).
  static absl::StatusOr<Statement> Prepare(sqlite3* db, std::string_view sql);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based. A blob must stay alive until Reset().
  absl::Status BindBlob(int index, ByteView value);
  absl::Status BindInt64(int index, int64_t value);
  // true: a row is ready; false: done.
  absl::StatusOr<bool> Step();
  // Steps to completion, expecting no rows, then resets.
  absl::Status Run();
  // Valid until the next Step() or Reset().
  ByteView ColumnBlob(int index) const;
  std::string ColumnString(int index) const;
  int64_t ColumnInt64(int index) const;
  // Resets and clears bindings; safe to call at any time.
  void Reset();

 private:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a cached statement when a scope ends, whatever the outcome.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& s) : s_(s) {}
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;
  ~ResetOnExit() { s_.Reset(); }

 private:
  Statement& s_;
};

// Owns a connection; closes it (finalising nothing: statements must go first).
class Connection {
 public:
  // Opens an existing file read-write (no create, no symlink).
  static absl::StatusOr<Connection> Open(const std::string& path);
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  sqlite3* get() const { return db_; }
  // Runs SQL that returns no rows we need (PRAGMA setters, DDL).
  absl::Status Exec(const std::string& sql);
  // Runs a statement that returns one text or integer value in one row.
  absl::StatusOr<std::string> QueryText(const std::string& sql);
  absl::StatusOr<int64_t> QueryInt(const std::string& sql);

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

}  // namespace coffer::store::internal

#endif  // COFFER_STORE_INTERNAL_SQLITE_DB_H_
