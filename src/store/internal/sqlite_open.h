// Opening the store's SQLite file: permissions, pragmas, exclusive lock,
// schema creation or check, manifest authentication. Used by
// sqlite_store.cc only.
#ifndef COFFER_STORE_INTERNAL_SQLITE_OPEN_H_
#define COFFER_STORE_INTERNAL_SQLITE_OPEN_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sqlite/sqlite_db.h"
#include "store/internal/record_seal.h"
#include "store/sealed_store.h"

namespace coffer::store::internal {

inline constexpr int64_t kSchemaVersion = 1;
inline constexpr int64_t kApplicationId = 0x43465354;  // "CFST"
inline constexpr const char* kPutManifestSql =
    "INSERT INTO manifest(id, sealed) VALUES (1, ?1) "
    "ON CONFLICT(id) DO UPDATE SET sealed = excluded.sealed";

struct OpenedDb {
  sqlite::Connection conn;
  Manifest manifest;  // authenticated
};

// See OpenSqliteSealedStore() in sealed_store.h for the errors.
absl::StatusOr<OpenedDb> OpenStoreDb(const std::string& path,
                                     const RecordSealer& sealer,
                                     const SqliteStoreOptions& options);

// PRAGMA quick_check: DataLoss naming the first problem if the b-trees are
// damaged.
absl::Status QuickCheck(sqlite::Connection& conn, const std::string& path);

}  // namespace coffer::store::internal

#endif  // COFFER_STORE_INTERNAL_SQLITE_OPEN_H_
