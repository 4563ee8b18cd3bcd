// SHA-1 and SHA-2 digests, one-shot and multi-part. SHA-1 exists for
// verifying legacy signatures and vectors; policy layers decide where it is
// allowed. Thread-safe (Hasher instances are not shared across threads).
#ifndef COFFER_CRYPTO_HASH_H_
#define COFFER_CRYPTO_HASH_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "base/bytes.h"

namespace coffer::crypto {

enum class HashAlg { kSha1, kSha224, kSha256, kSha384, kSha512 };

// OpenSSL's name for the algorithm, e.g. "SHA2-256".
std::string_view HashName(HashAlg alg);
// Digest length in bytes.
size_t HashSize(HashAlg alg);

absl::StatusOr<Bytes> Digest(HashAlg alg, ByteView data);

class Hasher {
 public:
  static absl::StatusOr<Hasher> Create(HashAlg alg);
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  ~Hasher();

  absl::Status Update(ByteView data);
  // Returns the digest; the Hasher cannot be used afterwards.
  absl::StatusOr<Bytes> Finish();

 private:
  struct State;
  explicit Hasher(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace coffer::crypto

#endif  // COFFER_CRYPTO_HASH_H_
