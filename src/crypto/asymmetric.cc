#include "crypto/asymmetric.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/internal/asymmetric_util.h"
#include "crypto/internal/openssl_util.h"
#include "crypto/internal/signature_codec.h"

namespace coffer::crypto {
namespace {

using internal::OpenSslError;
using internal::PkeyCtxPtr;
using internal::PkeyPtr;

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaGenerateBits = 4096;
constexpr int kMaxRsaImportBits = 8192;

using BioPtr = std::unique_ptr<BIO, internal::Deleter<BIO_free>>;
using P8Ptr = std::unique_ptr<PKCS8_PRIV_KEY_INFO,
                              internal::Deleter<PKCS8_PRIV_KEY_INFO_free>>;

// Which of our algorithms an OpenSSL key is, with its size checked.
absl::StatusOr<KeyAlgorithm> Classify(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    const int bits = EVP_PKEY_get_bits(key);
    if (bits < kMinRsaBits || bits > kMaxRsaImportBits) {
      return absl::InvalidArgumentError(
          absl::StrCat("RSA keys must have ", kMinRsaBits, " to ",
                       kMaxRsaImportBits, " bits; this one has ", bits));
    }
    return KeyAlgorithm::kRsa;
  }
  if (EVP_PKEY_is_a(key, "ED25519")) return KeyAlgorithm::kEd25519;
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof(group), &len) == 1) {
      const std::string_view name(group, len);
      if (name == "prime256v1" || name == "P-256") return KeyAlgorithm::kEcP256;
      if (name == "secp384r1" || name == "P-384") return KeyAlgorithm::kEcP384;
    }
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        "unsupported elliptic curve: only P-256 and P-384 are supported");
  }
  return absl::InvalidArgumentError(
      "unsupported key type: only RSA, EC P-256/P-384 and Ed25519 are "
      "supported");
}

// Sign()/Verify() hash the message themselves; raw PKCS#1 v1.5 exists only
// for a caller's own digest (SignDigest/VerifyDigest).
absl::Status CheckMessageScheme(const SignatureParams& params,
                                KeyAlgorithm key) {
  COFFER_RETURN_IF_ERROR(internal::CheckSchemeFitsKey(params, key));
  if (params.algorithm == SignatureAlgorithm::kRsaPkcs1v15Raw) {
    return absl::InvalidArgumentError(
        "raw RSA PKCS#1 v1.5 signs a caller-encoded digest: use SignDigest / "
        "VerifyDigest");
  }
  return absl::OkStatus();
}

// Creates a digest-sign/verify context for `params` over `key`.
absl::StatusOr<internal::MdCtxPtr> StartSignature(EVP_PKEY* key,
                                                  const SignatureParams& params,
                                                  bool sign) {
  internal::MdCtxPtr mctx(EVP_MD_CTX_new());
  if (mctx == nullptr) return OpenSslError("EVP_MD_CTX_new");
  const EVP_MD* md = params.algorithm == SignatureAlgorithm::kEd25519
                         ? nullptr
                         : internal::FetchDigest(params.hash);
  EVP_PKEY_CTX* pctx = nullptr;  // owned by mctx
  const int rc =
      sign ? EVP_DigestSignInit(mctx.get(), &pctx, md, nullptr, key)
           : EVP_DigestVerifyInit(mctx.get(), &pctx, md, nullptr, key);
  if (rc != 1) return OpenSslError("signature init");
  if (params.algorithm == SignatureAlgorithm::kRsaPkcs1v15 &&
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
    return OpenSslError("RSA PKCS#1 v1.5 padding");
  }
  if (params.algorithm == SignatureAlgorithm::kRsaPss) {
    const int salt = params.pss_salt_size < 0 ? RSA_PSS_SALTLEN_DIGEST
                                              : params.pss_salt_size;
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) != 1) {
      return OpenSslError("RSA-PSS parameters");
    }
  }
  return mctx;
}

absl::StatusOr<PkeyCtxPtr> StartOaep(EVP_PKEY* key, HashAlg hash,
                                     ByteView label, bool encrypt) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (ctx == nullptr) return OpenSslError("EVP_PKEY_CTX_new");
  const EVP_MD* md = internal::FetchDigest(hash);
  const int rc = encrypt ? EVP_PKEY_encrypt_init(ctx.get())
                         : EVP_PKEY_decrypt_init(ctx.get());
  if (rc != 1 || md == nullptr ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1) {
    return OpenSslError("RSA-OAEP init");
  }
  if (!label.empty()) {
    // OpenSSL takes ownership of the label buffer.
    void* copy = OPENSSL_memdup(label.data(), label.size());
    if (copy == nullptr ||
        EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), copy,
                                         static_cast<int>(label.size())) != 1) {
      OPENSSL_free(copy);
      return OpenSslError("RSA-OAEP label");
    }
  }
  return ctx;
}

}  // namespace

namespace internal {

const char* AlgorithmName(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::kRsa:
      return "RSA";
    case KeyAlgorithm::kEcP256:
      return "EC P-256";
    case KeyAlgorithm::kEcP384:
      return "EC P-384";
    case KeyAlgorithm::kEd25519:
      return "Ed25519";
  }
  return "unknown";
}

namespace {

bool IsRsaScheme(SignatureAlgorithm a) {
  return a == SignatureAlgorithm::kRsaPkcs1v15 ||
         a == SignatureAlgorithm::kRsaPss ||
         a == SignatureAlgorithm::kRsaPkcs1v15Raw;
}
bool IsEcdsaScheme(SignatureAlgorithm a) {
  return a == SignatureAlgorithm::kEcdsaDer ||
         a == SignatureAlgorithm::kEcdsaP1363;
}

}  // namespace

absl::Status CheckSchemeFitsKey(const SignatureParams& params,
                                KeyAlgorithm key) {
  const bool fits =
      (key == KeyAlgorithm::kRsa && IsRsaScheme(params.algorithm)) ||
      ((key == KeyAlgorithm::kEcP256 || key == KeyAlgorithm::kEcP384) &&
       IsEcdsaScheme(params.algorithm)) ||
      (key == KeyAlgorithm::kEd25519 &&
       params.algorithm == SignatureAlgorithm::kEd25519);
  if (!fits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "signature scheme does not match the ", AlgorithmName(key), " key"));
  }
  return absl::OkStatus();
}

}  // namespace internal

// ---- PublicKey ------------------------------------------------------------

absl::StatusOr<PublicKey> PublicKey::FromDer(ByteView der) {
  const unsigned char* p = der.data();
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (key == nullptr || p != der.data() + der.size()) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        "not a DER SubjectPublicKeyInfo (or trailing bytes after it)");
  }
  COFFER_ASSIGN_OR_RETURN(KeyAlgorithm algorithm, Classify(key.get()));
  return PublicKey(internal::SharePkey(key.release()), algorithm);
}

absl::StatusOr<PublicKey> PublicKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return OpenSslError("BIO_new_mem_buf");
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError("not a PEM \"PUBLIC KEY\" block");
  }
  COFFER_ASSIGN_OR_RETURN(KeyAlgorithm algorithm, Classify(key.get()));
  return PublicKey(internal::SharePkey(key.release()), algorithm);
}

absl::StatusOr<Bytes> PublicKey::ToDer() const {
  const int len = i2d_PUBKEY(key_.get(), nullptr);
  if (len <= 0) return OpenSslError("i2d_PUBKEY");
  Bytes out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  if (i2d_PUBKEY(key_.get(), &p) != len) return OpenSslError("i2d_PUBKEY");
  return out;
}

absl::StatusOr<std::string> PublicKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    return OpenSslError("PEM_write_bio_PUBKEY");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

int PublicKey::bits() const { return EVP_PKEY_get_bits(key_.get()); }

absl::Status PublicKey::Verify(const SignatureParams& params, ByteView message,
                               ByteView signature) const {
  COFFER_RETURN_IF_ERROR(CheckMessageScheme(params, algorithm_));
  Bytes der;
  COFFER_ASSIGN_OR_RETURN(
      signature, internal::SignatureToVerify(params, bits(), signature, der));
  COFFER_ASSIGN_OR_RETURN(internal::MdCtxPtr ctx,
                          StartSignature(key_.get(), params, false));
  if (EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                       message.data(), message.size()) != 1) {
    internal::ClearOpenSslErrors();
    return absl::DataLossError("signature does not verify");
  }
  return absl::OkStatus();
}

absl::StatusOr<Bytes> PublicKey::EncryptOaep(HashAlg hash, ByteView plaintext,
                                             ByteView label) const {
  if (algorithm_ != KeyAlgorithm::kRsa) {
    return absl::InvalidArgumentError("RSA-OAEP needs an RSA key");
  }
  COFFER_ASSIGN_OR_RETURN(PkeyCtxPtr ctx,
                          StartOaep(key_.get(), hash, label, true));
  size_t len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &len, plaintext.data(),
                       plaintext.size()) != 1) {
    return OpenSslError("RSA-OAEP encrypt");
  }
  Bytes out(len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, plaintext.data(),
                       plaintext.size()) != 1) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        "RSA-OAEP plaintext is too long for this key and hash");
  }
  out.resize(len);
  return out;
}

// ---- PrivateKey -----------------------------------------------------------

absl::StatusOr<PrivateKey> PrivateKey::Adopt(EVP_PKEY* raw) {
  PkeyPtr key(raw);
  COFFER_ASSIGN_OR_RETURN(KeyAlgorithm algorithm, Classify(key.get()));
  return PrivateKey(internal::SharePkey(key.release()), algorithm);
}

absl::StatusOr<PrivateKey> PrivateKey::Generate(KeyAlgorithm algorithm,
                                                int rsa_bits) {
  EVP_PKEY* key = nullptr;
  switch (algorithm) {
    case KeyAlgorithm::kRsa:
      if (rsa_bits < kMinRsaBits || rsa_bits > kMaxRsaGenerateBits ||
          rsa_bits % 8 != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "RSA key size must be a multiple of 8 from ", kMinRsaBits, " to ",
            kMaxRsaGenerateBits, " bits; got ", rsa_bits));
      }
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA",
                              static_cast<size_t>(rsa_bits));
      break;
    case KeyAlgorithm::kEcP256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyAlgorithm::kEcP384:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case KeyAlgorithm::kEd25519:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (key == nullptr) {
    return OpenSslError(absl::StrCat(
        "generating ", internal::AlgorithmName(algorithm), " key"));
  }
  return Adopt(key);
}

absl::StatusOr<PrivateKey> PrivateKey::FromPkcs8Der(const SecretBytes& der) {
  ByteView bytes = der.ExposeSecret();
  const unsigned char* p = bytes.data();
  P8Ptr p8(
      d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(bytes.size())));
  EVP_PKEY* key = p8 != nullptr && p == bytes.data() + bytes.size()
                      ? EVP_PKCS82PKEY(p8.get())
                      : nullptr;
  if (key == nullptr) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        "not an unencrypted DER PKCS#8 PrivateKeyInfo");
  }
  return Adopt(key);
}

absl::StatusOr<PrivateKey> PrivateKey::FromPem(const SecretBytes& pem) {
  ByteView bytes = pem.ExposeSecret();
  BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (bio == nullptr) return OpenSslError("BIO_new_mem_buf");
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError("not an unencrypted PEM private key");
  }
  return Adopt(key);
}

absl::StatusOr<SecretBytes> PrivateKey::ToPkcs8Der() const {
  P8Ptr p8(EVP_PKEY2PKCS8(key_.get()));
  if (p8 == nullptr) return OpenSslError("EVP_PKEY2PKCS8");
  const int len = i2d_PKCS8_PRIV_KEY_INFO(p8.get(), nullptr);
  if (len <= 0) return OpenSslError("i2d_PKCS8_PRIV_KEY_INFO");
  SecretBytes out(static_cast<size_t>(len));
  unsigned char* p = out.ExposeSecretMutable().data();
  if (i2d_PKCS8_PRIV_KEY_INFO(p8.get(), &p) != len) {
    return OpenSslError("i2d_PKCS8_PRIV_KEY_INFO");
  }
  return out;
}

absl::StatusOr<SecretBytes> PrivateKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0,
                                    nullptr, nullptr) != 1) {
    return OpenSslError("PEM_write_bio_PKCS8PrivateKey");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return SecretBytes::CopyOf(ByteView(reinterpret_cast<const uint8_t*>(data),
                                      static_cast<size_t>(len)));
}

int PrivateKey::bits() const { return EVP_PKEY_get_bits(key_.get()); }

PublicKey PrivateKey::public_key() const {
  // The private key object also serves every public-key operation.
  return PublicKey(key_, algorithm_);
}

absl::StatusOr<Bytes> PrivateKey::Sign(const SignatureParams& params,
                                       ByteView message) const {
  COFFER_RETURN_IF_ERROR(CheckMessageScheme(params, algorithm_));
  COFFER_ASSIGN_OR_RETURN(internal::MdCtxPtr ctx,
                          StartSignature(key_.get(), params, true));
  return internal::SignTwice(
      [&](uint8_t* out, size_t* len) {
        return EVP_DigestSign(ctx.get(), out, len, message.data(),
                              message.size());
      },
      params, bits());
}

absl::StatusOr<SecretBytes> PrivateKey::DecryptOaep(HashAlg hash,
                                                    ByteView ciphertext,
                                                    ByteView label) const {
  if (algorithm_ != KeyAlgorithm::kRsa) {
    return absl::InvalidArgumentError("RSA-OAEP needs an RSA key");
  }
  COFFER_ASSIGN_OR_RETURN(PkeyCtxPtr ctx,
                          StartOaep(key_.get(), hash, label, false));
  size_t len = 0;
  if (EVP_PKEY_decrypt(ctx.get(), nullptr, &len, ciphertext.data(),
                       ciphertext.size()) != 1) {
    return OpenSslError("RSA-OAEP decrypt size");
  }
  SecretBytes out(len);
  if (EVP_PKEY_decrypt(ctx.get(), out.ExposeSecretMutable().data(), &len,
                       ciphertext.data(), ciphertext.size()) != 1) {
    internal::ClearOpenSslErrors();
    return absl::DataLossError("RSA-OAEP decryption failed");
  }
  out.Truncate(len);
  return out;
}

absl::StatusOr<SecretBytes> PrivateKey::DeriveEcdh(
    const PublicKey& peer) const {
  if (algorithm_ != KeyAlgorithm::kEcP256 &&
      algorithm_ != KeyAlgorithm::kEcP384) {
    return absl::InvalidArgumentError("ECDH needs an EC P-256 or P-384 key");
  }
  if (peer.algorithm() != algorithm_) {
    return absl::InvalidArgumentError("ECDH peer key is not on the same curve");
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  size_t len = 0;
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.key_.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) {
    return OpenSslError("ECDH");
  }
  SecretBytes out(len);
  if (EVP_PKEY_derive(ctx.get(), out.ExposeSecretMutable().data(), &len) != 1) {
    return OpenSslError("ECDH derive");
  }
  out.Truncate(len);
  return out;
}

}  // namespace coffer::crypto
