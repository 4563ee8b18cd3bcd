// Test-only: certificate authorities and TLS credentials made at test time
// with src/crypto. Linked into the net tests and net_bench only.
#ifndef COFFER_NET_INTERNAL_TEST_PKI_H_
#define COFFER_NET_INTERNAL_TEST_PKI_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/asymmetric.h"
#include "crypto/secret_bytes.h"
#include "crypto/x509.h"
#include "net/credentials.h"

namespace coffer::net::internal {

// The key as an unencrypted PKCS#8 "PRIVATE KEY" PEM block.
absl::StatusOr<crypto::SecretBytes> PrivateKeyPem(
    const crypto::PrivateKey& key);

// Specs valid from an hour ago for a day.
crypto::CertificateSpec ServerSpec(std::string common_name);  // + SANs below
crypto::CertificateSpec ClientSpec(std::string common_name,
                                   std::string organization = "Coffer");

struct IssuedCertificate {
  crypto::Certificate certificate;
  std::string chain_pem;
  crypto::SecretBytes key_pem;
};

// A P-256 root CA.
class TestCa {
 public:
  static absl::StatusOr<TestCa> Create(std::string common_name);
  const std::string& pem() const { return pem_; }
  // A P-256 leaf for `spec`, signed by this CA.
  absl::StatusOr<IssuedCertificate> Issue(
      const crypto::CertificateSpec& spec) const;

 private:
  TestCa(crypto::PrivateKey key, crypto::Certificate cert)
      : key_(std::move(key)), cert_(std::move(cert)), pem_(cert_.ToPem()) {}
  crypto::PrivateKey key_;
  crypto::Certificate cert_;
  std::string pem_;
};

// Credentials presenting `leaf` and trusting `trust_anchors_pem`.
TlsCredentials MakeCredentials(const IssuedCertificate& leaf,
                               std::string trust_anchors_pem);

}  // namespace coffer::net::internal

#endif  // COFFER_NET_INTERNAL_TEST_PKI_H_
