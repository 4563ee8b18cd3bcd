// The store's cryptographic formats (docs/state-store.md): subkeys derived
// from the storage key, a record's associated data, the keyed set digest over
// every (kind, id, version, generation) and the sealed manifest. No SQLite
// here, so the formats can be tested byte by byte. Immutable, thread-safe.
#ifndef COFFER_STORE_INTERNAL_RECORD_SEAL_H_
#define COFFER_STORE_INTERNAL_RECORD_SEAL_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/aead.h"
#include "crypto/mac.h"
#include "crypto/secret_bytes.h"

namespace coffer::store::internal {

inline constexpr std::string_view kRecordContext = "coffer.store.record.v1";
inline constexpr std::string_view kManifestContext = "coffer.store.manifest.v1";
inline constexpr std::string_view kKdfLabel = "coffer.store";
inline constexpr std::string_view kRecordKeyContext = "record-key.v1";
inline constexpr std::string_view kSetKeyContext = "set-key.v1";
inline constexpr size_t kManifestSize = 8 + 8 + 32;

// Identifies one sealed version of a record. `generation` is the store
// generation of the commit that wrote it, so a record deleted and created
// again never reuses associated data.
struct RecordRef {
  std::string_view kind;
  std::string_view id;
  uint64_t version;
  uint64_t generation;
};

using SetDigest = std::array<uint8_t, 32>;

struct Manifest {
  uint64_t generation = 0;
  uint64_t record_count = 0;
  SetDigest set_digest{};  // XOR of SetElement() over every record
};

// "coffer.store.record.v1" || u32be(len kind) || kind || u32be(len id) || id
// || u64be(version) || u64be(generation).
Bytes RecordAad(const RecordRef& ref);

// `kind 'k', id 'i'` with non-printable bytes escaped, for messages.
std::string DescribeRecord(std::string_view kind, std::string_view id);

void XorInto(SetDigest& acc, const SetDigest& element);

class RecordSealer {
 public:
  // InvalidArgument unless `storage_key` is 32 bytes.
  static absl::StatusOr<RecordSealer> Create(
      const crypto::SecretBytes& storage_key);

  // AES-256-GCM under the record key: iv (12) || ciphertext || tag (16).
  absl::StatusOr<Bytes> SealRecord(const RecordRef& ref,
                                   ByteView payload) const;
  // DataLoss naming kind/id/version if `sealed` does not authenticate.
  absl::StatusOr<crypto::SecretBytes> OpenRecord(const RecordRef& ref,
                                                 ByteView sealed) const;
  // HMAC-SHA256 under the set key over RecordAad(ref).
  absl::StatusOr<SetDigest> SetElement(const RecordRef& ref) const;

  absl::StatusOr<Bytes> SealManifest(const Manifest& manifest) const;
  // DataLoss if the manifest does not authenticate (wrong key, tampering).
  absl::StatusOr<Manifest> OpenManifest(ByteView sealed) const;

 private:
  RecordSealer(crypto::AesGcm gcm, crypto::Hmac mac)
      : gcm_(std::move(gcm)), mac_(std::move(mac)) {}
  crypto::AesGcm gcm_;
  crypto::Hmac mac_;
};

}  // namespace coffer::store::internal

#endif  // COFFER_STORE_INTERNAL_RECORD_SEAL_H_
