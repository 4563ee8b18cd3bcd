// Salted, deliberately slow password hashing with scrypt (RFC 7914, via
// OpenSSL's EVP_KDF "SCRYPT"), stored in the PHC string format:
//
//   $scrypt$v=1$ln=15,r=8,p=1$<salt>$<hash>
//
// ln is log2(n); salt (16 random bytes) and hash (32 bytes) are standard
// base64 without padding. Thread-safe.
//
// Costs measured on the 2-core development machine: the default (n = 2^15,
// r = 8, p = 1) takes about 80 ms and 32 MiB per hash or verification;
// memory is 128 * n * r bytes and time grows with n * r * p. Both
// functions refuse parameters outside 2^10 <= n <= 2^20, 1 <= r <= 32,
// 1 <= p <= 16, 128 * n * r <= 256 MiB and n * r * p <= 2^22 (1.1-1.7 s),
// so a hostile stored hash cannot exhaust memory or time.
#ifndef COFFER_CRYPTO_PASSWORD_H_
#define COFFER_CRYPTO_PASSWORD_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"

namespace coffer::crypto {

struct PasswordHashParams {
  uint64_t n = uint64_t{1} << 15;  // CPU/memory cost, a power of two
  uint32_t r = 8;                  // block size
  uint32_t p = 1;                  // parallelism (run serially here)
};

// The encoded hash of `password` under a fresh random salt. InvalidArgument
// for an empty password or parameters outside the limits above.
absl::StatusOr<std::string> HashPassword(const SecretBytes& password,
                                         const PasswordHashParams& params = {});

// OK if `password` matches `encoded` (compared in constant time); DataLoss
// "wrong password" if not; InvalidArgument for an empty password or an
// encoding that is malformed or whose parameters are outside the limits.
// Salts of 16-64 bytes and hashes of 32-64 bytes are accepted.
absl::Status VerifyPassword(const SecretBytes& password,
                            std::string_view encoded);

}  // namespace coffer::crypto

#endif  // COFFER_CRYPTO_PASSWORD_H_
