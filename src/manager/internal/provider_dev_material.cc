#include "manager/internal/provider_dev_material.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "base/status.h"
#include "provision/files.h"

namespace coffer::manager::internal {
namespace {

namespace fs = std::filesystem;

constexpr char kManufacturerId[] = "coffer-dev";
constexpr uint32_t kCustodians = 2;
constexpr char kTempPrefix[] = ".dev-";

absl::Status Fill(const std::string& d) {
  COFFER_ASSIGN_OR_RETURN(provision::Factory factory,
                          provision::CreateFactory(kManufacturerId));
  COFFER_RETURN_IF_ERROR(provision::WriteFactoryFiles(d + "/factory", factory));
  COFFER_ASSIGN_OR_RETURN(
      provision::CertificateAuthority service,
      provision::CreateCa("Coffer dev service CA", "coffer-dev-service"));
  COFFER_RETURN_IF_ERROR(provision::WriteCaFiles(d + "/service-ca", service));
  COFFER_ASSIGN_OR_RETURN(
      provision::IssuedKey client,
      provision::IssueLeaf(service, "coffer-manager",
                           crypto::CertificateUsage::kTlsClient));
  COFFER_RETURN_IF_ERROR(
      provision::WriteIssuedFiles(d + "/service-client", client));
  COFFER_ASSIGN_OR_RETURN(provision::AkbkCeremony ceremony,
                          provision::GenerateAkbk(kCustodians));
  COFFER_RETURN_IF_ERROR(
      provision::WriteCeremonyFiles(d + "/ceremony", ceremony));
  return FsyncDirectory(d);
}

// Builds the material in a temp directory beside `dev`, then renames it
// into place: `dev` exists only complete.
absl::Status Create(const std::string& dir, const std::string& dev) {
  std::string temp = absl::StrCat(dir, "/", kTempPrefix, "XXXXXX");
  if (mkdtemp(temp.data()) == nullptr) {
    return ErrnoError(errno, "cannot create a directory in", dir);
  }
  absl::Status s = Fill(temp);
  if (s.ok() && std::rename(temp.c_str(), dev.c_str()) != 0) {
    s = ErrnoError(errno, "cannot rename into place", dev);
  }
  if (s.ok()) return FsyncDirectory(dir);
  std::error_code ec;
  fs::remove_all(temp, ec);
  return s;
}

// Temp directories a crash left behind while creating the material.
void RemoveStaleTemps(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::path> stale;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (absl::StartsWith(e.path().filename().string(), kTempPrefix)) {
      stale.push_back(e.path());
    }
  }
  for (const fs::path& p : stale) fs::remove_all(p, ec);
}

absl::StatusOr<DevMaterial> Load(const std::string& dev) {
  // Keys and certificates have no empty state, so load the parts first.
  COFFER_ASSIGN_OR_RETURN(provision::Factory factory,
                          provision::ReadFactoryFiles(dev + "/factory"));
  COFFER_ASSIGN_OR_RETURN(provision::AkbkCeremony ceremony,
                          provision::ReadCeremonyFiles(dev + "/ceremony"));
  COFFER_ASSIGN_OR_RETURN(provision::CertificateAuthority service,
                          provision::ReadCaFiles(dev + "/service-ca"));
  COFFER_ASSIGN_OR_RETURN(provision::IssuedKey client,
                          provision::ReadIssuedFiles(dev + "/service-client"));
  ServiceIdentity identity;
  identity.cert_chain_pem = client.cert.ToPem();
  COFFER_ASSIGN_OR_RETURN(identity.key_pem, client.key.ToPem());
  identity.service_ca_pem = service.cert.ToPem();
  identity.manufacturer_ca_pem = factory.ca.cert.ToPem();
  return DevMaterial{std::move(factory), std::move(ceremony),
                     std::move(identity), dev + "/service-ca/ca.pem"};
}

}  // namespace

absl::StatusOr<DevMaterial> OpenDevMaterial(const std::string& dir) {
  const std::string dev = dir + "/dev";
  RemoveStaleTemps(dir);
  std::error_code ec;
  if (!fs::exists(dev, ec)) COFFER_RETURN_IF_ERROR(Create(dir, dev));
  return Load(dev);
}

}  // namespace coffer::manager::internal
