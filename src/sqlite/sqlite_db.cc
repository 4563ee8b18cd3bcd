#include "sqlite/sqlite_db.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "base/status.h"

namespace coffer::sqlite {

absl::Status SqliteError(sqlite3* db, int rc, std::string_view what,
                         const BusyMapping& busy) {
  // The connection's message is more specific when it belongs to this code.
  const char* detail = (db != nullptr && sqlite3_errcode(db) == rc)
                           ? sqlite3_errmsg(db)
                           : sqlite3_errstr(rc);
  std::string msg =
      absl::StrCat(std::string(what), ": ", detail, " (SQLite ", rc, ")");
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      if (!busy.hint.empty())
        absl::StrAppend(&msg, "; ", std::string(busy.hint));
      return absl::Status(busy.code, msg);
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

absl::StatusOr<Statement> Statement::Prepare(const Connection& conn,
                                             std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc =
      sqlite3_prepare_v3(conn.get(), sql.data(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return conn.Error(rc, absl::StrCat("preparing \"", std::string(sql), "\""));
  }
  return Statement(conn.get(), stmt, conn.busy());
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      stmt_(std::exchange(other.stmt_, nullptr)),
      busy_(other.busy_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
    busy_ = other.busy_;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

absl::Status Statement::BindBlob(int index, ByteView value) {
  // A null pointer would bind SQL NULL; an empty blob needs a real address.
  static const uint8_t kEmpty = 0;
  const void* data = value.empty() ? &kEmpty : value.data();
  int rc = sqlite3_bind_blob64(stmt_, index, data, value.size(), SQLITE_STATIC);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "binding a blob", busy_);
  return absl::OkStatus();
}

absl::Status Statement::BindText(int index, const std::string& value) {
  int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(),
                               SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "binding text", busy_);
  return absl::OkStatus();
}

absl::Status Statement::BindTextCopy(int index, std::string_view value) {
  int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(),
                               SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "binding text", busy_);
  return absl::OkStatus();
}

absl::Status Statement::BindInt64(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "binding an integer", busy_);
  return absl::OkStatus();
}

absl::StatusOr<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(
      db_, rc, absl::StrCat("running \"", sqlite3_sql(stmt_), "\""), busy_);
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

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

void Statement::Reset() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

absl::StatusOr<Connection> Connection::Open(const std::string& path,
                                            BusyMapping busy) {
  sqlite3* db = nullptr;
  // NOMUTEX: every owner serialises the use of its connection on a mutex.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  Connection conn(db, busy);  // closes `db` on every path, even on failure
  if (rc != SQLITE_OK) return conn.Error(rc, absl::StrCat("opening ", path));
  return conn;
}

Connection::Connection(Connection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), busy_(other.busy_) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    busy_ = other.busy_;
  }
  return *this;
}

Connection::~Connection() { sqlite3_close_v2(db_); }

absl::Status Connection::Error(int rc, std::string_view what) const {
  return SqliteError(db_, rc, what, busy_);
}

void Connection::DistrustSchema() {
  // Both options exist in every SQLite this builds against (>= 3.31); a
  // failure would leave the defaults, which only loosen defence in depth.
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1,
                    static_cast<int*>(nullptr));
  sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
                    static_cast<int*>(nullptr));
}

absl::Status Connection::EnableWal() {
  COFFER_ASSIGN_OR_RETURN(std::string mode,
                          QueryText("PRAGMA journal_mode = WAL"));
  if (mode != "wal") {
    return absl::InternalError(
        absl::StrCat("SQLite refused WAL journal mode (got ", mode, ")"));
  }
  return absl::OkStatus();
}

absl::Status Connection::Exec(const std::string& sql) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, absl::StrCat("running \"", sql, "\""));
  return absl::OkStatus();
}

absl::StatusOr<std::string> Connection::QueryText(const std::string& sql) {
  COFFER_ASSIGN_OR_RETURN(Statement stmt, Statement::Prepare(*this, sql));
  COFFER_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::InternalError(absl::StrCat("no row from ", sql));
  return stmt.ColumnString(0);
}

absl::StatusOr<int64_t> Connection::QueryInt(const std::string& sql) {
  COFFER_ASSIGN_OR_RETURN(Statement stmt, Statement::Prepare(*this, sql));
  COFFER_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::InternalError(absl::StrCat("no row from ", sql));
  return stmt.ColumnInt64(0);
}

absl::Status PrepareDbFile(const std::string& path, bool create) {
  COFFER_RETURN_IF_ERROR(MakeFilePrivate(path, create));
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    absl::Status status =
        MakeFilePrivate(absl::StrCat(path, suffix), /*create=*/false);
    if (!status.ok() && !absl::IsNotFound(status)) return status;
  }
  return absl::OkStatus();
}

}  // namespace coffer::sqlite
