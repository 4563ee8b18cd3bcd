// What the backup format (src/backup) needs from inside an HSM, and no more:
// the key hierarchy's derivation, a consistent snapshot of the cluster-scope
// records, and a staged restore that replaces them atomically. The MKBK,
// AKBK and PBK never leave this module; the EBK does, to src/backup, which
// runs in the same process and keeps it in SecretBytes.
//
// Key hierarchy (docs/backup-format.md has the rationale and test vectors):
//   PBK = KBKDF-CTR-HMAC-SHA256(K_IN = MKBK || AKBK, label = kPbkLabel,
//                               context = manufacturer id, L = 256)
//   EBK = 32 fresh random bytes per backup, travelling as KW(PBK, EBK).
#ifndef COFFER_HSM_HSM_BACKUP_H_
#define COFFER_HSM_HSM_BACKUP_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/secret_bytes.h"
#include "hsm/types.h"

namespace coffer::hsm {

inline constexpr char kPbkLabel[] = "coffer persistent backup key v1";
inline constexpr size_t kBackupKeySize = 32;  // PBK and EBK: AES-256

// The PBK for a manufacturer's MKBK and a service's AKBK (32 bytes each).
// Pure, so test vectors can reproduce it; inside an HSM it is called only
// by the snapshot and the restore below.
absl::StatusOr<crypto::SecretBytes> DerivePbk(const crypto::SecretBytes& mkbk,
                                              const crypto::SecretBytes& akbk,
                                              std::string_view manufacturer_id);

// Who made a backup, of what, under which keys: the header's public facts.
struct BackupOrigin {
  std::string cluster_id;
  std::string serial;  // the source HSM
  std::string manufacturer_id;
  std::string firmware_version;
  Mode mode = Mode::kNonFips;
  uint64_t log_position = 0;
  std::string service_kcv;  // the AKBK's key check value (public)
  Bytes device_cert_der;    // the source HSM's, issued by its manufacturer
};

// Records per kind in a backup (record kinds: hsm/records.h).
struct BackupCounts {
  uint64_t cluster = 0, policy = 0, users = 0, objects = 0;
  uint64_t total() const { return cluster + policy + users + objects; }
};

using RecordVisitor =
    std::function<absl::Status(std::string_view kind, std::string_view id,
                               const crypto::SecretBytes& payload)>;

// A consistent view of the cluster-scope state. It holds the HSM's reader
// lock while it lives: crypto operations go on, mutations wait, so keep it
// only for the length of one backup.
class BackupSnapshot {
 public:
  virtual ~BackupSnapshot() = default;
  virtual const BackupOrigin& origin() const = 0;
  virtual BackupCounts counts() const = 0;
  // Visits every record in backup order: cluster, policy, users by name,
  // objects by handle; stops at the first error `fn` returns.
  virtual absl::Status ForEachRecord(const RecordVisitor& fn) const = 0;
  // KW(PBK, ebk), 40 bytes; the PBK is derived for the call and wiped.
  virtual absl::StatusOr<Bytes> WrapEbk(
      const crypto::SecretBytes& ebk) const = 0;
  // An ECDSA signature (DER) with the device key over a SHA-384 digest.
  virtual absl::StatusOr<Bytes> SignDigest(ByteView sha384) const = 0;
};

// A restore in progress: records are checked and staged as they arrive;
// nothing changes until Commit(), which replaces the whole cluster-scope
// state, ends every session and clears TAMPERED in one durable step (a
// crash leaves the old state or the new one). Destroying it uncommitted
// discards the staged records. Not thread-safe.
class RestoreSession {
 public:
  virtual ~RestoreSession() = default;
  // The backup's EBK, unwrapped under this HSM's PBK.
  virtual const crypto::SecretBytes& ebk() const = 0;
  // InvalidArgument for a malformed record, a kind a backup may not carry
  // or a (kind, id) given twice.
  virtual absl::Status Add(std::string_view kind, std::string_view id,
                           crypto::SecretBytes payload) = 0;
  // FailedPrecondition if the staged records are not a whole cluster state
  // (no cluster identity, counts differ) or the HSM changed state meanwhile.
  virtual absl::Status Commit(const BackupCounts& expected) = 0;
};

}  // namespace coffer::hsm

#endif  // COFFER_HSM_HSM_BACKUP_H_
