// The EVP_PKEY inside a PublicKey or PrivateKey, for the crypto module's own
// .cc files (certificates, CSRs). Nobody outside src/crypto includes this.
#ifndef COFFER_CRYPTO_INTERNAL_PKEY_ACCESS_H_
#define COFFER_CRYPTO_INTERNAL_PKEY_ACCESS_H_

#include <openssl/evp.h>

#include "crypto/asymmetric.h"

namespace coffer::crypto::internal {

class PkeyAccess {
 public:
  // Borrowed: valid while `key` (or a copy of it) lives. A private key's
  // EVP_PKEY also carries its public half.
  static EVP_PKEY* Get(const PublicKey& key) { return key.key_.get(); }
  static EVP_PKEY* Get(const PrivateKey& key) { return key.key_.get(); }
};

}  // namespace coffer::crypto::internal

#endif  // COFFER_CRYPTO_INTERNAL_PKEY_ACCESS_H_
