#include "crypto/aead.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "crypto/internal/openssl_util.h"

namespace coffer::crypto {
namespace {

using internal::OpenSslError;

absl::Status CheckSizes(size_t iv_size, size_t tag_size) {
  if (iv_size == 0 || iv_size > AesGcm::kMaxIvSize) {
    return absl::InvalidArgumentError(absl::StrCat("AES-GCM IV must be 1 to ",
                                                   AesGcm::kMaxIvSize,
                                                   " bytes; got ", iv_size));
  }
  if (tag_size != 4 && tag_size != 8 && (tag_size < 12 || tag_size > 16)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AES-GCM tag must be 4, 8 or 12 to 16 bytes; got ", tag_size));
  }
  return absl::OkStatus();
}

// Sets up a GCM context for `key` and `iv`, and feeds it `aad`.
absl::StatusOr<internal::CipherCtxPtr> StartGcm(const EVP_CIPHER* cipher,
                                                ByteView key, ByteView iv,
                                                ByteView aad, bool encrypt) {
  internal::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return OpenSslError("EVP_CIPHER_CTX_new");
  const int enc = encrypt ? 1 : 0;
  int len = 0;
  // A non-default IV length must be set before the IV itself is loaded;
  // the second init then passes no cipher so the length is kept.
  const bool custom_iv = iv.size() != AesGcm::kIvSize;
  if (custom_iv &&
      (EVP_CipherInit_ex2(ctx.get(), cipher, nullptr, nullptr, enc, nullptr) !=
           1 ||
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN,
                           static_cast<int>(iv.size()), nullptr) != 1)) {
    return OpenSslError("AES-GCM IV length");
  }
  if (EVP_CipherInit_ex2(ctx.get(), custom_iv ? nullptr : cipher, key.data(),
                         iv.data(), enc, nullptr) != 1 ||
      (!aad.empty() && (!internal::FitsInt(aad.size()) ||
                        EVP_CipherUpdate(ctx.get(), nullptr, &len, aad.data(),
                                         static_cast<int>(aad.size())) != 1))) {
    return OpenSslError("AES-GCM init");
  }
  return ctx;
}

}  // namespace

absl::StatusOr<AesGcm> AesGcm::Create(SecretBytes key) {
  absl::StatusOr<const EVP_CIPHER*> cipher =
      internal::FetchAes(key.size(), "GCM", "AES-GCM");
  if (!cipher.ok()) return cipher.status();
  return AesGcm(std::move(key), *cipher);
}

absl::StatusOr<Bytes> AesGcm::EncryptWithIv(ByteView iv, ByteView plaintext,
                                            ByteView aad,
                                            size_t tag_size) const {
  if (absl::Status s = CheckSizes(iv.size(), tag_size); !s.ok()) return s;
  if (!internal::FitsInt(plaintext.size())) {
    return absl::InvalidArgumentError("AES-GCM plaintext is too large");
  }
  absl::StatusOr<internal::CipherCtxPtr> ctx =
      StartGcm(cipher_, key_.ExposeSecret(), iv, aad, true);
  if (!ctx.ok()) return ctx.status();
  Bytes out(plaintext.size() + tag_size);
  int len = 0;
  int final_len = 0;
  if (EVP_EncryptUpdate(ctx->get(), out.data(), &len, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx->get(), out.data() + len, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_GCM_GET_TAG,
                          static_cast<int>(tag_size),
                          out.data() + plaintext.size()) != 1) {
    return OpenSslError("AES-GCM encrypt");
  }
  return out;
}

absl::StatusOr<SecretBytes> AesGcm::DecryptWithIv(ByteView iv,
                                                  ByteView ciphertext_and_tag,
                                                  ByteView aad,
                                                  size_t tag_size) const {
  if (absl::Status s = CheckSizes(iv.size(), tag_size); !s.ok()) return s;
  if (ciphertext_and_tag.size() < tag_size ||
      !internal::FitsInt(ciphertext_and_tag.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AES-GCM ciphertext of ", ciphertext_and_tag.size(),
        " bytes is shorter than its ", tag_size, "-byte tag or too large"));
  }
  const size_t ct_size = ciphertext_and_tag.size() - tag_size;
  absl::StatusOr<internal::CipherCtxPtr> ctx =
      StartGcm(cipher_, key_.ExposeSecret(), iv, aad, false);
  if (!ctx.ok()) return ctx.status();
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer but only reads it.
  Bytes tag(ciphertext_and_tag.end() - tag_size, ciphertext_and_tag.end());
  SecretBytes out(ct_size);
  uint8_t* dst = out.ExposeSecretMutable().data();
  int len = 0;
  int final_len = 0;
  if (EVP_DecryptUpdate(ctx->get(), dst, &len, ciphertext_and_tag.data(),
                        static_cast<int>(ct_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_GCM_SET_TAG,
                          static_cast<int>(tag_size), tag.data()) != 1) {
    return OpenSslError("AES-GCM decrypt");
  }
  if (EVP_DecryptFinal_ex(ctx->get(), dst + len, &final_len) != 1) {
    internal::ClearOpenSslErrors();
    return absl::DataLossError(
        "AES-GCM authentication failed: the ciphertext, IV or associated "
        "data was modified, or the key is wrong");
  }
  return out;
}

absl::StatusOr<Bytes> AesGcm::Seal(ByteView plaintext, ByteView aad,
                                   RandomSource& rng) const {
  uint8_t iv[kIvSize];
  if (absl::Status s = rng.Fill(absl::MakeSpan(iv)); !s.ok()) return s;
  absl::StatusOr<Bytes> body = EncryptWithIv(iv, plaintext, aad, kTagSize);
  if (!body.ok()) return body.status();
  Bytes out(kIvSize + body->size());
  std::memcpy(out.data(), iv, kIvSize);
  std::memcpy(out.data() + kIvSize, body->data(), body->size());
  return out;
}

absl::StatusOr<SecretBytes> AesGcm::Open(ByteView sealed, ByteView aad) const {
  if (sealed.size() < kIvSize + kTagSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("sealed AES-GCM data must be at least ",
                     kIvSize + kTagSize, " bytes; got ", sealed.size()));
  }
  return DecryptWithIv(sealed.first(kIvSize), sealed.subspan(kIvSize), aad,
                       kTagSize);
}

}  // namespace coffer::crypto
