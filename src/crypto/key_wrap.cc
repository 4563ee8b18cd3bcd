#include "crypto/key_wrap.h"

#include "absl/strings/str_cat.h"
#include "crypto/internal/openssl_util.h"

namespace coffer::crypto {
namespace {

using internal::OpenSslError;

constexpr size_t kBlock = 8;  // the semiblock of SP 800-38F

const char* ModeName(KeyWrapMode mode) {
  return mode == KeyWrapMode::kKw ? "AES-KW" : "AES-KWP";
}

absl::Status CheckWrapInput(KeyWrapMode mode, size_t n) {
  if (n > AesKeyWrap::kMaxInputSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        ModeName(mode), " input of ", n, " bytes exceeds the limit of ",
        AesKeyWrap::kMaxInputSize));
  }
  if (mode == KeyWrapMode::kKw && (n < 2 * kBlock || n % kBlock != 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AES-KW input must be a multiple of 8 bytes and at least 16; got ", n,
        " (use AES-KWP for other lengths)"));
  }
  if (mode == KeyWrapMode::kKwp && n == 0) {
    return absl::InvalidArgumentError("AES-KWP input is empty");
  }
  return absl::OkStatus();
}

absl::Status CheckUnwrapInput(KeyWrapMode mode, size_t n) {
  const size_t min = mode == KeyWrapMode::kKw ? 3 * kBlock : 2 * kBlock;
  if (n < min || n % kBlock != 0 ||
      n > AesKeyWrap::kMaxInputSize + 2 * kBlock) {
    return absl::InvalidArgumentError(
        absl::StrCat(ModeName(mode),
                     " wrapped data must be a multiple of 8 bytes, at "
                     "least ",
                     min, "; got ", n));
  }
  return absl::OkStatus();
}

// One pass of the wrap cipher. OpenSSL writes the whole result in Update;
// Final only checks state. Returns the number of bytes written to `out`.
absl::StatusOr<size_t> RunCipher(const EVP_CIPHER* cipher, ByteView kek,
                                 bool encrypt, ByteView in, uint8_t* out) {
  internal::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return OpenSslError("EVP_CIPHER_CTX_new");
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_CipherInit_ex2(ctx.get(), cipher, kek.data(), nullptr,
                         encrypt ? 1 : 0, nullptr) != 1) {
    return OpenSslError("key wrap init");
  }
  int len = 0;
  if (EVP_CipherUpdate(ctx.get(), out, &len, in.data(),
                       static_cast<int>(in.size())) != 1 ||
      len < 0) {
    internal::ClearOpenSslErrors();
    return absl::DataLossError("");  // caller words the message
  }
  int final_len = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out + len, &final_len) != 1) {
    internal::ClearOpenSslErrors();
    return absl::DataLossError("");
  }
  return static_cast<size_t>(len + final_len);
}

}  // namespace

absl::StatusOr<AesKeyWrap> AesKeyWrap::Create(KeyWrapMode mode,
                                              SecretBytes kek) {
  const std::string what = absl::StrCat(ModeName(mode), " key-encryption");
  absl::StatusOr<const EVP_CIPHER*> cipher = internal::FetchAes(
      kek.size(), mode == KeyWrapMode::kKwp ? "WRAP-PAD" : "WRAP",
      what.c_str());
  if (!cipher.ok()) return cipher.status();
  return AesKeyWrap(mode, std::move(kek), *cipher);
}

absl::StatusOr<Bytes> AesKeyWrap::Wrap(ByteView plaintext) const {
  if (absl::Status s = CheckWrapInput(mode_, plaintext.size()); !s.ok()) {
    return s;
  }
  const size_t padded = (plaintext.size() + kBlock - 1) / kBlock * kBlock;
  Bytes out(padded + kBlock);
  absl::StatusOr<size_t> n =
      RunCipher(cipher_, kek_.ExposeSecret(), true, plaintext, out.data());
  if (!n.ok()) return OpenSslError(absl::StrCat(ModeName(mode_), " wrap"));
  out.resize(*n);
  return out;
}

absl::StatusOr<SecretBytes> AesKeyWrap::Unwrap(ByteView wrapped) const {
  if (absl::Status s = CheckUnwrapInput(mode_, wrapped.size()); !s.ok()) {
    return s;
  }
  SecretBytes out(wrapped.size());
  absl::StatusOr<size_t> n =
      RunCipher(cipher_, kek_.ExposeSecret(), false, wrapped,
                out.ExposeSecretMutable().data());
  if (!n.ok()) {
    return absl::DataLossError(
        absl::StrCat(ModeName(mode_),
                     " unwrap failed its integrity check: the data was "
                     "modified or truncated, or the key is wrong"));
  }
  out.Truncate(*n);
  return out;
}

}  // namespace coffer::crypto
