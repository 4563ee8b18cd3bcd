// Unauthenticated AES modes for PKCS#11 callers (NIST SP 800-38A): CBC with
// PKCS#7 padding (CKM_AES_CBC_PAD; no padding for CKM_AES_CBC and the NIST
// vectors) and CTR with a full 128-bit big-endian counter block
// (CKM_AES_CTR, ulCounterBits = 128). 128/192/256-bit keys. Neither mode
// detects tampering: Coffer's own data uses AesGcm or AesKeyWrap instead.
// Immutable and thread-safe once created.
#ifndef COFFER_CRYPTO_CIPHER_H_
#define COFFER_CRYPTO_CIPHER_H_

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/secret_bytes.h"

struct evp_cipher_st;  // OpenSSL's EVP_CIPHER

namespace coffer::crypto {

enum class CbcPadding {
  kPkcs7,  // CKM_AES_CBC_PAD: any length in, a multiple of 16 out
  kNone,   // CKM_AES_CBC: input must be a multiple of 16 bytes
};

class AesCbc {
 public:
  static constexpr size_t kBlockSize = 16;  // also the IV size

  // InvalidArgument unless `key` is 16, 24 or 32 bytes.
  static absl::StatusOr<AesCbc> Create(SecretBytes key,
                                       CbcPadding padding = CbcPadding::kPkcs7);

  // InvalidArgument for an IV that is not 16 bytes or (kNone) an input that
  // is not a multiple of 16 bytes.
  absl::StatusOr<Bytes> Encrypt(ByteView iv, ByteView plaintext) const;
  // InvalidArgument for a bad IV or a ciphertext length no encryption can
  // produce. kPkcs7: DataLoss with one fixed message when the padding is
  // wrong, whatever the reason, so the error tells no more than the failure.
  absl::StatusOr<SecretBytes> Decrypt(ByteView iv, ByteView ciphertext) const;

  CbcPadding padding() const { return padding_; }

 private:
  AesCbc(SecretBytes key, CbcPadding padding, const evp_cipher_st* cipher)
      : key_(std::move(key)), padding_(padding), cipher_(cipher) {}
  SecretBytes key_;
  CbcPadding padding_;
  const evp_cipher_st* cipher_;  // fetched once per process
};

class AesCtr {
 public:
  static constexpr size_t kCounterBlockSize = 16;

  // InvalidArgument unless `key` is 16, 24 or 32 bytes.
  static absl::StatusOr<AesCtr> Create(SecretBytes key);

  // The whole 16-byte block is the counter, incremented big-endian per block
  // and wrapping at 2^128. The caller must never reuse a counter value
  // under a key. InvalidArgument for a counter block that is not 16 bytes.
  absl::StatusOr<Bytes> Encrypt(ByteView counter_block,
                                ByteView plaintext) const;
  absl::StatusOr<SecretBytes> Decrypt(ByteView counter_block,
                                      ByteView ciphertext) const;

 private:
  AesCtr(SecretBytes key, const evp_cipher_st* cipher)
      : key_(std::move(key)), cipher_(cipher) {}
  SecretBytes key_;
  const evp_cipher_st* cipher_;
};

}  // namespace coffer::crypto

#endif  // COFFER_CRYPTO_CIPHER_H_
