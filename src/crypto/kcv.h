// Key check values: a short public fingerprint of a symmetric key, printed
// beside each key component in a key ceremony so custodians and the HSM can
// confirm a component was typed or transported intact.
#ifndef COFFER_CRYPTO_KCV_H_
#define COFFER_CRYPTO_KCV_H_

#include <string>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"

namespace coffer::crypto {

// The AES-CMAC method of ANSI X9.24-1:2017: the leftmost 40 bits of
// AES-CMAC(key, 16 zero bytes), as 10 lower-case hex digits. `key` must be
// 16, 24 or 32 bytes (InvalidArgument otherwise). Reveals nothing useful
// about the key, but never reuse a key component as a working key.
absl::StatusOr<std::string> KeyCheckValue(const SecretBytes& key);

}  // namespace coffer::crypto

#endif  // COFFER_CRYPTO_KCV_H_
