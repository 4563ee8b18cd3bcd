// The state every part of the HSM core shares, behind one reader/writer
// lock. Only src/hsm includes this.
//
// Mutations follow one path: build the record writes, Commit() them (the
// store now; the cluster log first once clusters sync), then apply them to
// the in-memory maps. A failed commit leaves memory untouched.
#ifndef COFFER_HSM_INTERNAL_CORE_H_
#define COFFER_HSM_INTERNAL_CORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/asymmetric.h"
#include "crypto/password.h"
#include "hsm/cluster_sync.h"
#include "hsm/records.h"
#include "hsm/types.h"
#include "store/sealed_store.h"

namespace coffer::hsm::internal {

struct Session {
  std::string user;
  Role role = Role::kCryptoUser;
  std::map<ObjectHandle, KeyObject> session_objects;
  // Parsed session private keys; they go when the session goes.
  std::map<ObjectHandle, crypto::PrivateKey> private_keys;
};

struct Core {
  std::unique_ptr<store::SealedStore> device_store;  // device scope
  std::unique_ptr<store::SealedStore> state_store;   // cluster scope
  crypto::PasswordHashParams password_params;
  std::function<int64_t()> now;  // Unix seconds

  mutable std::shared_mutex mu;
  HsmState state = HsmState::kUncommissioned;
  std::string tamper_reason;
  // The state store's generation right after the tamper response erased
  // it. A later generation holding a cluster means a restore committed.
  std::optional<uint64_t> tamper_erased_generation;
  std::optional<DeviceRecord> device;
  std::optional<CommissionRecord> commission;
  std::optional<TlsIdentityRecord> tls;
  std::optional<ClusterRecord> cluster;
  PolicyRecord policy;
  std::map<std::string, UserRecord> users;
  std::map<ObjectHandle, KeyObject> keys;  // token objects
  // Parsed private keys, so signing does not re-parse PKCS#8 each time.
  std::map<ObjectHandle, crypto::PrivateKey> private_keys;
  // Keyed by the SHA-256 of the session token, so the table holds no
  // bearer secrets.
  std::map<std::string, Session> sessions;

  // Cluster sync (cluster_sync.h): the log this HSM is attached to, if any,
  // and why applying it stopped, if it did.
  std::shared_ptr<ClusterLogLink> log;
  std::string sync_error;

  // Whether cluster-scope commits go through the log now.
  bool Synced() const;
  // Applies every log entry past this HSM's position (exclusive lock held).
  absl::Status CatchUpLocked();

  // Commits cluster-scope writes, then applies them to memory. Requires an
  // exclusive lock on `mu`. When Synced(), the writes are appended to the
  // cluster log first (Aborted with kLogConflictMessage if another HSM
  // appended first; this HSM has then caught up).
  absl::Status CommitState(std::vector<store::RecordWrite> writes);
  // The same for device-scope writes.
  absl::Status CommitDevice(std::vector<store::RecordWrite> writes);
  // Applies one authenticated record to memory (load, commit, restore).
  absl::Status Apply(const std::string& kind, const std::string& id,
                     const crypto::SecretBytes* payload);
};

// Writes `writes` to `store` in one transaction, then applies them to
// memory (exclusive lock held).
absl::Status CommitRecords(Core& core, store::SealedStore& store,
                           std::vector<store::RecordWrite> writes);
// CommitState's path when Synced() (sync.cc).
absl::Status CommitThroughLog(Core& core,
                              std::vector<store::RecordWrite> writes);

// Record ids for keys are the handle in decimal.
std::string KeyRecordId(ObjectHandle handle);

// This HSM's TLS server identity, issued by the cluster key under the
// installed cluster certificate (hsm_cluster.cc).
absl::StatusOr<TlsIdentityRecord> IssueTlsIdentity(
    const Core& core, const ClusterRecord& cluster);
// The lifecycle state implied by what is stored.
HsmState DeriveState(const Core& core);
// After a restore's state commit (or at start-up, after a crash there):
// clears the tamper marker, issues a TLS identity under the restored
// cluster certificate, and sets the state. Requires an exclusive lock.
absl::Status SettleAfterRestore(Core& core);
// Whether `tls` was issued under `cluster`'s certificate.
bool TlsIdentityMatches(const TlsIdentityRecord& tls,
                        const ClusterRecord& cluster);

}  // namespace coffer::hsm::internal

#endif  // COFFER_HSM_INTERNAL_CORE_H_
