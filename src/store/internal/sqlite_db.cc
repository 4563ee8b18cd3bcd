#include "store/internal/sqlite_db.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace coffer::store::internal {

absl::Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  // The connection's message is more specific when it belongs to this code.
  const char* detail = (db != nullptr && sqlite3_errcode(db) == rc)
                           ? sqlite3_errmsg(db)
                           : sqlite3_errstr(rc);
  std::string msg =
      absl::StrCat(std::string(what), ": ", detail, " (SQLite ", rc, ")");
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::FailedPreconditionError(msg);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(
          absl::StrCat(msg, "; free disk space and retry"));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::StatusOr<Statement> Statement::Prepare(sqlite3* db,
                                             std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(db, rc,
                       absl::StrCat("preparing \"", std::string(sql), "\""));
  }
  return Statement(db, stmt);
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

absl::Status Statement::BindBlob(int index, ByteView value) {
  // A null pointer would bind SQL NULL; an empty blob needs a real address.
  static const uint8_t kEmpty = 0;
  const void* data = value.empty() ? &kEmpty : value.data();
  int rc = sqlite3_bind_blob64(stmt_, index, data, value.size(), SQLITE_STATIC);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "binding a blob");
  return absl::OkStatus();
}

absl::Status Statement::BindInt64(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "binding an integer");
  return absl::OkStatus();
}

absl::StatusOr<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc,
                     absl::StrCat("running \"", sqlite3_sql(stmt_), "\""));
}

absl::Status Statement::Run() {
  ResetOnExit reset(*this);
  COFFER_ASSIGN_OR_RETURN(bool row, Step());
  if (row) {
    return absl::InternalError(
        absl::StrCat("\"", sqlite3_sql(stmt_), "\" returned a row"));
  }
  return absl::OkStatus();
}

ByteView Statement::ColumnBlob(int index) const {
  const void* data = sqlite3_column_blob(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr || size <= 0) return {};
  return ByteView(static_cast<const uint8_t*>(data), static_cast<size_t>(size));
}

std::string Statement::ColumnString(int index) const {
  ByteView b = ColumnBlob(index);
  return std::string(b.begin(), b.end());
}

int64_t Statement::ColumnInt64(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

void Statement::Reset() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

absl::StatusOr<Connection> Connection::Open(const std::string& path) {
  sqlite3* db = nullptr;
  // NOMUTEX: the store serialises every call on its own mutex.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  Connection conn(db);  // closes `db` on every path, even on failure
  if (rc != SQLITE_OK) {
    return SqliteError(db, rc, absl::StrCat("opening ", path));
  }
  return conn;
}

Connection::Connection(Connection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Connection::~Connection() { sqlite3_close_v2(db_); }

absl::Status Connection::Exec(const std::string& sql) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return SqliteError(db_, rc, absl::StrCat("running \"", sql, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Connection::QueryText(const std::string& sql) {
  COFFER_ASSIGN_OR_RETURN(Statement stmt, Statement::Prepare(db_, sql));
  COFFER_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::InternalError(absl::StrCat("no row from ", sql));
  return stmt.ColumnString(0);
}

absl::StatusOr<int64_t> Connection::QueryInt(const std::string& sql) {
  COFFER_ASSIGN_OR_RETURN(Statement stmt, Statement::Prepare(db_, sql));
  COFFER_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::InternalError(absl::StrCat("no row from ", sql));
  return stmt.ColumnInt64(0);
}

}  // namespace coffer::store::internal
