// HMAC with SHA-1/SHA-2 (OpenSSL EVP_MAC "HMAC"). Immutable and thread-safe
// once created.
#ifndef COFFER_CRYPTO_MAC_H_
#define COFFER_CRYPTO_MAC_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/hash.h"
#include "crypto/secret_bytes.h"

namespace coffer::crypto {

class Hmac {
 public:
  // Shortest truncated tag Verify() accepts (64 bits, SP 800-107 §5.3.4).
  static constexpr size_t kMinTagSize = 8;

  // InvalidArgument if `key` is empty.
  static absl::StatusOr<Hmac> Create(HashAlg hash, SecretBytes key);

  // The full-length tag (HashSize(hash) bytes).
  absl::StatusOr<Bytes> Compute(ByteView data) const;
  // Checks `tag`, which may be the full tag or a prefix of at least
  // kMinTagSize bytes, in constant time. DataLoss if it does not match,
  // InvalidArgument if its length is out of range.
  absl::Status Verify(ByteView data, ByteView tag) const;

  size_t tag_size() const { return HashSize(hash_); }

 private:
  Hmac(HashAlg hash, SecretBytes key) : hash_(hash), key_(std::move(key)) {}
  HashAlg hash_;
  SecretBytes key_;
};

}  // namespace coffer::crypto

#endif  // COFFER_CRYPTO_MAC_H_
