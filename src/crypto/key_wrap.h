// AES key wrap (NIST SP 800-38F): KW (RFC 3394) and KWP, with padding
// (RFC 5649), under a 128-, 192- or 256-bit key-encryption key. OpenSSL's
// "AES-*-WRAP" / "AES-*-WRAP-PAD" ciphers do the work. Immutable and
// thread-safe once created.
#ifndef COFFER_CRYPTO_KEY_WRAP_H_
#define COFFER_CRYPTO_KEY_WRAP_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/secret_bytes.h"

struct evp_cipher_st;  // OpenSSL's EVP_CIPHER

namespace coffer::crypto {

enum class KeyWrapMode {
  kKw,   // input: a multiple of 8 bytes, at least 16
  kKwp,  // input: 1 byte or more
};

class AesKeyWrap {
 public:
  // Largest input either mode accepts; larger secrets are split by callers.
  static constexpr size_t kMaxInputSize = size_t{1} << 24;

  // InvalidArgument unless `kek` is 16, 24 or 32 bytes.
  static absl::StatusOr<AesKeyWrap> Create(KeyWrapMode mode, SecretBytes kek);

  // Output is 8 bytes longer than the input (KWP: than the input padded to a
  // multiple of 8). InvalidArgument for an input length the mode forbids.
  absl::StatusOr<Bytes> Wrap(ByteView plaintext) const;

  // DataLoss if the integrity check fails (wrong key, modified, truncated or
  // extended data); InvalidArgument for a length no wrap can have.
  absl::StatusOr<SecretBytes> Unwrap(ByteView wrapped) const;

  KeyWrapMode mode() const { return mode_; }

 private:
  AesKeyWrap(KeyWrapMode mode, SecretBytes kek, const evp_cipher_st* cipher)
      : mode_(mode), kek_(std::move(kek)), cipher_(cipher) {}
  KeyWrapMode mode_;
  SecretBytes kek_;
  const evp_cipher_st* cipher_;  // fetched once per process
};

}  // namespace coffer::crypto

#endif  // COFFER_CRYPTO_KEY_WRAP_H_
