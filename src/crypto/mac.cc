#include "crypto/mac.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "absl/strings/str_cat.h"
#include "crypto/internal/openssl_util.h"

namespace coffer::crypto {

using internal::OpenSslError;

absl::StatusOr<Hmac> Hmac::Create(HashAlg hash, SecretBytes key) {
  if (key.empty()) return absl::InvalidArgumentError("HMAC key is empty");
  return Hmac(hash, std::move(key));
}

absl::StatusOr<Bytes> Hmac::Compute(ByteView data) const {
  EVP_MAC* mac = internal::FetchMac("HMAC");
  if (mac == nullptr) return OpenSslError("fetching HMAC");
  internal::MacCtxPtr ctx(EVP_MAC_CTX_new(mac));
  if (ctx == nullptr) return OpenSslError("EVP_MAC_CTX_new");
  // OSSL_PARAM wants a mutable pointer, but only reads the name.
  char* digest = const_cast<char*>(HashName(hash_).data());
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  ByteView key = key_.ExposeSecret();
  Bytes tag(tag_size());
  size_t len = 0;
  if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), tag.data(), &len, tag.size()) != 1) {
    return OpenSslError("HMAC");
  }
  return tag;
}

absl::Status Hmac::Verify(ByteView data, ByteView tag) const {
  if (tag.size() < kMinTagSize || tag.size() > tag_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("HMAC tag must be ", kMinTagSize, " to ", tag_size(),
                     " bytes, got ", tag.size()));
  }
  absl::StatusOr<Bytes> expected = Compute(data);
  if (!expected.ok()) return expected.status();
  if (!ConstantTimeEquals(ByteView(*expected).first(tag.size()), tag)) {
    return absl::DataLossError("HMAC tag does not match the data");
  }
  return absl::OkStatus();
}

}  // namespace coffer::crypto
