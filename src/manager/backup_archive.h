// The manager's backup archive (docs/archive.md, "Archive"). A backup file
// is ciphertext to the manager (the HSM sealed it under its backup keys);
// the archive envelope-encrypts it once more under its region's KMS key and
// stores it in that region's object store, so reading it back needs both
// the region's store and the region's KMS (DESIGN.md, "Key hierarchy and
// backups").
//
// Object key: "backups/<cluster_id>/<backup_id>.cbe" in the store of
// `region`. The envelope's metadata (aad of the data-key wrap and of every
// segment) encodes the whole ArchivedBackup, so an object opened under other
// catalog data (another id, cluster, region, mode or creation time, or
// another backup's object put in its place) fails with DataLoss.
//
// Memory per Writer, Reader or Copy stays within a few MiB whatever the
// backup's size: ObjectStore::Put pulls and Get pushes, so each stream runs
// the store call on a worker thread bridged by a bounded queue. Nothing is
// written outside the object store (no plaintext, no temp files but the
// store's own atomic ones).
//
// Errors: InvalidArgument for an id outside [A-Za-z0-9_-]{1,128} or a bad
// region; NotFound for a missing object, or a region that has no KMS key
// yet (reads never create one); DataLoss for any damage or mismatch; I/O
// and KMS errors otherwise. Thread-safe; each Writer or Reader is used by
// one thread at a time and must not outlive its archive.
#ifndef COFFER_MANAGER_BACKUP_ARCHIVE_H_
#define COFFER_MANAGER_BACKUP_ARCHIVE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "archive/object_store.h"
#include "base/bytes.h"
#include "kms/envelope.h"
#include "kms/kms.h"
#include "manager/types.h"

namespace coffer::manager {

struct ArchivedBackup {  // what the catalog knows; bound as aad
  std::string backup_id, cluster_id, region;
  ClusterMode mode = ClusterMode::kFips;
  int64_t create_time = 0;
  std::string source_backup_id;  // copies only (empty otherwise)
};

// Opens the object store of a region (tests inject failing stores).
using StoreOpener =
    std::function<absl::StatusOr<std::unique_ptr<archive::ObjectStore>>(
        const std::string& region)>;

class BackupArchive {
 public:
  // Embedded default: KMS keyring in DIR/kms, one local directory store per
  // region at DIR/objects/<region>, opened on first use of the region.
  static absl::StatusOr<std::unique_ptr<BackupArchive>> OpenLocal(
      const std::string& dir);
  // Any KMS and stores. `options` sets the envelope segment size.
  static std::unique_ptr<BackupArchive> Create(
      std::unique_ptr<kms::Kms> kms, StoreOpener open_store,
      kms::EnvelopeOptions options = {});

  // Push-style: Write the backup file's bytes in chunks of any size, then
  // Finish() makes the object durable (replacing one of the same backup).
  // After an error every call fails. Destroying a Writer without a
  // successful Finish leaves no object: the store's Put is atomic and only
  // completes after Finish.
  class Writer {
   public:
    virtual ~Writer() = default;
    virtual absl::Status Write(ByteView chunk) = 0;
    virtual absl::Status Finish() = 0;
  };
  // Creates the region's KMS key on its first use.
  absl::StatusOr<std::unique_ptr<Writer>> BeginStore(
      const ArchivedBackup& meta);

  // Pull-style: Next() yields the backup file's bytes, then an empty chunk,
  // which comes only after the envelope's last segment and the object's
  // checksum verified. Chunks before it have each passed their segment's
  // authentication but are provisional until then: an error (DataLoss for
  // any tampering) may still follow. Destroying a Reader midway stops it.
  class Reader {
   public:
    virtual ~Reader() = default;
    virtual absl::StatusOr<Bytes> Next() = 0;
  };
  absl::StatusOr<std::unique_ptr<Reader>> OpenForRead(
      const ArchivedBackup& meta);

  // Re-encrypts `source`'s object under `copy.region`'s key, streaming, as
  // the object of `copy` (kms::Reencrypt). The copy's last segment is
  // written only once the whole source verified, so a damaged source leaves
  // no copy.
  absl::Status Copy(const ArchivedBackup& source, const ArchivedBackup& copy);
  absl::Status Delete(const ArchivedBackup& meta);  // NotFound if absent
  absl::StatusOr<bool> Exists(const ArchivedBackup& meta);

 private:
  BackupArchive(std::unique_ptr<kms::Kms> kms, StoreOpener open_store,
                kms::EnvelopeOptions options);
  // The region's store, opened on first use; with `need_key`, also makes
  // sure the region has a KMS key.
  absl::StatusOr<archive::ObjectStore*> Store(const std::string& region,
                                              bool need_key);

  const std::unique_ptr<kms::Kms> kms_;  // thread-safe itself
  const StoreOpener open_store_;
  const kms::EnvelopeOptions options_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<archive::ObjectStore>> stores_
      ABSL_GUARDED_BY(mu_);
  std::set<std::string> keyed_regions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace coffer::manager

#endif  // COFFER_MANAGER_BACKUP_ARCHIVE_H_
