// Helpers shared by the crypto module's .cc files; nobody else includes this.
#ifndef COFFER_CRYPTO_INTERNAL_OPENSSL_UTIL_H_
#define COFFER_CRYPTO_INTERNAL_OPENSSL_UTIL_H_

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <climits>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/bytes.h"
#include "crypto/hash.h"

namespace coffer::crypto::internal {

template <auto kFree>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};

using CipherCtxPtr =
    std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, Deleter<EVP_MAC_CTX_free>>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, Deleter<EVP_KDF_CTX_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;

// Internal error: `what` failed, with OpenSSL's reason for the most recent
// error on this thread's queue. Clears the queue. OpenSSL's reasons are
// fixed strings and never contain key bytes.
absl::Status OpenSslError(absl::string_view what);

// Discards stale entries so a later OpenSslError reports the right reason.
void ClearOpenSslErrors();

// Algorithm objects fetched once per process (thread-safe statics); they
// stay alive until exit. Null if this OpenSSL lacks the algorithm; callers
// turn that into an Internal error with OpenSslError().
const EVP_CIPHER* FetchCipher(const char* name);
const EVP_MD* FetchDigest(HashAlg alg);
EVP_MAC* FetchMac(const char* name);
EVP_KDF* FetchKdf(const char* name);

// OpenSSL's name for AES with a `key_size`-byte key in `mode` ("GCM",
// "CBC", "CTR", "WRAP", "WRAP-PAD"), e.g. "AES-256-GCM"; empty unless the
// key is 16, 24 or 32 bytes.
std::string AesCipherName(size_t key_size, const char* mode);
// That cipher, fetched once. InvalidArgument "<what> key must be 16, 24 or
// 32 bytes" for another key size.
absl::StatusOr<const EVP_CIPHER*> FetchAes(size_t key_size, const char* mode,
                                           const char* what);

// OpenSSL takes `int` lengths in many places.
inline bool FitsInt(size_t n) { return n <= static_cast<size_t>(INT_MAX); }

// Wraps a shared EVP_PKEY so copies of a key share one refcounted handle.
std::shared_ptr<EVP_PKEY> SharePkey(EVP_PKEY* key);

}  // namespace coffer::crypto::internal

#endif  // COFFER_CRYPTO_INTERNAL_OPENSSL_UTIL_H_
