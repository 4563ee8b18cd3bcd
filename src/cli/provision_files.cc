#include "cli/provision_files.h"

#include <utility>

#include "cli/command_table.h"

namespace coffer::cli {
namespace {

absl::Status Usage(const absl::Status& s) {
  return s.ok() ? s : UsageError(std::string(s.message()));
}

template <typename T>
absl::StatusOr<T> Usage(absl::StatusOr<T> v) {
  if (!v.ok()) return UsageError(std::string(v.status().message()));
  return v;
}

}  // namespace

absl::Status SaveCa(const std::string& dir,
                    const provision::CertificateAuthority& ca) {
  return Usage(provision::WriteCaFiles(dir, ca));
}

absl::StatusOr<provision::CertificateAuthority> LoadCa(const std::string& dir) {
  return Usage(provision::ReadCaFiles(dir));
}

absl::Status SaveFactory(const std::string& dir,
                         const provision::Factory& factory) {
  return Usage(provision::WriteFactoryFiles(dir, factory));
}

absl::StatusOr<provision::Factory> LoadFactory(const std::string& dir) {
  return Usage(provision::ReadFactoryFiles(dir));
}

absl::Status SaveIssued(const std::string& prefix,
                        const provision::IssuedKey& issued) {
  return Usage(provision::WriteIssuedFiles(prefix, issued));
}

absl::Status SaveCeremony(const std::string& dir,
                          const provision::AkbkCeremony& ceremony) {
  return Usage(provision::WriteCeremonyFiles(dir, ceremony));
}

absl::Status ManufactureInto(const provision::Factory& factory,
                             const std::string& data_dir,
                             const std::string& serial,
                             const std::string& firmware) {
  absl::Status s =
      provision::ManufactureDataDir(factory, data_dir, serial, firmware);
  // A data directory that already holds an HSM is the caller's mistake.
  if (s.code() == absl::StatusCode::kAlreadyExists) return Usage(s);
  return s;
}

}  // namespace coffer::cli
