// The development provisioning tools' files (INSECURE by design: keys in
// plain files, mode 0600, never overwritten):
//   factory dir:  factory.json {"manufacturer_id"}, mkbk.key (hex),
//                 ca.key (PEM), ca.pem
//   CA dir:       ca.key (PEM), ca.pem
//   issued leaf:  PREFIX.pem, PREFIX.key
//   AKBK:         component-K.key (hex), component-K.kcv, combined.kcv
#ifndef COFFER_CLI_PROVISION_FILES_H_
#define COFFER_CLI_PROVISION_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "provision/provision.h"

namespace coffer::cli {

absl::Status SaveFactory(const std::string& dir,
                         const provision::Factory& factory);
absl::StatusOr<provision::Factory> LoadFactory(const std::string& dir);

absl::Status SaveCa(const std::string& dir,
                    const provision::CertificateAuthority& ca);
absl::StatusOr<provision::CertificateAuthority> LoadCa(const std::string& dir);

absl::Status SaveIssued(const std::string& prefix,
                        const provision::IssuedKey& issued);

absl::Status SaveCeremony(const std::string& dir,
                          const provision::AkbkCeremony& ceremony);
std::string ComponentPath(const std::string& dir, size_t k);  // 1-based

// The factory step: a new data directory holding the device identity.
absl::Status ManufactureInto(const provision::Factory& factory,
                             const std::string& data_dir,
                             const std::string& serial,
                             const std::string& firmware);

}  // namespace coffer::cli

#endif  // COFFER_CLI_PROVISION_FILES_H_
