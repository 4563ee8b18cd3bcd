// Public-key cryptography: RSA (2048-4096 bits generated; PKCS#1 v1.5, PSS,
// OAEP, legacy PKCS#1 v1.5 encryption), ECDSA and ECDH on P-256/P-384,
// Ed25519; signatures over a message or over a caller's digest (PKCS#11's
// CKM_ECDSA, CKM_RSA_PKCS, CKM_RSA_PKCS_PSS). Keys are immutable handles
// to OpenSSL keys; copying one shares the handle, not the secret. All
// methods are thread-safe.
//
// Errors: InvalidArgument for malformed input or unsupported parameters,
// DataLoss when a signature does not verify or a ciphertext does not decrypt.
#ifndef COFFER_CRYPTO_ASYMMETRIC_H_
#define COFFER_CRYPTO_ASYMMETRIC_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/hash.h"
#include "crypto/secret_bytes.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace coffer::crypto {

namespace internal {
class PkeyAccess;  // the module's other .cc files reach the EVP_PKEY here
}  // namespace internal

enum class KeyAlgorithm { kRsa, kEcP256, kEcP384, kEd25519 };

enum class SignatureAlgorithm {
  kRsaPkcs1v15,
  kRsaPss,      // MGF1 with the same hash as the message
  kEcdsaDer,    // X9.62 DER-encoded (r, s)
  kEcdsaP1363,  // r || s, each the curve's size (PKCS#11 CKM_ECDSA)
  kEd25519,     // pure Ed25519; `hash` is ignored
  // CKM_RSA_PKCS on raw bytes: PKCS#1 v1.5 type-1 padding around the
  // caller's input (at most modulus size - 11 bytes, usually a DigestInfo
  // the caller encoded). SignDigest/VerifyDigest only; `hash` is ignored.
  kRsaPkcs1v15Raw,
};

struct SignatureParams {
  SignatureAlgorithm algorithm = SignatureAlgorithm::kEcdsaDer;
  HashAlg hash = HashAlg::kSha256;
  int pss_salt_size = -1;  // -1: the digest's length
};

class PublicKey {
 public:
  // X.509 SubjectPublicKeyInfo, DER or PEM.
  static absl::StatusOr<PublicKey> FromDer(ByteView der);
  static absl::StatusOr<PublicKey> FromPem(std::string_view pem);
  absl::StatusOr<Bytes> ToDer() const;
  absl::StatusOr<std::string> ToPem() const;

  KeyAlgorithm algorithm() const { return algorithm_; }
  int bits() const;

  // OK if `signature` is valid for `message`; DataLoss if not.
  absl::Status Verify(const SignatureParams& params, ByteView message,
                      ByteView signature) const;
  // Like Verify, over `digest` = Digest(params.hash, message) (its length
  // must match); kRsaPkcs1v15Raw compares the caller's raw input instead.
  absl::Status VerifyDigest(const SignatureParams& params, ByteView digest,
                            ByteView signature) const;
  // RSA-OAEP with MGF1 over `hash`.
  absl::StatusOr<Bytes> EncryptOaep(HashAlg hash, ByteView plaintext,
                                    ByteView label = {}) const;
  // RSA PKCS#1 v1.5 encryption (RSAES-PKCS1-v1_5), at most modulus size -
  // 11 bytes. Legacy: see PrivateKey::DecryptPkcs1.
  absl::StatusOr<Bytes> EncryptPkcs1(ByteView plaintext) const;

 private:
  friend class PrivateKey;
  friend class internal::PkeyAccess;
  PublicKey(std::shared_ptr<evp_pkey_st> key, KeyAlgorithm algorithm)
      : key_(std::move(key)), algorithm_(algorithm) {}
  std::shared_ptr<evp_pkey_st> key_;
  KeyAlgorithm algorithm_;
};

class PrivateKey {
 public:
  // `rsa_bits` (2048..4096, a multiple of 8) is used only for kRsa.
  static absl::StatusOr<PrivateKey> Generate(KeyAlgorithm algorithm,
                                             int rsa_bits = 2048);
  // PKCS#8 PrivateKeyInfo, DER or PEM (unencrypted).
  static absl::StatusOr<PrivateKey> FromPkcs8Der(const SecretBytes& der);
  static absl::StatusOr<PrivateKey> FromPem(const SecretBytes& pem);
  absl::StatusOr<SecretBytes> ToPkcs8Der() const;
  // "PRIVATE KEY" PEM (unencrypted PKCS#8), e.g. for a TLS stack.
  absl::StatusOr<SecretBytes> ToPem() const;

  KeyAlgorithm algorithm() const { return algorithm_; }
  int bits() const;
  PublicKey public_key() const;

  absl::StatusOr<Bytes> Sign(const SignatureParams& params,
                             ByteView message) const;
  // Signs a digest the caller computed: `digest` must be HashSize(hash)
  // bytes (RSA PKCS#1 v1.5 wraps it in the hash's DigestInfo). With
  // kRsaPkcs1v15Raw, signs the raw input. Not for Ed25519 (InvalidArgument).
  absl::StatusOr<Bytes> SignDigest(const SignatureParams& params,
                                   ByteView digest) const;
  absl::StatusOr<SecretBytes> DecryptOaep(HashAlg hash, ByteView ciphertext,
                                          ByteView label = {}) const;
  // RSAES-PKCS1-v1_5. DataLoss with one fixed message on any failure. OpenSSL
  // 3.0 has no implicit rejection, so success vs. failure is a padding
  // oracle (Bleichenbacher): FIPS mode forbids it and callers rate-limit it.
  absl::StatusOr<SecretBytes> DecryptPkcs1(ByteView ciphertext) const;
  // ECDH on the same curve: the shared x-coordinate (PKCS#11 CKD_NULL).
  absl::StatusOr<SecretBytes> DeriveEcdh(const PublicKey& peer) const;

 private:
  friend class internal::PkeyAccess;
  PrivateKey(std::shared_ptr<evp_pkey_st> key, KeyAlgorithm algorithm)
      : key_(std::move(key)), algorithm_(algorithm) {}
  static absl::StatusOr<PrivateKey> Adopt(evp_pkey_st* key);
  std::shared_ptr<evp_pkey_st> key_;
  KeyAlgorithm algorithm_;
};

}  // namespace coffer::crypto

#endif  // COFFER_CRYPTO_ASYMMETRIC_H_
