// Provisioning outside the HSM: the manufacturer's factory, the service's
// AKBK key ceremony, and a customer CA. These stand in for equipment and
// people a real deployment has (a factory HSM, custodians with smart cards,
// the customer's PKI); the development versions here keep their secrets in
// ordinary memory and files and are INSECURE by design.
#ifndef COFFER_PROVISION_PROVISION_H_
#define COFFER_PROVISION_PROVISION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/asymmetric.h"
#include "crypto/secret_bytes.h"
#include "crypto/x509.h"
#include "hsm/records.h"

namespace coffer::provision {

// A certificate authority: key + self-signed certificate.
struct CertificateAuthority {
  crypto::PrivateKey key;
  crypto::Certificate cert;
};

// Creates a CA (EC P-384, 10 years) named `common_name`.
absl::StatusOr<CertificateAuthority> CreateCa(const std::string& common_name,
                                              const std::string& organization);

// Issues a leaf certificate for a new EC P-256 key under `ca`.
struct IssuedKey {
  crypto::PrivateKey key;
  crypto::Certificate cert;
};
absl::StatusOr<IssuedKey> IssueLeaf(const CertificateAuthority& ca,
                                    const std::string& common_name,
                                    crypto::CertificateUsage usage);

// Signs an HSM's cluster CSR as a cluster CA certificate (path length 0).
absl::StatusOr<crypto::Certificate> SignClusterCsr(
    const CertificateAuthority& customer_ca, const std::string& csr_pem);

// The manufacturer: its identity, MKBK and device CA.
struct Factory {
  std::string manufacturer_id;
  crypto::SecretBytes mkbk;  // one per manufacturer, in every HSM it makes
  CertificateAuthority ca;
};

absl::StatusOr<Factory> CreateFactory(const std::string& manufacturer_id);

// Manufactures one HSM: a device key and certificate under the factory CA,
// and the MKBK, as the device record to write with hsm::Hsm::Manufacture.
absl::StatusOr<hsm::DeviceRecord> ManufactureDevice(
    const Factory& factory, const std::string& serial,
    const std::string& firmware_version);

// The AKBK key ceremony: a fresh AKBK split into `count` XOR components,
// each with its KCV, plus the KCV of the whole key.
struct AkbkComponent {
  crypto::SecretBytes component;
  std::string kcv_hex;
};
struct AkbkCeremony {
  std::vector<AkbkComponent> components;
  std::string combined_kcv_hex;
};
absl::StatusOr<AkbkCeremony> GenerateAkbk(uint32_t count);

}  // namespace coffer::provision

#endif  // COFFER_PROVISION_PROVISION_H_
