// Randomness. Production code draws from OpenSSL's DRBG through SystemRandom();
// the RandomSource interface lets tests and published test vectors inject
// fixed "random" values (never used outside tests and vector generation).
#ifndef COFFER_CRYPTO_RANDOM_H_
#define COFFER_CRYPTO_RANDOM_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/secret_bytes.h"

namespace coffer::crypto {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` entirely or returns an error (DRBG failure: Internal).
  virtual absl::Status Fill(absl::Span<uint8_t> out) = 0;
};

// OpenSSL's RAND_bytes (the public DRBG, seeded from the OS). Thread-safe.
RandomSource& SystemRandom();

absl::StatusOr<Bytes> RandomBytes(size_t size,
                                  RandomSource& rng = SystemRandom());
absl::StatusOr<SecretBytes> RandomSecret(size_t size,
                                         RandomSource& rng = SystemRandom());

}  // namespace coffer::crypto

#endif  // COFFER_CRYPTO_RANDOM_H_
