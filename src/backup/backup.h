// Making and restoring backups inside an HSM (format: format.h and
// docs/backup-format.md). Both stream: creation emits the backup in chunks
// of bounded size while it walks the snapshot; a restore consumes chunks,
// decrypts and stages each record, and commits only after the seal and the
// device signature have verified, so memory for the stream stays flat (the
// staged state itself is as large as the state it replaces).
//
// Record wrapping runs on `threads` threads; the output does not depend on
// it.
#ifndef COFFER_BACKUP_BACKUP_H_
#define COFFER_BACKUP_BACKUP_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "backup/format.h"
#include "backup/reader.h"
#include "crypto/random.h"
#include "hsm/hsm.h"

namespace coffer::backup {

using ByteSink = std::function<absl::Status(ByteView chunk)>;

struct CreateOptions {
  // Backup id, then EBK, are drawn from here. Tests and the published
  // vectors inject fixed values; everything else uses the system DRBG.
  crypto::RandomSource* random = nullptr;
  std::function<int64_t()> now;  // Unix seconds; default: the system clock
  int threads = 2;
};

// Writes a backup of `snapshot` to `sink` in chunks of at most
// kMaxChunkSize bytes. Returns its header. Errors from `sink` end it.
inline constexpr size_t kMaxChunkSize = size_t{256} << 10;
absl::StatusOr<BackupHeader> CreateBackup(const hsm::BackupSnapshot& snapshot,
                                          const ByteSink& sink,
                                          const CreateOptions& options = {});

// A restore fed chunk by chunk (the wire API's streamed restore). Errors
// are those of BackupReader, of Hsm::BeginRestore and RestoreSession, and
// DataLoss for a record or seal that does not decrypt or match. Any error
// leaves the HSM exactly as it was.
class Restorer {
 public:
  Restorer(hsm::Hsm& hsm, const hsm::Caller* caller, int threads = 2);
  ~Restorer();
  absl::Status Feed(ByteView chunk);
  // Verifies the end of the stream and commits the restore.
  absl::StatusOr<BackupSummary> Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Reads all of `read` into a Restorer and finishes it.
absl::StatusOr<BackupSummary> RestoreBackup(hsm::Hsm& hsm,
                                            const ChunkSource& read,
                                            const hsm::Caller* caller);

}  // namespace coffer::backup

#endif  // COFFER_BACKUP_BACKUP_H_
