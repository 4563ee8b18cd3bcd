// Reading a backup without any secret: structure, frame order, record
// counts, the transcript and the source HSM's signature. A restore runs the
// same reader and decrypts records through its hooks; `coffer backup
// verify` and `inspect` use it alone.
//
// Errors (sticky: after one, every call returns it):
//   InvalidArgument  not a Coffer backup, or a malformed header
//   Unimplemented    a format version this build does not read
//   DataLoss         frames out of order, missing, duplicated, extra or
//                    oversized; counts that do not match; a signature that
//                    does not verify; a stream that ends early ("truncated")
#ifndef COFFER_BACKUP_READER_H_
#define COFFER_BACKUP_READER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "backup/format.h"
#include "base/bytes.h"

namespace coffer::backup {

struct BackupSummary {
  BackupHeader header;
  uint64_t records = 0;        // RECORD frames
  uint64_t size_bytes = 0;     // the whole stream
  std::string device_subject;  // the signing device certificate's CN
  bool chain_checked = false;  // chained to a manufacturer CA we were given
};

class BackupReader {
 public:
  struct Hooks {
    // After the header is read, before any record.
    std::function<absl::Status(const BackupHeader&)> on_header;
    // Each RECORD body (the KWP ciphertext), in order.
    std::function<absl::Status(ByteView wrapped)> on_record;
    // The SEAL body, with what it must contain: the number of records and
    // the transcript digest up to the last record.
    std::function<absl::Status(ByteView wrapped, uint64_t records,
                               ByteView digest)>
        on_seal;
  };

  BackupReader();
  explicit BackupReader(Hooks hooks);
  BackupReader(BackupReader&&) noexcept;
  BackupReader& operator=(BackupReader&&) noexcept;
  ~BackupReader();

  // Consumes the next bytes of the stream, in any chunking.
  absl::Status Feed(ByteView chunk);
  // The stream has ended: DataLoss "truncated" unless the signature frame
  // arrived and verified.
  absl::StatusOr<BackupSummary> Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Reads a whole backup through `read` (returns the next chunk; empty at the
// end) and checks it. If `manufacturer_ca_pem` is non-empty, the device
// certificate must have chained to it when the backup was made (a backup
// outlives the certificate) and the creation time must not be more than a
// day after `now` (FailedPrecondition otherwise).
using ChunkSource = std::function<absl::StatusOr<Bytes>()>;
absl::StatusOr<BackupSummary> VerifyBackup(const ChunkSource& read,
                                           std::string_view manufacturer_ca_pem,
                                           int64_t now);

}  // namespace coffer::backup

#endif  // COFFER_BACKUP_READER_H_
