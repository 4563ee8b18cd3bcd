// The PKCS#11-shaped corners of asymmetric.h: signatures over a digest the
// caller computed (EVP_PKEY_sign/verify, no hashing here) and legacy RSA
// PKCS#1 v1.5 encryption. Kept apart from asymmetric.cc so each file stays
// readable.
#include <openssl/rsa.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/asymmetric.h"
#include "crypto/internal/asymmetric_util.h"
#include "crypto/internal/openssl_util.h"
#include "crypto/internal/signature_codec.h"

namespace coffer::crypto {
namespace {

using internal::OpenSslError;
using internal::PkeyCtxPtr;

// PKCS#1 v1.5 padding takes at least 11 bytes of the modulus (RFC 8017).
constexpr size_t kPkcs1Overhead = 11;

size_t ModulusBytes(EVP_PKEY* key) {
  return static_cast<size_t>(EVP_PKEY_get_size(key));
}

// Checks the input's length against what the scheme signs.
absl::Status CheckDigestInput(const SignatureParams& params, EVP_PKEY* key,
                              size_t size) {
  if (params.algorithm == SignatureAlgorithm::kEd25519) {
    return absl::InvalidArgumentError(
        "Ed25519 signs whole messages; it has no prehashed form here "
        "(Ed25519ph "
        "is not supported)");
  }
  if (params.algorithm == SignatureAlgorithm::kRsaPkcs1v15Raw) {
    if (size + kPkcs1Overhead > ModulusBytes(key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "raw RSA PKCS#1 v1.5 input is at most the modulus size - 11 = ",
          ModulusBytes(key) - kPkcs1Overhead, " bytes; got ", size));
    }
    return absl::OkStatus();
  }
  if (size != HashSize(params.hash)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", std::string(HashName(params.hash)), " digest is ",
                     HashSize(params.hash), " bytes; got ", size));
  }
  return absl::OkStatus();
}

// A sign/verify context over `key` for a caller's digest.
absl::StatusOr<PkeyCtxPtr> StartDigestSignature(EVP_PKEY* key,
                                                const SignatureParams& params,
                                                bool sign) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (ctx == nullptr) return OpenSslError("EVP_PKEY_CTX_new");
  const int rc =
      sign ? EVP_PKEY_sign_init(ctx.get()) : EVP_PKEY_verify_init(ctx.get());
  if (rc != 1) return OpenSslError("signature init");
  if (params.algorithm == SignatureAlgorithm::kRsaPkcs1v15Raw) {
    // No digest set: OpenSSL pads the input as it is.
    if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
      return OpenSslError("RSA PKCS#1 v1.5 padding");
    }
    return ctx;
  }
  // The digest tells OpenSSL which DigestInfo to build (PKCS#1 v1.5), the
  // PSS hash, and the input length to insist on (all schemes).
  const EVP_MD* md = internal::FetchDigest(params.hash);
  if (md == nullptr || EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1) {
    return OpenSslError("signature digest");
  }
  if (params.algorithm == SignatureAlgorithm::kRsaPkcs1v15 &&
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
    return OpenSslError("RSA PKCS#1 v1.5 padding");
  }
  if (params.algorithm == SignatureAlgorithm::kRsaPss) {
    const int salt = params.pss_salt_size < 0 ? RSA_PSS_SALTLEN_DIGEST
                                              : params.pss_salt_size;
    if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), salt) != 1) {
      return OpenSslError("RSA-PSS parameters");
    }
  }
  return ctx;
}

absl::StatusOr<PkeyCtxPtr> StartPkcs1Encryption(EVP_PKEY* key, bool encrypt) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (ctx == nullptr) return OpenSslError("EVP_PKEY_CTX_new");
  const int rc = encrypt ? EVP_PKEY_encrypt_init(ctx.get())
                         : EVP_PKEY_decrypt_init(ctx.get());
  if (rc != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
    return OpenSslError("RSA PKCS#1 v1.5 encryption init");
  }
  return ctx;
}

}  // namespace

absl::StatusOr<Bytes> PrivateKey::SignDigest(const SignatureParams& params,
                                             ByteView digest) const {
  COFFER_RETURN_IF_ERROR(internal::CheckSchemeFitsKey(params, algorithm_));
  COFFER_RETURN_IF_ERROR(CheckDigestInput(params, key_.get(), digest.size()));
  COFFER_ASSIGN_OR_RETURN(PkeyCtxPtr ctx,
                          StartDigestSignature(key_.get(), params, true));
  return internal::SignTwice(
      [&](uint8_t* out, size_t* len) {
        return EVP_PKEY_sign(ctx.get(), out, len, digest.data(), digest.size());
      },
      params, bits());
}

absl::Status PublicKey::VerifyDigest(const SignatureParams& params,
                                     ByteView digest,
                                     ByteView signature) const {
  COFFER_RETURN_IF_ERROR(internal::CheckSchemeFitsKey(params, algorithm_));
  COFFER_RETURN_IF_ERROR(CheckDigestInput(params, key_.get(), digest.size()));
  Bytes der;
  COFFER_ASSIGN_OR_RETURN(
      signature, internal::SignatureToVerify(params, bits(), signature, der));
  COFFER_ASSIGN_OR_RETURN(PkeyCtxPtr ctx,
                          StartDigestSignature(key_.get(), params, false));
  if (EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(),
                      digest.data(), digest.size()) != 1) {
    internal::ClearOpenSslErrors();
    return absl::DataLossError("signature does not verify");
  }
  return absl::OkStatus();
}

absl::StatusOr<Bytes> PublicKey::EncryptPkcs1(ByteView plaintext) const {
  if (algorithm_ != KeyAlgorithm::kRsa) {
    return absl::InvalidArgumentError(
        "RSA PKCS#1 v1.5 encryption needs an RSA key");
  }
  const size_t k = ModulusBytes(key_.get());
  if (plaintext.size() + kPkcs1Overhead > k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RSA PKCS#1 v1.5 plaintext is at most the modulus size - 11 = ",
        k - kPkcs1Overhead, " bytes; got ", plaintext.size()));
  }
  COFFER_ASSIGN_OR_RETURN(PkeyCtxPtr ctx,
                          StartPkcs1Encryption(key_.get(), true));
  Bytes out(k);
  size_t len = out.size();
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, plaintext.data(),
                       plaintext.size()) != 1) {
    return OpenSslError("RSA PKCS#1 v1.5 encrypt");
  }
  out.resize(len);
  return out;
}

absl::StatusOr<SecretBytes> PrivateKey::DecryptPkcs1(
    ByteView ciphertext) const {
  if (algorithm_ != KeyAlgorithm::kRsa) {
    return absl::InvalidArgumentError(
        "RSA PKCS#1 v1.5 decryption needs an RSA key");
  }
  COFFER_ASSIGN_OR_RETURN(PkeyCtxPtr ctx,
                          StartPkcs1Encryption(key_.get(), false));
  SecretBytes out(ModulusBytes(key_.get()));
  size_t len = out.size();
  if (EVP_PKEY_decrypt(ctx.get(), out.ExposeSecretMutable().data(), &len,
                       ciphertext.data(), ciphertext.size()) != 1) {
    internal::ClearOpenSslErrors();
    // One message whatever went wrong (length, range, padding): anything
    // more specific would sharpen the padding oracle.
    return absl::DataLossError("RSA PKCS#1 v1.5 decryption failed");
  }
  out.Truncate(len);
  return out;
}

}  // namespace coffer::crypto
