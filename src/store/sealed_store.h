// The HSM's durable state: records sealed (AES-256-GCM) under a key only
// this device holds, each bound to its kind, id, version and the commit that
// wrote it, plus a sealed manifest that detects rows deleted or rolled back
// behind the store's back. The store never interprets payloads. On-disk
// format and threat model: docs/state-store.md.
//
// Errors: InvalidArgument (bad kind/id/payload/key), NotFound (deleting a
// record that does not exist), DataLoss (authentication or integrity failed:
// tampering, corruption or a wrong key; messages name kind/id, never payload
// bytes), FailedPrecondition (store in use by another opener, not a Coffer
// store, newer schema, or unusable after an earlier failure), ResourceExhausted
// (disk full), Internal (other SQLite/crypto failures). A failed Commit or
// ReplaceAll changes nothing, except Unknown: SQLite's COMMIT itself failed,
// the batch may or may not be on disk, and the store refuses further calls
// until reopened (then LoadAll tells). Implementations are thread-safe.
#ifndef COFFER_STORE_SEALED_STORE_H_
#define COFFER_STORE_SEALED_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"

namespace coffer::store {

// kind and id: 1..kMaxNameSize arbitrary bytes; stored in the clear, so they
// must not be secret. Payload: 0..kMaxPayloadSize bytes, always encrypted.
inline constexpr size_t kMaxNameSize = 1024;
inline constexpr size_t kMaxPayloadSize = size_t{16} << 20;
inline constexpr size_t kStorageKeySize = 32;

struct StoredRecord {
  std::string kind;
  std::string id;
  uint64_t version;
  crypto::SecretBytes payload;
};

struct RecordWrite {
  std::string kind;
  std::string id;
  std::optional<crypto::SecretBytes> payload;  // nullopt = delete
};

class SealedStore {
 public:
  virtual ~SealedStore() = default;
  // Reads and authenticates every record; sorted by (kind, id) bytewise.
  // DataLoss naming kind/id if a record fails authentication or its row does
  // not match its seal; DataLoss "records missing or rolled back" if the set
  // of (kind, id, version) does not match the manifest.
  virtual absl::StatusOr<std::vector<StoredRecord>> LoadAll() = 0;
  // Applies all writes in one transaction, durable when it returns OK.
  // Version = previous + 1 (1 for a new record); returns the new versions in
  // the order of `writes` (a delete reports previous + 1). Empty
  // `writes` is a no-op. InvalidArgument if a (kind, id) appears twice;
  // NotFound if a delete names a missing record.
  virtual absl::StatusOr<std::vector<uint64_t>> Commit(
      std::vector<RecordWrite> writes) = 0;
  // Replaces the whole content in one transaction: every old record gone,
  // the given ones written at version 1 (each needs a payload).
  virtual absl::Status ReplaceAll(std::vector<RecordWrite> records) = 0;
  // The same, pulling the records one at a time from `next` (nullopt after
  // the last), so the caller never holds them all encoded at once. An
  // error from `next` aborts it with nothing changed. InvalidArgument if a
  // (kind, id) comes twice.
  using RecordSource =
      std::function<absl::StatusOr<std::optional<RecordWrite>>()>;
  virtual absl::Status ReplaceAllFrom(const RecordSource& next) = 0;
  // 0 for a new store, +1 per successful non-empty Commit and ReplaceAll.
  // Compare with an external monotonic counter to detect a rollback of the
  // whole file, which the file alone cannot reveal. Fakes may keep 0.
  virtual uint64_t generation() const { return 0; }
};

enum class SyncMode { kFull, kNormal };  // SQLite PRAGMA synchronous

struct SqliteStoreOptions {
  // kFull: a commit is on disk when Commit returns (power-loss safe).
  // kNormal: survives a process crash, may lose the last commits on power
  // loss. Only benchmarks should change it.
  SyncMode sync = SyncMode::kFull;
  bool create_if_missing = true;  // else NotFound for a missing file
  int busy_timeout_ms = 1000;     // wait this long for a lock, then fail
};

// Opens (creating if allowed) the store at `path` (mode 0600, plus
// `path`-wal while open) and authenticates its manifest. `storage_key`: 32
// bytes. FailedPrecondition if another connection (this or another process)
// has the store open; DataLoss if the manifest fails (wrong key, tampering).
absl::StatusOr<std::unique_ptr<SealedStore>> OpenSqliteSealedStore(
    const std::string& path, crypto::SecretBytes storage_key,
    const SqliteStoreOptions& options = {});

}  // namespace coffer::store

#endif  // COFFER_STORE_SEALED_STORE_H_
