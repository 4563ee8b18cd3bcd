// Checks shared by the crypto module's public-key .cc files (asymmetric.cc,
// asymmetric_digest.cc); nobody outside src/crypto includes this.
#ifndef COFFER_CRYPTO_INTERNAL_ASYMMETRIC_UTIL_H_
#define COFFER_CRYPTO_INTERNAL_ASYMMETRIC_UTIL_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/asymmetric.h"
#include "crypto/internal/openssl_util.h"
#include "crypto/internal/signature_codec.h"

namespace coffer::crypto::internal {

// "RSA", "EC P-256", ... for messages.
const char* AlgorithmName(KeyAlgorithm algorithm);

// InvalidArgument unless `params.algorithm` is a scheme for `key`.
absl::Status CheckSchemeFitsKey(const SignatureParams& params,
                                KeyAlgorithm key);

// OpenSSL's two-call signing: `sign(nullptr, &len)` for the size, then
// `sign(buffer, &len)`; both return 1 on success. An ECDSA signature is
// converted to r||s when `params` asks for P1363 (`key_bits` sizes it).
template <typename SignFn>
absl::StatusOr<Bytes> SignTwice(const SignFn& sign,
                                const SignatureParams& params, int key_bits) {
  size_t len = 0;
  if (sign(nullptr, &len) != 1) return OpenSslError("signature size");
  Bytes sig(len);
  if (sign(sig.data(), &len) != 1) return OpenSslError("sign");
  sig.resize(len);
  if (params.algorithm == SignatureAlgorithm::kEcdsaP1363) {
    return EcdsaDerToP1363(sig, static_cast<size_t>(key_bits + 7) / 8);
  }
  return sig;
}

// The other direction, for verification: OpenSSL verifies DER, so an r||s
// signature (P1363) is converted into `storage` first. DataLoss for an r||s
// signature of the wrong length.
inline absl::StatusOr<ByteView> SignatureToVerify(const SignatureParams& params,
                                                  int key_bits,
                                                  ByteView signature,
                                                  Bytes& storage) {
  if (params.algorithm != SignatureAlgorithm::kEcdsaP1363) return signature;
  absl::StatusOr<Bytes> converted =
      EcdsaP1363ToDer(signature, static_cast<size_t>(key_bits + 7) / 8);
  if (!converted.ok()) {
    return absl::DataLossError("ECDSA signature has the wrong length");
  }
  storage = *std::move(converted);
  return ByteView(storage);
}

}  // namespace coffer::crypto::internal

#endif  // COFFER_CRYPTO_INTERNAL_ASYMMETRIC_UTIL_H_
