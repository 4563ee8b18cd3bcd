// The HSM's data directory, created by the factory and opened by the
// daemon:
//   device.key  32-byte storage root key, mode 0600: stands in for the
//               battery-backed key memory of a hardware HSM
//   device.db   device-scope sealed records (identity, MKBK, AKBK, TLS)
//   state.db    cluster-scope sealed records (users, keys, cluster)
// Each store is sealed under its own key derived from the root key
// (SP 800-108, labels "coffer.store.device" / "coffer.store.state").
#ifndef COFFER_NODE_DATA_DIR_H_
#define COFFER_NODE_DATA_DIR_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "store/sealed_store.h"

namespace coffer::node {

struct DataDirStores {
  std::unique_ptr<store::SealedStore> device;
  std::unique_ptr<store::SealedStore> state;
  // Set when state.db failed authentication and was erased: the HSM must
  // start in the tamper response.
  std::string tamper_reason;
};

// Creates `dir` (mode 0700) with a fresh root key. AlreadyExists if the
// directory already holds a root key.
absl::Status CreateDataDir(const std::string& dir);

// Opens both stores. A state store that fails authentication is erased
// (its files deleted) and reopened empty, with tamper_reason set; a device
// store that fails is an error (the device must be re-manufactured).
absl::StatusOr<DataDirStores> OpenDataDir(const std::string& dir);

}  // namespace coffer::node

#endif  // COFFER_NODE_DATA_DIR_H_
