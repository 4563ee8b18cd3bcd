// The HSM core: one software HSM's lifecycle, sessions and state, in
// process. The daemon (src/node) puts it behind the wire API; tests drive it
// directly. Thread-safe.
//
// Lifecycle: Manufacture (factory) -> BeginCommission + AddAkbkComponent
// (AKBK ceremony, mode fixed) -> CreateClusterCsr + InstallClusterCertificate
// (cluster identity) -> Activate (admin password) -> ACTIVE. Any stored
// state that fails authentication, or TamperResponse(), erases the cluster
// secrets and leaves the HSM TAMPERED until a backup is restored.
//
// Errors: FailedPrecondition for a step taken in the wrong state (the
// message names the state), PermissionDenied for a role or ownership rule
// (the message names the rule), Unauthenticated for a bad or expired
// session or wrong password, InvalidArgument for malformed input.
#ifndef COFFER_HSM_HSM_H_
#define COFFER_HSM_HSM_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/password.h"
#include "crypto/secret_bytes.h"
#include "hsm/cluster_sync.h"
#include "hsm/hsm_backup.h"
#include "hsm/records.h"
#include "hsm/types.h"
#include "store/sealed_store.h"

namespace coffer::hsm {

namespace internal {
struct Core;
}
class KeyManager;
class QuorumManager;
class UserManager;

struct HsmOptions {
  crypto::PasswordHashParams password_params;  // tests lower the cost
  std::function<int64_t()> now;  // Unix seconds; default: the system clock
};

struct HsmInfo {
  std::string manufacturer_id, serial, firmware_version, cluster_id;
  Mode mode = Mode::kNonFips;
  HsmState state = HsmState::kUncommissioned;
  std::string tamper_reason;  // set when TAMPERED
  size_t users = 0, keys = 0, sessions = 0;
  uint64_t log_position = 0;  // last cluster-log entry applied
  std::string sync_error;     // why applying the log stopped, if it did
};

// Who is calling, resolved from a session token by Authenticate().
struct Caller {
  std::string user;
  Role role = Role::kCryptoUser;
  std::string session_key;  // internal handle of the session
  // An approved quorum token for operations under quorum control (quorum.h).
  std::string quorum_token;
};

// What the daemon's TLS server presents and trusts.
struct TlsCredentials {
  std::string cert_chain_pem;
  crypto::SecretBytes key_pem;
  std::string client_anchors_pem;
};

class Hsm {
 public:
  // The factory step: writes the device identity into an empty device store.
  static absl::Status Manufacture(store::SealedStore& device_store,
                                  const DeviceRecord& device);

  // Loads both stores. A state store that fails authentication triggers the
  // tamper response (the HSM opens TAMPERED). A device store that fails is
  // an error: the device must be re-manufactured.
  static absl::StatusOr<std::unique_ptr<Hsm>> Open(
      std::unique_ptr<store::SealedStore> device_store,
      std::unique_ptr<store::SealedStore> state_store, HsmOptions options);
  ~Hsm();

  HsmInfo Info() const;
  // Erases every cluster secret (users, keys, cluster key, sessions) from
  // memory and the state store; the HSM reports TAMPERED until restored.
  void TamperResponse(std::string_view reason);

  // --- Commissioning: the AKBK under two-person control ---------------
  // Fixes the mode and how many components will follow, and the KCV the
  // combined key must have. Only in state UNCOMMISSIONED.
  absl::Status BeginCommission(Mode mode, uint32_t component_count,
                               std::string_view combined_kcv_hex,
                               std::string_view service_ca_pem);
  // One custodian's component, checked against its KCV. Returns how many
  // components are still missing; the last one combines them (XOR), checks
  // the combined KCV and commits. A custodian may give only one component.
  absl::StatusOr<uint32_t> AddAkbkComponent(std::string_view custodian,
                                            crypto::SecretBytes component,
                                            std::string_view kcv_hex);

  // --- Cluster identity ---------------------------------------------
  // Generates the cluster key pair (EC P-384) and returns its CSR (PEM).
  absl::StatusOr<std::string> CreateClusterCsr(std::string_view cluster_id);
  // Installs the cluster certificate (a CA certificate for the cluster key,
  // chaining to `customer_anchor_pem`), registers that anchor for client
  // mTLS, and issues this HSM's TLS server certificate under the cluster
  // key. -> UNACTIVATED.
  absl::Status InstallClusterCertificate(std::string_view cert_pem,
                                         std::string_view customer_anchor_pem);
  // Device certificate before cluster identity, cluster-issued after.
  absl::StatusOr<TlsCredentials> CurrentTlsCredentials() const;

  // --- Activation and sessions ----------------------------------------
  // Sets the initial admin's ("admin") password. UNACTIVATED -> ACTIVE.
  absl::Status Activate(const crypto::SecretBytes& admin_password);
  // Returns a session token (a bearer secret: 64 hex digits). Wrong
  // passwords count toward the lockout policy.
  absl::StatusOr<std::string> Login(std::string_view user,
                                    const crypto::SecretBytes& password);
  absl::Status Logout(std::string_view token);
  absl::StatusOr<Caller> Authenticate(std::string_view token) const;

  // --- Backups (hsm_backup.h; the byte format is src/backup's) --------
  // In UNACTIVATED or ACTIVE; in ACTIVE the caller must be an admin or an
  // appliance user (PermissionDenied otherwise).
  absl::StatusOr<std::unique_ptr<BackupSnapshot>> OpenBackupSnapshot(
      const Caller* caller) const;
  // Checks that this HSM may take a backup of `origin` made at
  // `created_at` (Unix seconds), then unwraps its EBK. FailedPrecondition
  // naming the rule: another manufacturer, a device certificate that did
  // not chain to this HSM's manufacturer CA when the backup was made (so
  // backups outlive device certificates; the seal, which needs the PBK,
  // authenticates the creation time), a creation time in the future,
  // another service (AKBK), another mode, another cluster (once this HSM
  // has a cluster certificate), not commissioned. PermissionDenied: in
  // ACTIVE the caller must be an admin with a quorum token for user
  // management (or for quorum changes, if that M is larger), since a
  // restore replaces both. DataLoss: the EBK does not unwrap.
  absl::StatusOr<std::unique_ptr<RestoreSession>> BeginRestore(
      const BackupOrigin& origin, int64_t created_at, ByteView wrapped_ebk,
      const Caller* caller);

  // --- Cluster sync (cluster_sync.h) ----------------------------------
  // From now on, cluster-scope changes in UNACTIVATED/ACTIVE go through
  // `link` first. Clears a sync error (a re-attach retries).
  void AttachClusterLog(std::shared_ptr<ClusterLogLink> link);
  // Applies every entry past this HSM's position; returns the position
  // reached. Crypto goes on while entries are read. FailedPrecondition once
  // an entry failed to authenticate (sync stopped: the HSM then refuses
  // changes; Info().sync_error says why); the log's errors pass through.
  absl::StatusOr<uint64_t> CatchUp();

  // The service's session (appliance-user role, user "service"), for a
  // client whose certificate (DER) chains to the service CA this HSM was
  // commissioned with. Returns a session token as Login does.
  absl::StatusOr<std::string> ServiceLogin(ByteView client_cert_der);

  UserManager& users() { return *users_; }
  KeyManager& keys() { return *keys_; }
  QuorumManager& quorum() { return *quorum_; }

 private:
  explicit Hsm(std::unique_ptr<internal::Core> core);
  absl::Status Load();
  // Finishes a restore that a crash interrupted after its state commit.
  absl::Status CompleteInterruptedRestore();

  std::unique_ptr<internal::Core> core_;
  std::unique_ptr<QuorumManager> quorum_;
  std::unique_ptr<UserManager> users_;
  std::unique_ptr<KeyManager> keys_;
  // AKBK components received so far in this process (never persisted).
  struct Ceremony;
  std::unique_ptr<Ceremony> ceremony_;
};

std::string_view StateName(HsmState state);
std::string_view RoleName(Role role);

}  // namespace coffer::hsm

#endif  // COFFER_HSM_HSM_H_
