// The local keyring's byte formats (docs/archive.md): the per-region key
// file and the wrapped data-key blob. Pure functions, no I/O.
#ifndef COFFER_KMS_INTERNAL_KEYRING_FORMAT_H_
#define COFFER_KMS_INTERNAL_KEYRING_FORMAT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/secret_bytes.h"

namespace coffer::kms::internal {

inline constexpr size_t kKekSize = 32;
inline constexpr size_t kWrapIvSize = 12;
inline constexpr size_t kWrapTagSize = 16;

struct KeyEntry {
  std::string id;
  crypto::SecretBytes kek;  // kKekSize bytes
};

// Key file: "CFKR" | 0x01 | region | count u16 | (id, kek)* | SHA-256.
// The checksum catches corruption, not an attacker (who could recompute it).
absl::StatusOr<crypto::SecretBytes> EncodeKeyFile(
    const std::string& region, const std::vector<KeyEntry>& keys);
// DataLoss for a malformed file, a bad checksum or a file of another region.
absl::StatusOr<std::vector<KeyEntry>> DecodeKeyFile(const std::string& region,
                                                    ByteView file);

// Wrapped blob: 0x01 | id_len u8 | key id | iv (12) | ciphertext | tag (16).
struct WrappedKey {
  std::string key_id;
  ByteView iv;
  ByteView sealed;  // ciphertext || tag
};
absl::StatusOr<WrappedKey> ParseWrapped(ByteView wrapped);
Bytes EncodeWrappedPrefix(const std::string& key_id);

// The GCM associated data of a wrap: "coffer.kms.wrap.v1" 0x00 |
// len u8 | region | len u8 | key id | caller aad.
Bytes WrapAad(const std::string& region, const std::string& key_id,
              ByteView aad);

}  // namespace coffer::kms::internal

#endif  // COFFER_KMS_INTERNAL_KEYRING_FORMAT_H_
