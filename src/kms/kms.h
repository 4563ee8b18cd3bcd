// Regional envelope keys: the key-encryption keys (KEKs) under which the
// manager wraps the per-object data keys of archived backups
// (docs/archive.md). A region holds one or more KEKs over time; the newest is
// current and wraps new data keys, older ones still unwrap what they wrapped.
//
// Key ids name their region: "<region>/<16 lower-case hex digits>", the way
// a cloud KMS key ARN names its region. A wrapped blob names its key id, so
// unwrapping needs no hint beyond the region.
//
// Errors, for every implementation:
//   InvalidArgument  a region name outside [a-z0-9-]{1,32}, an empty or
//                    over-long (> kMaxDataKeySize) data key.
//   NotFound         a region that has no key yet, or a key id (of the
//                    right region) the KMS does not hold.
//   DataLoss         a wrapped blob that is malformed or tampered with, was
//                    wrapped for another region, or under another aad.
//                    Nothing is released then.
//   other codes      I/O or KMS failures; the outcome of CreateKey is then
//                    unknown (a retry at worst creates one more key).
// Implementations are thread-safe.
#ifndef COFFER_KMS_KMS_H_
#define COFFER_KMS_KMS_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/secret_bytes.h"

namespace coffer::kms {

inline constexpr size_t kMaxRegionSize = 32;
inline constexpr size_t kMaxDataKeySize = 1024;

// OK for names matching [a-z0-9-]{1,32}; InvalidArgument otherwise.
absl::Status ValidateRegion(std::string_view region);

class Kms {
 public:
  virtual ~Kms() = default;

  // Creates a fresh KEK in `region` (the region springs into existence with
  // its first key), makes it current and returns its id.
  virtual absl::StatusOr<std::string> CreateKey(const std::string& region) = 0;

  // The id of the key WrapDataKey uses now. NotFound if the region has none.
  virtual absl::StatusOr<std::string> CurrentKeyId(
      const std::string& region) = 0;

  // Wraps `data_key` under the region's current key, bound to `region`, the
  // key id and `aad` (any length, not secret). The blob is public.
  virtual absl::StatusOr<Bytes> WrapDataKey(const std::string& region,
                                            const crypto::SecretBytes& data_key,
                                            ByteView aad) = 0;

  // Inverse of WrapDataKey with the same region and aad.
  virtual absl::StatusOr<crypto::SecretBytes> UnwrapDataKey(
      const std::string& region, ByteView wrapped, ByteView aad) = 0;
};

// The embedded default: a keyring directory on the local machine, one file
// per region ("<region>.keyring", mode 0600, directory mode 0700) holding
// that region's 256-bit KEKs in a small checksummed format, replaced
// atomically (temp file, fsync, rename, fsync of the directory) on CreateKey.
//
// NOT A REAL KMS. The key files are plaintext at rest, protected only by
// file permissions and the host's disk encryption, exactly like an HSM's
// device.key: anyone who can read the directory can unwrap every archived
// backup envelope (the backups inside stay encrypted by the HSMs). It is a
// development and single-machine stand-in. A production deployment puts an
// external KMS (cloud KMS, Vault transit, a PKCS#11 HSM) behind the same Kms
// interface: keys never leave it, WrapDataKey/UnwrapDataKey become its
// Encrypt/Decrypt calls with `aad` as the encryption context, and regions
// map to its key rings (docs/archive.md lists the requirements).
//
// A wrapped blob is AES-256-GCM with a random 96-bit IV; the GCM associated
// data binds a versioned encoding of region, key id and the caller's aad
// (layout in docs/archive.md). One process owns the directory at a time
// (an flock on "<dir>/.lock"; FailedPrecondition if another holds it).
// Temp files a crash left behind are removed on open. A key file that fails
// its checksum makes that region's calls fail with DataLoss.
absl::StatusOr<std::unique_ptr<Kms>> OpenLocalKeyring(const std::string& dir);

}  // namespace coffer::kms

#endif  // COFFER_KMS_KMS_H_
