// AES-GCM (NIST SP 800-38D) with 128/192/256-bit keys. Immutable and
// thread-safe once created.
#ifndef COFFER_CRYPTO_AEAD_H_
#define COFFER_CRYPTO_AEAD_H_

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"

struct evp_cipher_st;  // OpenSSL's EVP_CIPHER

namespace coffer::crypto {

class AesGcm {
 public:
  static constexpr size_t kIvSize = 12;      // what Seal() generates
  static constexpr size_t kTagSize = 16;     // what Seal() appends
  static constexpr size_t kMaxIvSize = 128;  // OpenSSL's GCM limit

  // InvalidArgument unless `key` is 16, 24 or 32 bytes.
  static absl::StatusOr<AesGcm> Create(SecretBytes key);

  // Encrypts under a fresh random 96-bit IV from `rng`.
  // Returns iv (12) || ciphertext || tag (16).
  absl::StatusOr<Bytes> Seal(ByteView plaintext, ByteView aad,
                             RandomSource& rng = SystemRandom()) const;
  // Inverse of Seal. DataLoss if authentication fails.
  absl::StatusOr<SecretBytes> Open(ByteView sealed, ByteView aad) const;

  // Caller-chosen IV (1..kMaxIvSize bytes) and tag size (4, 8 or 12..16
  // bytes), for PKCS#11 CKM_AES_GCM and known-answer tests.
  // Returns ciphertext || tag. The caller must never repeat an IV under a key.
  absl::StatusOr<Bytes> EncryptWithIv(ByteView iv, ByteView plaintext,
                                      ByteView aad,
                                      size_t tag_size = kTagSize) const;
  // DataLoss if authentication fails; InvalidArgument for bad sizes.
  absl::StatusOr<SecretBytes> DecryptWithIv(ByteView iv,
                                            ByteView ciphertext_and_tag,
                                            ByteView aad,
                                            size_t tag_size = kTagSize) const;

 private:
  AesGcm(SecretBytes key, const evp_cipher_st* cipher)
      : key_(std::move(key)), cipher_(cipher) {}
  SecretBytes key_;
  const evp_cipher_st* cipher_;  // fetched once per process
};

}  // namespace coffer::crypto

#endif  // COFFER_CRYPTO_AEAD_H_
