#include "provision/provision.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/kcv.h"
#include "crypto/random.h"

namespace coffer::provision {
namespace {

using crypto::SecretBytes;

constexpr int64_t kDay = 24 * 3600;

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

crypto::CertificateSpec Spec(const std::string& cn, const std::string& org,
                             crypto::CertificateUsage usage, int64_t days) {
  crypto::CertificateSpec spec;
  spec.common_name = cn;
  spec.organization = org;
  spec.usage = usage;
  spec.not_before_unix = Now() - 300;
  spec.not_after_unix = Now() + days * kDay;
  return spec;
}

}  // namespace

absl::StatusOr<CertificateAuthority> CreateCa(const std::string& common_name,
                                              const std::string& organization) {
  COFFER_ASSIGN_OR_RETURN(
      crypto::PrivateKey key,
      crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEcP384));
  COFFER_ASSIGN_OR_RETURN(
      crypto::Certificate cert,
      crypto::SelfSign(
          key, Spec(common_name, organization,
                    crypto::CertificateUsage::kCertificateAuthority, 3650)));
  return CertificateAuthority{std::move(key), std::move(cert)};
}

absl::StatusOr<IssuedKey> IssueLeaf(const CertificateAuthority& ca,
                                    const std::string& common_name,
                                    crypto::CertificateUsage usage) {
  COFFER_ASSIGN_OR_RETURN(
      crypto::PrivateKey key,
      crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEcP256));
  crypto::CertificateSpec spec =
      Spec(common_name, ca.cert.subject_organization(), usage, 825);
  if (usage == crypto::CertificateUsage::kTlsServer ||
      usage == crypto::CertificateUsage::kTlsServerAndClient) {
    spec.dns_names = {"localhost"};
    spec.ip_addresses = {"127.0.0.1", "::1"};
  }
  COFFER_ASSIGN_OR_RETURN(
      crypto::Certificate cert,
      crypto::Issue(ca.key, ca.cert, key.public_key(), spec));
  return IssuedKey{std::move(key), std::move(cert)};
}

absl::StatusOr<crypto::Certificate> SignClusterCsr(
    const CertificateAuthority& customer_ca, const std::string& csr_pem) {
  COFFER_ASSIGN_OR_RETURN(crypto::CertificateRequest csr,
                          crypto::CertificateRequest::FromPem(csr_pem));
  crypto::CertificateSpec spec =
      Spec("", "", crypto::CertificateUsage::kCertificateAuthority, 3650);
  spec.ca_path_length = 0;
  spec.not_after_unix =
      std::min(spec.not_after_unix, customer_ca.cert.not_after_unix());
  return crypto::Issue(customer_ca.key, customer_ca.cert, csr, spec);
}

absl::StatusOr<Factory> CreateFactory(const std::string& manufacturer_id) {
  // Keys and certificates have no empty state, so build the parts first.
  COFFER_ASSIGN_OR_RETURN(crypto::SecretBytes mkbk,
                          crypto::RandomSecret(hsm::kMkbkSize));
  COFFER_ASSIGN_OR_RETURN(
      CertificateAuthority ca,
      CreateCa(absl::StrCat(manufacturer_id, " device CA"), manufacturer_id));
  return Factory{manufacturer_id, std::move(mkbk), std::move(ca)};
}

absl::StatusOr<hsm::DeviceRecord> ManufactureDevice(
    const Factory& factory, const std::string& serial,
    const std::string& firmware_version) {
  COFFER_ASSIGN_OR_RETURN(
      IssuedKey device,
      IssueLeaf(factory.ca, serial, crypto::CertificateUsage::kSigning));
  hsm::DeviceRecord record;
  record.manufacturer_id = factory.manufacturer_id;
  record.serial = serial;
  record.firmware_version = firmware_version;
  record.device_cert_pem = device.cert.ToPem();
  record.manufacturer_ca_pem = factory.ca.cert.ToPem();
  record.mkbk = factory.mkbk.Clone();
  COFFER_ASSIGN_OR_RETURN(record.device_key_pkcs8, device.key.ToPkcs8Der());
  return record;
}

absl::StatusOr<AkbkCeremony> GenerateAkbk(uint32_t count) {
  if (count < 2) {
    return absl::InvalidArgumentError(
        "an AKBK needs at least 2 components: two-person control");
  }
  AkbkCeremony ceremony;
  SecretBytes combined(hsm::kAkbkSize);
  for (uint32_t i = 0; i < count; ++i) {
    AkbkComponent c;
    COFFER_ASSIGN_OR_RETURN(c.component, crypto::RandomSecret(hsm::kAkbkSize));
    COFFER_ASSIGN_OR_RETURN(c.kcv_hex, crypto::KeyCheckValue(c.component));
    auto out = combined.ExposeSecretMutable();
    for (size_t j = 0; j < out.size(); ++j) {
      out[j] ^= c.component.ExposeSecret()[j];
    }
    ceremony.components.push_back(std::move(c));
  }
  COFFER_ASSIGN_OR_RETURN(ceremony.combined_kcv_hex,
                          crypto::KeyCheckValue(combined));
  return ceremony;
}

}  // namespace coffer::provision
