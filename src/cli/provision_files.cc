#include "cli/provision_files.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/command_table.h"
#include "cli/io.h"
#include "cli/output.h"
#include "hsm/hsm.h"
#include "node/data_dir.h"

namespace coffer::cli {
namespace {

using crypto::SecretBytes;

absl::StatusOr<crypto::PrivateKey> LoadKey(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(SecretBytes pem, ReadSecretFile(path));
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::FromPem(pem);
  if (!key.ok()) {
    return UsageError(absl::StrCat(path, ": ", key.status().message()));
  }
  return key;
}

absl::StatusOr<crypto::Certificate> LoadCert(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  absl::StatusOr<crypto::Certificate> cert = crypto::Certificate::FromPem(pem);
  if (!cert.ok()) {
    return UsageError(absl::StrCat(path, ": ", cert.status().message()));
  }
  return cert;
}

absl::Status SaveKey(const std::string& path, const crypto::PrivateKey& key) {
  COFFER_ASSIGN_OR_RETURN(SecretBytes pem, key.ToPem());
  return WriteSecretFile(path, pem.ExposeSecret());
}

}  // namespace

absl::Status SaveCa(const std::string& dir,
                    const provision::CertificateAuthority& ca) {
  COFFER_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  COFFER_RETURN_IF_ERROR(SaveKey(dir + "/ca.key", ca.key));
  return WriteFile(dir + "/ca.pem", ca.cert.ToPem());
}

absl::StatusOr<provision::CertificateAuthority> LoadCa(const std::string& dir) {
  COFFER_ASSIGN_OR_RETURN(crypto::PrivateKey key, LoadKey(dir + "/ca.key"));
  COFFER_ASSIGN_OR_RETURN(crypto::Certificate cert, LoadCert(dir + "/ca.pem"));
  return provision::CertificateAuthority{std::move(key), std::move(cert)};
}

absl::Status SaveFactory(const std::string& dir,
                         const provision::Factory& factory) {
  if (FileExists(dir + "/mkbk.key")) {
    return UsageError(absl::StrCat(dir, " already holds a factory"));
  }
  COFFER_RETURN_IF_ERROR(SaveCa(dir, factory.ca));
  SecretBytes hex = SecretToHex(factory.mkbk);
  COFFER_RETURN_IF_ERROR(
      WriteSecretFile(dir + "/mkbk.key", hex.ExposeSecret()));
  Json doc;
  doc["format"] = 1;
  doc["manufacturer_id"] = factory.manufacturer_id;
  return WriteFile(dir + "/factory.json", doc.dump(2) + "\n");
}

absl::StatusOr<provision::Factory> LoadFactory(const std::string& dir) {
  COFFER_ASSIGN_OR_RETURN(std::string text, ReadFile(dir + "/factory.json"));
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("manufacturer_id") ||
      !doc["manufacturer_id"].is_string()) {
    return UsageError(absl::StrCat(dir, "/factory.json is not a factory file"));
  }
  COFFER_ASSIGN_OR_RETURN(SecretBytes hex, ReadSecretFile(dir + "/mkbk.key"));
  COFFER_ASSIGN_OR_RETURN(SecretBytes mkbk, HexToSecret(hex));
  if (mkbk.size() != hsm::kMkbkSize) {
    return UsageError(absl::StrCat(dir, "/mkbk.key is not a ", hsm::kMkbkSize,
                                   "-byte key in hex"));
  }
  COFFER_ASSIGN_OR_RETURN(provision::CertificateAuthority ca, LoadCa(dir));
  return provision::Factory{doc["manufacturer_id"].get<std::string>(),
                            std::move(mkbk), std::move(ca)};
}

absl::Status SaveIssued(const std::string& prefix,
                        const provision::IssuedKey& issued) {
  COFFER_RETURN_IF_ERROR(SaveKey(prefix + ".key", issued.key));
  return WriteFile(prefix + ".pem", issued.cert.ToPem());
}

std::string ComponentPath(const std::string& dir, size_t k) {
  return absl::StrCat(dir, "/component-", k, ".key");
}

absl::Status SaveCeremony(const std::string& dir,
                          const provision::AkbkCeremony& ceremony) {
  COFFER_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  for (size_t i = 0; i < ceremony.components.size(); ++i) {
    const provision::AkbkComponent& c = ceremony.components[i];
    SecretBytes hex = SecretToHex(c.component);
    SecretBytes line(hex.size() + 1);
    std::copy(hex.ExposeSecret().begin(), hex.ExposeSecret().end(),
              line.ExposeSecretMutable().begin());
    line.ExposeSecretMutable()[hex.size()] = '\n';
    COFFER_RETURN_IF_ERROR(
        WriteSecretFile(ComponentPath(dir, i + 1), line.ExposeSecret()));
    COFFER_RETURN_IF_ERROR(WriteFile(
        absl::StrCat(dir, "/component-", i + 1, ".kcv"), c.kcv_hex + "\n"));
  }
  return WriteFile(dir + "/combined.kcv", ceremony.combined_kcv_hex + "\n");
}

absl::Status ManufactureInto(const provision::Factory& factory,
                             const std::string& data_dir,
                             const std::string& serial,
                             const std::string& firmware) {
  COFFER_ASSIGN_OR_RETURN(
      hsm::DeviceRecord device,
      provision::ManufactureDevice(factory, serial, firmware));
  absl::Status created = node::CreateDataDir(data_dir);
  if (created.code() == absl::StatusCode::kAlreadyExists) {
    return UsageError(std::string(created.message()));
  }
  COFFER_RETURN_IF_ERROR(created);
  COFFER_ASSIGN_OR_RETURN(node::DataDirStores stores,
                          node::OpenDataDir(data_dir));
  return hsm::Hsm::Manufacture(*stores.device, device);
}

}  // namespace coffer::cli
