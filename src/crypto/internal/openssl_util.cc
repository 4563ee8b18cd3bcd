#include "crypto/internal/openssl_util.h"

#include <openssl/err.h>

#include <map>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"

namespace coffer::crypto::internal {
namespace {

// Fetches each named algorithm once; the objects live for the process.
template <typename T, T* (*kFetch)(OSSL_LIB_CTX*, const char*, const char*)>
T* FetchOnce(const char* name) {
  static std::mutex mu;
  static auto* cache = new std::map<std::string, T*>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(name);
  if (it != cache->end()) return it->second;
  T* fetched = kFetch(nullptr, name, nullptr);
  if (fetched != nullptr) cache->emplace(name, fetched);
  return fetched;
}

}  // namespace

absl::Status OpenSslError(absl::string_view what) {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  if (reason == nullptr) return absl::InternalError(what);
  return absl::InternalError(absl::StrCat(what, ": ", reason));
}

void ClearOpenSslErrors() { ERR_clear_error(); }

const EVP_CIPHER* FetchCipher(const char* name) {
  return FetchOnce<EVP_CIPHER, EVP_CIPHER_fetch>(name);
}

const EVP_MD* FetchDigest(HashAlg alg) {
  // One static per algorithm keeps the hot path lock-free.
  static const EVP_MD* const kDigests[] = {
      FetchOnce<EVP_MD, EVP_MD_fetch>("SHA1"),
      FetchOnce<EVP_MD, EVP_MD_fetch>("SHA2-224"),
      FetchOnce<EVP_MD, EVP_MD_fetch>("SHA2-256"),
      FetchOnce<EVP_MD, EVP_MD_fetch>("SHA2-384"),
      FetchOnce<EVP_MD, EVP_MD_fetch>("SHA2-512"),
  };
  return kDigests[static_cast<int>(alg)];
}

EVP_MAC* FetchMac(const char* name) {
  return FetchOnce<EVP_MAC, EVP_MAC_fetch>(name);
}

EVP_KDF* FetchKdf(const char* name) {
  return FetchOnce<EVP_KDF, EVP_KDF_fetch>(name);
}

std::string AesCipherName(size_t key_size, const char* mode) {
  if (key_size != 16 && key_size != 24 && key_size != 32) return "";
  return absl::StrCat("AES-", key_size * 8, "-", mode);
}

absl::StatusOr<const EVP_CIPHER*> FetchAes(size_t key_size, const char* mode,
                                           const char* what) {
  const std::string name = AesCipherName(key_size, mode);
  if (name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " key must be 16, 24 or 32 bytes; got ", key_size));
  }
  const EVP_CIPHER* cipher = FetchCipher(name.c_str());
  if (cipher == nullptr) return OpenSslError(absl::StrCat("fetching ", name));
  return cipher;
}

std::shared_ptr<EVP_PKEY> SharePkey(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

}  // namespace coffer::crypto::internal
