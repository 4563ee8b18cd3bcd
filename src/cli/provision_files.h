// The development provisioning tools' files (provision/files.h has the
// format; INSECURE by design: keys in plain files, mode 0600, never
// overwritten), with the CLI's exit codes: a file that cannot be read,
// written or parsed is a usage error (exit 2).
#ifndef COFFER_CLI_PROVISION_FILES_H_
#define COFFER_CLI_PROVISION_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "provision/files.h"
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
using provision::ComponentPath;  // 1-based

// The factory step: a new data directory holding the device identity.
absl::Status ManufactureInto(const provision::Factory& factory,
                             const std::string& data_dir,
                             const std::string& serial,
                             const std::string& firmware);

}  // namespace coffer::cli

#endif  // COFFER_CLI_PROVISION_FILES_H_
