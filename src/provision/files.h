// The development provisioning material in plain files (INSECURE by design:
// keys in files of mode 0600, directories 0700, a secret file is never
// overwritten). One format for the `coffer factory|ca|ceremony` commands,
// `coffer dev-hsm` and coffer-manager's local HSM provider, so material one
// of them made can be used by the others:
//   factory dir:  factory.json {"format": 1, "manufacturer_id"},
//                 mkbk.key (hex), ca.key (PEM), ca.pem
//   CA dir:       ca.key (PEM), ca.pem
//   issued leaf:  PREFIX.pem, PREFIX.key
//   AKBK:         component-K.key (hex), component-K.kcv, combined.kcv
// Every file is fsync()ed with its directory entry once written.
//
// Errors name the path and never a file's contents: AlreadyExists for a
// secret file (or factory) that exists, the base/files.h ErrnoError codes
// for I/O, InvalidArgument for a file that does not hold what it should.
#ifndef COFFER_PROVISION_FILES_H_
#define COFFER_PROVISION_FILES_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "provision/provision.h"

namespace coffer::provision {

absl::Status WriteFactoryFiles(const std::string& dir, const Factory& factory);
absl::StatusOr<Factory> ReadFactoryFiles(const std::string& dir);

absl::Status WriteCaFiles(const std::string& dir,
                          const CertificateAuthority& ca);
absl::StatusOr<CertificateAuthority> ReadCaFiles(const std::string& dir);

absl::Status WriteIssuedFiles(const std::string& prefix,
                              const IssuedKey& issued);
absl::StatusOr<IssuedKey> ReadIssuedFiles(const std::string& prefix);

absl::Status WriteCeremonyFiles(const std::string& dir,
                                const AkbkCeremony& ceremony);
// Reads component-1.. up to the first missing one (at least 2), checking
// each component and the combination against their KCVs.
absl::StatusOr<AkbkCeremony> ReadCeremonyFiles(const std::string& dir);
std::string ComponentPath(const std::string& dir, size_t k);  // 1-based

// The factory step: a new HSM data directory holding the device identity.
// AlreadyExists if `data_dir` already holds an HSM.
absl::Status ManufactureDataDir(const Factory& factory,
                                const std::string& data_dir,
                                const std::string& serial,
                                const std::string& firmware);

}  // namespace coffer::provision

#endif  // COFFER_PROVISION_FILES_H_
