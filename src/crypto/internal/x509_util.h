// Helpers shared by x509.cc and x509_issue.cc; nobody else includes this.
#ifndef COFFER_CRYPTO_INTERNAL_X509_UTIL_H_
#define COFFER_CRYPTO_INTERNAL_X509_UTIL_H_

#include <openssl/bio.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/asymmetric.h"
#include "crypto/internal/openssl_util.h"

namespace coffer::crypto::internal {

using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;

// The digest for X.509 signatures made by a key of `algorithm`: SHA-256 for
// RSA (PKCS#1 v1.5) and P-256, SHA-384 for P-384, none (null) for Ed25519.
absl::StatusOr<const EVP_MD*> X509SigningDigest(KeyAlgorithm algorithm);

// A subject or issuer name of O=`organization` (omitted when empty) and
// CN=`common_name`. InvalidArgument if either is too long (64 bytes), the
// common name is empty, or they hold control characters or invalid UTF-8.
absl::StatusOr<X509NamePtr> MakeName(std::string_view common_name,
                                     std::string_view organization);

// The first entry `nid` of `name` as UTF-8; empty if there is none.
std::string NameEntry(const X509_NAME* name, int nid);

struct PemBlock {
  std::string label;  // "CERTIFICATE", "CERTIFICATE REQUEST", ...
  Bytes der;
};

// Every PEM block in `pem`, in order; text between blocks is skipped.
// InvalidArgument if there is none or one is malformed.
absl::StatusOr<std::vector<PemBlock>> PemDecodeAll(std::string_view pem);

// `der` as one PEM block labelled `label`.
absl::StatusOr<std::string> PemEncode(const char* label, ByteView der);

// The DER encoding produced by an OpenSSL i2d_* function.
template <typename T, int (*kI2d)(const T*, unsigned char**)>
absl::StatusOr<Bytes> ToDerBytes(const T* object, const char* what) {
  const int len = kI2d(object, nullptr);
  if (len <= 0) return OpenSslError(what);
  Bytes out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  if (kI2d(object, &p) != len) return OpenSslError(what);
  return out;
}

}  // namespace coffer::crypto::internal

#endif  // COFFER_CRYPTO_INTERNAL_X509_UTIL_H_
