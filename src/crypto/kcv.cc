#include "crypto/kcv.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "absl/strings/str_cat.h"
#include "crypto/internal/openssl_util.h"

namespace coffer::crypto {

absl::StatusOr<std::string> KeyCheckValue(const SecretBytes& key) {
  const std::string cipher = internal::AesCipherName(key.size(), "CBC");
  if (cipher.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a key check value needs a 16, 24 or 32-byte key; got ", key.size()));
  }
  EVP_MAC* mac = internal::FetchMac("CMAC");
  if (mac == nullptr) return internal::OpenSslError("fetching CMAC");
  internal::MacCtxPtr ctx(EVP_MAC_CTX_new(mac));
  if (ctx == nullptr) return internal::OpenSslError("EVP_MAC_CTX_new");
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
                                       const_cast<char*>(cipher.c_str()), 0),
      OSSL_PARAM_construct_end()};
  const uint8_t zeros[16] = {};
  uint8_t tag[16];
  size_t len = 0;
  ByteView k = key.ExposeSecret();
  if (EVP_MAC_init(ctx.get(), k.data(), k.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), zeros, sizeof(zeros)) != 1 ||
      EVP_MAC_final(ctx.get(), tag, &len, sizeof(tag)) != 1 || len != 16) {
    return internal::OpenSslError("AES-CMAC");
  }
  return HexEncode(ByteView(tag, 5));
}

}  // namespace coffer::crypto
