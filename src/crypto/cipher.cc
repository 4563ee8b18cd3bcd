#include "crypto/cipher.h"

#include "absl/strings/str_cat.h"
#include "crypto/internal/openssl_util.h"

namespace coffer::crypto {
namespace {

using internal::OpenSslError;

constexpr size_t kBlock = AesCbc::kBlockSize;

absl::StatusOr<const EVP_CIPHER*> Fetch(bool cbc, size_t key_size) {
  return internal::FetchAes(key_size, cbc ? "CBC" : "CTR",
                            cbc ? "AES-CBC" : "AES-CTR");
}

absl::Status CheckIv(const char* mode, ByteView iv) {
  if (iv.size() != kBlock) {
    return absl::InvalidArgumentError(absl::StrCat(
        mode, " IV / counter block must be 16 bytes; got ", iv.size()));
  }
  return absl::OkStatus();
}

// One pass over `in` into `out` (room for in.size() + kBlock bytes).
// Returns the bytes written, or an empty DataLoss when Final fails (the
// only way it fails on decryption is bad padding; callers word the error).
absl::StatusOr<size_t> Run(const EVP_CIPHER* cipher, ByteView key, ByteView iv,
                           bool encrypt, bool pad, ByteView in, uint8_t* out) {
  if (!internal::FitsInt(in.size() + kBlock)) {
    return absl::InvalidArgumentError("AES input is too large");
  }
  internal::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return OpenSslError("EVP_CIPHER_CTX_new");
  if (EVP_CipherInit_ex2(ctx.get(), cipher, key.data(), iv.data(),
                         encrypt ? 1 : 0, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), pad ? 1 : 0) != 1) {
    return OpenSslError("AES init");
  }
  int len = 0;
  if (EVP_CipherUpdate(ctx.get(), out, &len, in.data(),
                       static_cast<int>(in.size())) != 1) {
    return OpenSslError("AES update");
  }
  int final_len = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out + len, &final_len) != 1) {
    internal::ClearOpenSslErrors();
    return absl::DataLossError("");
  }
  return static_cast<size_t>(len + final_len);
}

}  // namespace

// ---- AesCbc ---------------------------------------------------------------

absl::StatusOr<AesCbc> AesCbc::Create(SecretBytes key, CbcPadding padding) {
  absl::StatusOr<const EVP_CIPHER*> cipher = Fetch(true, key.size());
  if (!cipher.ok()) return cipher.status();
  return AesCbc(std::move(key), padding, *cipher);
}

absl::StatusOr<Bytes> AesCbc::Encrypt(ByteView iv, ByteView plaintext) const {
  if (absl::Status s = CheckIv("AES-CBC", iv); !s.ok()) return s;
  const bool pad = padding_ == CbcPadding::kPkcs7;
  if (!pad && plaintext.size() % kBlock != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AES-CBC without padding needs a multiple of 16 bytes; got ",
        plaintext.size(), " (use CBC-PAD for other lengths)"));
  }
  Bytes out(plaintext.size() + kBlock);
  absl::StatusOr<size_t> n =
      Run(cipher_, key_.ExposeSecret(), iv, true, pad, plaintext, out.data());
  if (!n.ok()) {
    return n.status().message().empty() ? OpenSslError("AES-CBC encrypt")
                                        : n.status();
  }
  out.resize(*n);
  return out;
}

absl::StatusOr<SecretBytes> AesCbc::Decrypt(ByteView iv,
                                            ByteView ciphertext) const {
  if (absl::Status s = CheckIv("AES-CBC", iv); !s.ok()) return s;
  const bool pad = padding_ == CbcPadding::kPkcs7;
  // The length is public; only the padding's content is worth hiding.
  if (ciphertext.size() % kBlock != 0 || (pad && ciphertext.empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat("AES-CBC ciphertext must be a ", pad ? "non-empty " : "",
                     "multiple of 16 bytes; got ", ciphertext.size()));
  }
  SecretBytes out(ciphertext.size() + kBlock);
  absl::StatusOr<size_t> n = Run(cipher_, key_.ExposeSecret(), iv, false, pad,
                                 ciphertext, out.ExposeSecretMutable().data());
  if (!n.ok()) {
    if (!n.status().message().empty()) return n.status();
    // One message for every padding fault: which byte was wrong must not
    // reach the caller (padding oracle).
    return absl::DataLossError(
        "AES-CBC-PAD decryption failed: the ciphertext or IV was modified, "
        "or the key is wrong");
  }
  out.Truncate(*n);
  return out;
}

// ---- AesCtr ---------------------------------------------------------------

absl::StatusOr<AesCtr> AesCtr::Create(SecretBytes key) {
  absl::StatusOr<const EVP_CIPHER*> cipher = Fetch(false, key.size());
  if (!cipher.ok()) return cipher.status();
  return AesCtr(std::move(key), *cipher);
}

absl::StatusOr<Bytes> AesCtr::Encrypt(ByteView counter_block,
                                      ByteView plaintext) const {
  if (absl::Status s = CheckIv("AES-CTR", counter_block); !s.ok()) return s;
  Bytes out(plaintext.size() + kBlock);
  absl::StatusOr<size_t> n = Run(cipher_, key_.ExposeSecret(), counter_block,
                                 true, false, plaintext, out.data());
  if (!n.ok()) {
    return n.status().message().empty() ? OpenSslError("AES-CTR encrypt")
                                        : n.status();
  }
  out.resize(*n);
  return out;
}

absl::StatusOr<SecretBytes> AesCtr::Decrypt(ByteView counter_block,
                                            ByteView ciphertext) const {
  if (absl::Status s = CheckIv("AES-CTR", counter_block); !s.ok()) return s;
  SecretBytes out(ciphertext.size() + kBlock);
  absl::StatusOr<size_t> n =
      Run(cipher_, key_.ExposeSecret(), counter_block, false, false, ciphertext,
          out.ExposeSecretMutable().data());
  if (!n.ok()) {
    return n.status().message().empty() ? OpenSslError("AES-CTR decrypt")
                                        : n.status();
  }
  out.Truncate(*n);
  return out;
}

}  // namespace coffer::crypto
