// X.509 certificates and PKCS#10 requests: parse, issue, verify chains.
// Keys are any PrivateKey/PublicKey (RSA, EC P-256/P-384, Ed25519); issuers
// sign with SHA-256 (RSA PKCS#1 v1.5, P-256), SHA-384 (P-384) or pure
// Ed25519. Times are Unix seconds (UTC). Certificate and CertificateRequest
// are immutable, copyable handles to shared state; everything is
// thread-safe.
//
// Errors: InvalidArgument for malformed input, unsupported keys or a bad
// spec; DataLoss when a signature or a chain does not verify.
#ifndef COFFER_CRYPTO_X509_H_
#define COFFER_CRYPTO_X509_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/asymmetric.h"

namespace coffer::crypto {

namespace internal {
struct CertificateData;  // defined in x509.cc
struct RequestData;
}  // namespace internal

// What a certificate is for; fixes basicConstraints (critical), keyUsage
// (critical) and extendedKeyUsage. RFC 5280 reads a missing EKU (kSigning)
// as "any purpose": where that matters, check tls_server_auth() and
// tls_client_auth().
enum class CertificateUsage {
  kCertificateAuthority,  // CA:TRUE; keyCertSign, cRLSign
  kTlsServer,             // digitalSignature; EKU serverAuth
  kTlsClient,             // digitalSignature; EKU clientAuth
  kTlsServerAndClient,    // digitalSignature; EKU serverAuth, clientAuth
  kSigning,               // digitalSignature; no EKU (device identity)
};

struct CertificateSpec {
  std::string common_name;   // 1-64 bytes of UTF-8
  std::string organization;  // optional, up to 64 bytes
  CertificateUsage usage = CertificateUsage::kSigning;
  int ca_path_length = -1;  // CA only: CAs allowed below it; -1: no limit
  std::vector<std::string> dns_names;     // subjectAltName; "*." prefix ok
  std::vector<std::string> ip_addresses;  // subjectAltName; IPv4/IPv6 text
  // Validity, both ends inclusive: 0 <= not_before < not_after <=
  // 253402300799 (9999-12-31T23:59:59Z).
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;
};

class Certificate {
 public:
  // Exactly one "CERTIFICATE" block (other text around it is ignored).
  static absl::StatusOr<Certificate> FromPem(std::string_view pem);
  // Every "CERTIFICATE" block, in order (a chain or bundle file).
  static absl::StatusOr<std::vector<Certificate>> AllFromPem(
      std::string_view pem);
  // One DER certificate; trailing bytes are refused. Certificates whose
  // subject key is not one of the supported algorithms are refused too.
  static absl::StatusOr<Certificate> FromDer(ByteView der);
  std::string ToPem() const;
  Bytes ToDer() const;

  // Names are the first CN / O, as UTF-8; empty when absent.
  const std::string& subject_common_name() const;
  const std::string& subject_organization() const;
  const std::string& issuer_common_name() const;
  const std::string& serial_hex() const;  // lower-case, no leading 00
  int64_t not_before_unix() const;
  int64_t not_after_unix() const;
  bool is_ca() const;            // basicConstraints cA is TRUE
  int ca_path_length() const;    // -1 when absent
  bool tls_server_auth() const;  // extendedKeyUsage names serverAuth
  bool tls_client_auth() const;  // extendedKeyUsage names clientAuth
  const std::vector<std::string>& dns_names() const;
  const std::vector<std::string>& ip_addresses() const;  // inet_ntop text
  PublicKey public_key() const;

 private:
  explicit Certificate(std::shared_ptr<const internal::CertificateData> data)
      : data_(std::move(data)) {}
  std::shared_ptr<const internal::CertificateData> data_;
  friend absl::Status VerifyChain(const Certificate&,
                                  const std::vector<Certificate>&,
                                  const std::vector<Certificate>&, int64_t);
};

// A PKCS#10 request whose self-signature has been checked.
class CertificateRequest {
 public:
  // Subject O=`organization` (omitted when empty), CN=`common_name`.
  static absl::StatusOr<CertificateRequest> Create(
      const PrivateKey& key, std::string_view common_name,
      std::string_view organization = {});
  // DataLoss if the request's signature does not verify.
  static absl::StatusOr<CertificateRequest> FromPem(std::string_view pem);
  static absl::StatusOr<CertificateRequest> FromDer(ByteView der);
  std::string ToPem() const;
  Bytes ToDer() const;

  const std::string& subject_common_name() const;
  const std::string& subject_organization() const;
  PublicKey public_key() const;

 private:
  explicit CertificateRequest(std::shared_ptr<const internal::RequestData> data)
      : data_(std::move(data)) {}
  std::shared_ptr<const internal::RequestData> data_;
};

// A self-signed certificate for `key` (a root CA, or a development leaf).
absl::StatusOr<Certificate> SelfSign(const PrivateKey& key,
                                     const CertificateSpec& spec);

// A certificate for `subject_key` signed by `issuer_key`, which must match
// `issuer_cert`, itself a CA (InvalidArgument otherwise). The serial is 128
// random bits from the DRBG; subject/authority key identifiers are added.
absl::StatusOr<Certificate> Issue(const PrivateKey& issuer_key,
                                  const Certificate& issuer_cert,
                                  const PublicKey& subject_key,
                                  const CertificateSpec& spec);
// The same for the key in `request`. An empty spec.common_name or
// spec.organization is taken from the request; a non-empty one wins (the CA
// decides the subject). Extensions the request asks for are ignored.
absl::StatusOr<Certificate> Issue(const PrivateKey& issuer_key,
                                  const Certificate& issuer_cert,
                                  const CertificateRequest& request,
                                  CertificateSpec spec);

// OK if `leaf` chains through `intermediates` to one of `trust_anchors`,
// every certificate valid at `at_unix_time`. Every certificate in
// `trust_anchors` is an anchor, self-signed or not (so an anchored leaf
// verifies by itself: pinning). No purpose is checked. DataLoss carries
// OpenSSL's reason and the failing depth; InvalidArgument if no anchors.
absl::Status VerifyChain(const Certificate& leaf,
                         const std::vector<Certificate>& intermediates,
                         const std::vector<Certificate>& trust_anchors,
                         int64_t at_unix_time);

}  // namespace coffer::crypto

#endif  // COFFER_CRYPTO_X509_H_
