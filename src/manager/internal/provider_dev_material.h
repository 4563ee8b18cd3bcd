// The local HSM provider's development secrets (INSECURE by design): one
// factory, one service CA with the manager's client identity, one AKBK
// ceremony, made once per provider directory and reused on every open,
// because every HSM the provider makes must share manufacturer and AKBK
// (backups restore across them). Files in provision/files.h's format:
//   DIR/dev/factory/      the "coffer-dev" factory (MKBK, device CA)
//   DIR/dev/service-ca/   the service CA (--bootstrap-client-ca, and
//                         BeginCommission's service CA)
//   DIR/dev/service-client.pem/.key   the manager's identity towards HSMs
//   DIR/dev/ceremony/     2 AKBK components, their KCVs, the combined KCV
// Secret files 0600, directories 0700.
#ifndef COFFER_MANAGER_INTERNAL_PROVIDER_DEV_MATERIAL_H_
#define COFFER_MANAGER_INTERNAL_PROVIDER_DEV_MATERIAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "manager/hsm_provider.h"
#include "provision/provision.h"

namespace coffer::manager::internal {

struct DevMaterial {
  provision::Factory factory;
  provision::AkbkCeremony ceremony;
  ServiceIdentity identity;
  std::string service_ca_path;  // the PEM file of identity.service_ca_pem
};

// Loads DIR/dev, making it first if it does not exist. Making it is atomic
// (written to a temp directory beside it, then renamed), so a crash leaves
// either no material or all of it; leftover temp directories are removed.
// The caller holds the directory's owner lock. Errors (provision/files.h)
// name the file that is missing or damaged, never its contents.
absl::StatusOr<DevMaterial> OpenDevMaterial(const std::string& dir);

}  // namespace coffer::manager::internal

#endif  // COFFER_MANAGER_INTERNAL_PROVIDER_DEV_MATERIAL_H_
