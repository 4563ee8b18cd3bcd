#include "store/internal/sqlite_open.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace coffer::store::internal {

using sqlite::Connection;
using sqlite::Statement;

namespace {

constexpr char kSchemaSql[] = R"sql(
CREATE TABLE coffer_schema(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL);
CREATE TABLE manifest(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  sealed BLOB NOT NULL);
CREATE TABLE records(
  kind BLOB NOT NULL,
  id BLOB NOT NULL,
  version INTEGER NOT NULL,
  generation INTEGER NOT NULL,
  sealed BLOB NOT NULL,
  PRIMARY KEY (kind, id)) WITHOUT ROWID;
)sql";

absl::Status PrepareFiles(const std::string& path, bool create_if_missing) {
  absl::Status status = sqlite::PrepareDbFile(path, create_if_missing);
  if (absl::IsNotFound(status) && !create_if_missing) {
    return absl::NotFoundError(
        absl::StrCat("no store at ", path, " and create_if_missing is off"));
  }
  return status;
}

absl::Status Configure(Connection& conn, const SqliteStoreOptions& options) {
  conn.DistrustSchema();
  sqlite3_busy_timeout(conn.get(), options.busy_timeout_ms);
  // EXCLUSIVE before WAL: the WAL index then lives in heap memory (no -shm)
  // and the file stays locked until the connection closes.
  COFFER_RETURN_IF_ERROR(conn.Exec("PRAGMA locking_mode = EXCLUSIVE"));
  COFFER_RETURN_IF_ERROR(conn.EnableWal());
  COFFER_RETURN_IF_ERROR(conn.Exec(options.sync == SyncMode::kFull
                                       ? "PRAGMA synchronous = FULL"
                                       : "PRAGMA synchronous = NORMAL"));
  COFFER_RETURN_IF_ERROR(conn.Exec("PRAGMA temp_store = MEMORY"));
  COFFER_RETURN_IF_ERROR(conn.Exec("PRAGMA secure_delete = ON"));
  return conn.Exec("PRAGMA cell_size_check = ON");
}

absl::Status CreateSchema(Connection& conn, const RecordSealer& sealer) {
  COFFER_RETURN_IF_ERROR(conn.Exec(kSchemaSql));
  COFFER_RETURN_IF_ERROR(
      conn.Exec(absl::StrCat("PRAGMA application_id = ", kApplicationId)));
  COFFER_RETURN_IF_ERROR(
      conn.Exec(absl::StrCat("INSERT INTO coffer_schema(id, version) VALUES "
                             "(1, ",
                             kSchemaVersion, ")")));
  COFFER_ASSIGN_OR_RETURN(Bytes sealed, sealer.SealManifest(Manifest{}));
  COFFER_ASSIGN_OR_RETURN(Statement put,
                          Statement::Prepare(conn, kPutManifestSql));
  COFFER_RETURN_IF_ERROR(put.BindBlob(1, sealed));
  return put.Run();
}

absl::StatusOr<Manifest> ReadManifest(Connection& conn,
                                      const RecordSealer& sealer,
                                      const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(int64_t app_id,
                          conn.QueryInt("PRAGMA application_id"));
  if (app_id != kApplicationId) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " is an SQLite file but not a Coffer store (application_id ",
        app_id, "); refusing to use it"));
  }
  absl::StatusOr<int64_t> version =
      conn.QueryInt("SELECT version FROM coffer_schema WHERE id = 1");
  if (version.ok() && *version != kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the store ", path, " has schema version ", *version,
                     "; this build reads version ", kSchemaVersion,
                     ". Use a Coffer release that supports it"));
  }
  absl::StatusOr<Statement> select =
      Statement::Prepare(conn, "SELECT sealed FROM manifest WHERE id = 1");
  absl::StatusOr<bool> row =
      select.ok() ? select->Step() : absl::StatusOr<bool>(select.status());
  if (!version.ok() || !row.ok() || !*row) {
    return absl::DataLossError(absl::StrCat(
        "the store ", path,
        " has lost its schema or manifest: the file was modified. Restore "
        "from a backup"));
  }
  return sealer.OpenManifest(select->ColumnBlob(0));
}

absl::StatusOr<Manifest> ConfigureAndLoad(Connection& conn,
                                          const RecordSealer& sealer,
                                          const SqliteStoreOptions& options,
                                          const std::string& path) {
  COFFER_RETURN_IF_ERROR(Configure(conn, options));
  // A write transaction: takes the exclusive lock now, not at first commit.
  COFFER_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
  COFFER_ASSIGN_OR_RETURN(int64_t tables,
                          conn.QueryInt("SELECT count(*) FROM sqlite_schema"));
  Manifest manifest;
  if (tables == 0) {
    if (!options.create_if_missing) {
      return absl::NotFoundError(absl::StrCat(
          path, " holds no Coffer store and create_if_missing is off"));
    }
    COFFER_RETURN_IF_ERROR(CreateSchema(conn, sealer));
  } else {
    COFFER_ASSIGN_OR_RETURN(manifest, ReadManifest(conn, sealer, path));
  }
  COFFER_RETURN_IF_ERROR(conn.Exec("COMMIT"));
  return manifest;
}

}  // namespace

absl::StatusOr<OpenedDb> OpenStoreDb(const std::string& path,
                                     const RecordSealer& sealer,
                                     const SqliteStoreOptions& options) {
  COFFER_RETURN_IF_ERROR(PrepareFiles(path, options.create_if_missing));
  // A held lock means another HSM owns the file: retrying will not help.
  COFFER_ASSIGN_OR_RETURN(
      Connection conn,
      Connection::Open(path, sqlite::BusyMapping{
                                 absl::StatusCode::kFailedPrecondition, ""}));
  absl::StatusOr<Manifest> manifest =
      ConfigureAndLoad(conn, sealer, options, path);
  if (!manifest.ok()) {
    const int rc = sqlite3_errcode(conn.get()) & 0xff;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the store ", path,
          " is in use by another process or connection (its lock is held); "
          "only one coffer-hsm may use a data directory at a time"));
    }
    return manifest.status();  // closing `conn` rolls back
  }
  return OpenedDb{std::move(conn), *manifest};
}

absl::Status QuickCheck(Connection& conn, const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(std::string result,
                          conn.QueryText("PRAGMA quick_check(1)"));
  if (result != "ok") {
    return absl::DataLossError(
        absl::StrCat("the store ", path, " failed SQLite's integrity check (",
                     result, "). Restore from a backup"));
  }
  return absl::OkStatus();
}

}  // namespace coffer::store::internal
