// Checks shared by the crypto module's public-key .cc files (asymmetric.cc,
// asymmetric_digest.cc); nobody outside src/crypto includes this.
#ifndef COFFER_CRYPTO_INTERNAL_ASYMMETRIC_UTIL_H_
#define COFFER_CRYPTO_INTERNAL_ASYMMETRIC_UTIL_H_

#include "absl/status/status.h"
#include "crypto/asymmetric.h"

namespace coffer::crypto::internal {

// "RSA", "EC P-256", ... for messages.
const char* AlgorithmName(KeyAlgorithm algorithm);

// InvalidArgument unless `params.algorithm` is a scheme for `key`.
absl::Status CheckSchemeFitsKey(const SignatureParams& params,
                                KeyAlgorithm key);

}  // namespace coffer::crypto::internal

#endif  // COFFER_CRYPTO_INTERNAL_ASYMMETRIC_UTIL_H_
