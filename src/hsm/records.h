// The HSM's persistent records and their encodings (TLV, base/tlv.h). Each
// record is one row of the sealed store: (kind, id) -> payload. The same
// encodings travel in backups and, for cluster-scope kinds, in the cluster
// log; so they are versioned and every field has a fixed tag.
//
// Scope: device-scope records (device identity, commissioning, this HSM's
// TLS identity) never leave the HSM; cluster-scope records (users, keys,
// configuration, cluster identity) are what backups and the log carry.
#ifndef COFFER_HSM_RECORDS_H_
#define COFFER_HSM_RECORDS_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "hsm/types.h"

namespace coffer::hsm {

// Record kinds, as stored.
inline constexpr char kDeviceKind[] = "device";          // device scope
inline constexpr char kCommissionKind[] = "commission";  // device scope
inline constexpr char kTlsIdentityKind[] = "tls";        // device scope
// Present while the HSM is TAMPERED; the payload is the reason (UTF-8).
// Device scope, so the state survives restarts until a restore clears it.
inline constexpr char kTamperKind[] = "tamper";
inline constexpr char kTamperReasonId[] = "state";
// The state store's generation after the erase (u64, big-endian).
inline constexpr char kTamperErasedAtId[] = "erased-at";
inline constexpr char kClusterKind[] = "cluster";  // cluster scope
inline constexpr char kUserKind[] = "user";        // cluster scope
inline constexpr char kKeyKind[] = "key";          // cluster scope
inline constexpr char kPolicyKind[] = "policy";    // cluster scope
// The last cluster-log position this HSM applied (u64, big-endian), kept in
// the state store so it commits with the changes it counts. Per HSM: a
// backup carries the position in the cluster record instead.
inline constexpr char kSyncKind[] = "sync";
inline constexpr char kSyncPositionId[] = "position";

inline constexpr size_t kAkbkSize = 32;  // AES-256
inline constexpr size_t kMkbkSize = 32;
inline constexpr size_t kClusterSyncKeySize = 32;  // AES-256

struct DeviceRecord {
  std::string manufacturer_id;
  std::string serial;
  std::string firmware_version;
  std::string device_cert_pem;
  std::string manufacturer_ca_pem;
  crypto::SecretBytes mkbk;  // usable only for PBK derivation
  crypto::SecretBytes device_key_pkcs8;
};

struct CommissionRecord {
  Mode mode = Mode::kNonFips;
  crypto::SecretBytes akbk;
  std::string akbk_kcv_hex;
  std::string service_ca_pem;  // trust anchor for the service's clients
};

// This HSM's TLS server identity under the cluster key.
struct TlsIdentityRecord {
  std::string cert_chain_pem;  // server cert, then the cluster cert
  crypto::SecretBytes key_pkcs8;
};

struct ClusterRecord {
  std::string cluster_id;
  crypto::SecretBytes cluster_key_pkcs8;
  std::string cluster_csr_pem;
  std::string cluster_cert_pem;     // empty until installed
  std::string customer_anchor_pem;  // the customer's CA
  std::string client_anchors_pem;   // registered client trust anchors
  // Seals the cluster log's records (issue 5); reaches another HSM only
  // through backup and restore.
  crypto::SecretBytes sync_key;
  // The last cluster log position applied to this state; backups note it.
  uint64_t log_position = 0;
};

struct UserRecord {
  std::string name;
  Role role = Role::kCryptoUser;
  std::string password_hash;  // crypto::HashPassword encoding; empty = unset
  uint32_t failed_logins = 0;
  bool locked = false;
  Bytes quorum_key_der;  // admins: registered quorum public key
};

struct PolicyRecord {
  uint32_t max_failed_logins = 5;
  uint32_t quorum_user_management = 1;  // M of N for user management
  uint32_t quorum_changes = 1;          // M of N for quorum changes
  uint32_t quorum_key_use = 1;          // M of N for key use (optional)
};

// Encoders return the payload as a SecretBytes: several records hold
// secrets, and treating every payload as secret keeps one code path.
crypto::SecretBytes Encode(const DeviceRecord& r);
crypto::SecretBytes Encode(const CommissionRecord& r);
crypto::SecretBytes Encode(const TlsIdentityRecord& r);
crypto::SecretBytes Encode(const ClusterRecord& r);
crypto::SecretBytes Encode(const UserRecord& r);
crypto::SecretBytes Encode(const PolicyRecord& r);
crypto::SecretBytes Encode(const KeyObject& k);

// Decoders: InvalidArgument names the record kind and the field.
absl::StatusOr<DeviceRecord> DecodeDevice(const crypto::SecretBytes& payload);
absl::StatusOr<CommissionRecord> DecodeCommission(
    const crypto::SecretBytes& payload);
absl::StatusOr<TlsIdentityRecord> DecodeTlsIdentity(
    const crypto::SecretBytes& payload);
absl::StatusOr<ClusterRecord> DecodeCluster(const crypto::SecretBytes& payload);
absl::StatusOr<UserRecord> DecodeUser(const crypto::SecretBytes& payload);
absl::StatusOr<PolicyRecord> DecodePolicy(const crypto::SecretBytes& payload);
absl::StatusOr<KeyObject> DecodeKey(const crypto::SecretBytes& payload);

}  // namespace coffer::hsm

#endif  // COFFER_HSM_RECORDS_H_
