// Helpers shared by the store's tests: a temporary directory per test, raw
// SQLite access to play the attacker, seeds, payload builders.
#ifndef COFFER_STORE_STORE_TEST_UTIL_H_
#define COFFER_STORE_STORE_TEST_UTIL_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/secret_bytes.h"
#include "store/sealed_store.h"

namespace coffer::store::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its content when
// destroyed.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// $COFFER_TEST_SEED if set, else a random seed. Tests print it on failure.
uint64_t TestSeed();

crypto::SecretBytes Secret(std::string_view s);
std::string AsString(const crypto::SecretBytes& s);
RecordWrite Put(std::string kind, std::string id, std::string_view payload);
RecordWrite Erase(std::string kind, std::string id);

// Opens a store that must open; fails the test (and returns null) otherwise.
std::unique_ptr<SealedStore> MustOpen(const std::string& path,
                                      const crypto::SecretBytes& key,
                                      const SqliteStoreOptions& options = {});

// The attacker's view: a plain SQLite connection to a closed store's file.
class RawDb {
 public:
  explicit RawDb(const std::string& path);
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  ~RawDb();
  void Exec(const std::string& sql);
  // First column of the first row as bytes (empty if no row).
  Bytes Blob(const std::string& sql);
  int64_t Int(const std::string& sql);
  // Runs `sql` with ?1 bound to `blob`.
  void ExecWithBlob(const std::string& sql, ByteView blob);

 private:
  sqlite3* db_ = nullptr;
};

// Reads a whole file (empty if it does not exist).
Bytes ReadFileBytes(const std::string& path);
// Names of the regular files in `dir`.
std::vector<std::string> ListFiles(const std::string& dir);
bool Contains(ByteView haystack, ByteView needle);

}  // namespace coffer::store::testing

#endif  // COFFER_STORE_STORE_TEST_UTIL_H_
