#include "net/internal/test_pki.h"

#include <cstring>
#include <ctime>

#include "base/status.h"

namespace coffer::net::internal {
namespace {

// Base64 straight into a SecretBytes, so the key never sits in a string.
void AppendBase64Line(ByteView in, std::vector<uint8_t>& out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < in.size(); i += 3) {
    const size_t n = std::min<size_t>(3, in.size() - i);
    uint32_t v = uint32_t{in[i]} << 16;
    if (n > 1) v |= uint32_t{in[i + 1]} << 8;
    if (n > 2) v |= in[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(n > 1 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back(n > 2 ? kAlphabet[v & 63] : '=');
  }
  out.push_back('\n');
}

crypto::CertificateSpec BaseSpec(std::string common_name,
                                 crypto::CertificateUsage usage) {
  const int64_t now = std::time(nullptr);
  crypto::CertificateSpec spec;
  spec.common_name = std::move(common_name);
  spec.usage = usage;
  spec.not_before_unix = now - 3600;
  spec.not_after_unix = now + 86400;
  return spec;
}

}  // namespace

absl::StatusOr<crypto::SecretBytes> PrivateKeyPem(
    const crypto::PrivateKey& key) {
  COFFER_ASSIGN_OR_RETURN(crypto::SecretBytes der, key.ToPkcs8Der());
  static constexpr char kBegin[] = "-----BEGIN PRIVATE KEY-----\n";
  static constexpr char kEnd[] = "-----END PRIVATE KEY-----\n";
  // Sized up front: growing a vector would leave stale copies behind.
  const size_t body = (der.size() + 2) / 3 * 4 + der.size() / 48 + 1;
  std::vector<uint8_t> text;
  text.reserve(sizeof(kBegin) + body + sizeof(kEnd));
  text.insert(text.end(), kBegin, kBegin + std::strlen(kBegin));
  const ByteView bytes = der.ExposeSecret();
  for (size_t i = 0; i < bytes.size(); i += 48) {
    AppendBase64Line(bytes.subspan(i, 48), text);
  }
  text.insert(text.end(), kEnd, kEnd + std::strlen(kEnd));
  crypto::SecretBytes pem = crypto::SecretBytes::CopyOf(text);
  std::memset(text.data(), 0, text.size());
  return pem;
}

crypto::CertificateSpec ServerSpec(std::string common_name) {
  crypto::CertificateSpec spec =
      BaseSpec(std::move(common_name), crypto::CertificateUsage::kTlsServer);
  spec.dns_names = {"server.test", "localhost"};
  spec.ip_addresses = {"127.0.0.1"};
  return spec;
}

crypto::CertificateSpec ClientSpec(std::string common_name,
                                   std::string organization) {
  crypto::CertificateSpec spec =
      BaseSpec(std::move(common_name), crypto::CertificateUsage::kTlsClient);
  spec.organization = std::move(organization);
  return spec;
}

absl::StatusOr<TestCa> TestCa::Create(std::string common_name) {
  COFFER_ASSIGN_OR_RETURN(
      crypto::PrivateKey key,
      crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEcP256));
  crypto::CertificateSpec spec = BaseSpec(
      std::move(common_name), crypto::CertificateUsage::kCertificateAuthority);
  COFFER_ASSIGN_OR_RETURN(crypto::Certificate cert,
                          crypto::SelfSign(key, spec));
  return TestCa(std::move(key), std::move(cert));
}

absl::StatusOr<IssuedCertificate> TestCa::Issue(
    const crypto::CertificateSpec& spec) const {
  COFFER_ASSIGN_OR_RETURN(
      crypto::PrivateKey key,
      crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEcP256));
  COFFER_ASSIGN_OR_RETURN(crypto::Certificate cert,
                          crypto::Issue(key_, cert_, key.public_key(), spec));
  COFFER_ASSIGN_OR_RETURN(crypto::SecretBytes key_pem, PrivateKeyPem(key));
  std::string chain_pem = cert.ToPem();
  return IssuedCertificate{std::move(cert), std::move(chain_pem),
                           std::move(key_pem)};
}

TlsCredentials MakeCredentials(const IssuedCertificate& leaf,
                               std::string trust_anchors_pem) {
  TlsCredentials credentials;
  credentials.certificate_chain_pem = leaf.chain_pem;
  credentials.private_key_pem = leaf.key_pem.Clone();
  credentials.trust_anchors_pem = std::move(trust_anchors_pem);
  return credentials;
}

}  // namespace coffer::net::internal
