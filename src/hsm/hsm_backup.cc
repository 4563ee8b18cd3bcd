// Backups, the HSM's side: PBK derivation, the snapshot a backup is made
// from, and the staged, atomic restore. The byte format is src/backup's.
#include "hsm/hsm_backup.h"

#include <mutex>
#include <shared_mutex>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/fault.h"
#include "base/status.h"
#include "crypto/asymmetric.h"
#include "crypto/kdf.h"
#include "crypto/key_wrap.h"
#include "crypto/x509.h"
#include "hsm/hsm.h"
#include "hsm/internal/core.h"
#include "hsm/quorum.h"

namespace coffer::hsm {

using crypto::SecretBytes;
using internal::Core;

absl::StatusOr<SecretBytes> DerivePbk(const SecretBytes& mkbk,
                                      const SecretBytes& akbk,
                                      std::string_view manufacturer_id) {
  if (mkbk.size() != kMkbkSize || akbk.size() != kAkbkSize) {
    return absl::InvalidArgumentError("MKBK and AKBK must be 32 bytes each");
  }
  // K_IN = MKBK || AKBK (SP 800-133r2 §6.3: an approved KDF keyed with the
  // concatenation of the component keys); docs/backup-format.md says why.
  SecretBytes key_in(kMkbkSize + kAkbkSize);
  auto in = key_in.ExposeSecretMutable();
  std::copy(mkbk.ExposeSecret().begin(), mkbk.ExposeSecret().end(), in.begin());
  std::copy(akbk.ExposeSecret().begin(), akbk.ExposeSecret().end(),
            in.begin() + kMkbkSize);
  return crypto::KbkdfCounter(key_in, AsBytes(std::string_view(kPbkLabel)),
                              AsBytes(manufacturer_id), kBackupKeySize);
}

namespace {

absl::StatusOr<crypto::AesKeyWrap> PbkWrapper(const Core& core) {
  COFFER_ASSIGN_OR_RETURN(SecretBytes pbk,
                          DerivePbk(core.device->mkbk, core.commission->akbk,
                                    core.device->manufacturer_id));
  return crypto::AesKeyWrap::Create(crypto::KeyWrapMode::kKw, std::move(pbk));
}

class Snapshot final : public BackupSnapshot {
 public:
  Snapshot(const Core& core, std::shared_lock<std::shared_mutex> lock,
           BackupOrigin origin)
      : core_(core), lock_(std::move(lock)), origin_(std::move(origin)) {}

  const BackupOrigin& origin() const override { return origin_; }

  BackupCounts counts() const override {
    return {1, 1, core_.users.size(), core_.keys.size()};
  }

  absl::Status ForEachRecord(const RecordVisitor& fn) const override {
    COFFER_RETURN_IF_ERROR(
        fn(kClusterKind, "identity", Encode(*core_.cluster)));
    COFFER_RETURN_IF_ERROR(fn(kPolicyKind, "policy", Encode(core_.policy)));
    for (const auto& [name, user] : core_.users) {
      COFFER_RETURN_IF_ERROR(fn(kUserKind, name, Encode(user)));
    }
    for (const auto& [handle, key] : core_.keys) {
      COFFER_RETURN_IF_ERROR(
          fn(kKeyKind, internal::KeyRecordId(handle), Encode(key)));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Bytes> WrapEbk(const SecretBytes& ebk) const override {
    COFFER_ASSIGN_OR_RETURN(crypto::AesKeyWrap wrap, PbkWrapper(core_));
    return wrap.Wrap(ebk.ExposeSecret());
  }

  absl::StatusOr<Bytes> SignDigest(ByteView sha384) const override {
    COFFER_ASSIGN_OR_RETURN(
        crypto::PrivateKey key,
        crypto::PrivateKey::FromPkcs8Der(core_.device->device_key_pkcs8));
    return key.SignDigest(
        {crypto::SignatureAlgorithm::kEcdsaDer, crypto::HashAlg::kSha384},
        sha384);
  }

 private:
  const Core& core_;
  std::shared_lock<std::shared_mutex> lock_;
  BackupOrigin origin_;
};

std::string ModeName(Mode mode) {
  return mode == Mode::kFips ? "FIPS" : "non-FIPS";
}

// The restore rules that depend on the target's state; checked when a
// restore begins and again under the lock when it commits. Requires a lock.
absl::Status CheckRestoreTarget(const Core& core, const BackupOrigin& origin) {
  if (!core.commission) {
    return absl::FailedPreconditionError(
        "this HSM is not commissioned: install the service's AKBK before "
        "restoring a backup");
  }
  if (origin.manufacturer_id != core.device->manufacturer_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the backup was made by an HSM of manufacturer '",
        origin.manufacturer_id, "'; this HSM's manufacturer is '",
        core.device->manufacturer_id,
        "': a backup restores only onto HSMs of the same manufacturer"));
  }
  if (origin.service_kcv != core.commission->akbk_kcv_hex) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the backup belongs to another service: its AKBK check value is ",
        origin.service_kcv, ", this HSM's is ", core.commission->akbk_kcv_hex));
  }
  if (origin.mode != core.commission->mode) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a ", ModeName(origin.mode), " backup cannot be restored onto a ",
        ModeName(core.commission->mode),
        " HSM: the mode is fixed at commissioning and a backup keeps it"));
  }
  const bool certified =
      core.cluster && !core.cluster->cluster_cert_pem.empty();
  if (certified && core.cluster->cluster_id != origin.cluster_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this HSM belongs to cluster '", core.cluster->cluster_id,
        "' and the backup is of cluster '", origin.cluster_id,
        "': restore another cluster's backup only onto a new or tampered "
        "HSM"));
  }
  return absl::OkStatus();
}

// Clocks may differ between HSMs; a backup "from the future" beyond this
// is refused.
constexpr int64_t kMaxClockSkewSeconds = 24 * 3600;

absl::Status CheckDeviceCertificate(const Core& core,
                                    const BackupOrigin& origin,
                                    int64_t created_at) {
  if (created_at > core.now() + kMaxClockSkewSeconds) {
    return absl::FailedPreconditionError(
        "the backup claims to be made in the future; check the clocks");
  }
  absl::StatusOr<crypto::Certificate> cert =
      crypto::Certificate::FromDer(origin.device_cert_der);
  absl::StatusOr<crypto::Certificate> ca =
      crypto::Certificate::FromPem(core.device->manufacturer_ca_pem);
  absl::Status chained = cert.status();
  if (chained.ok()) chained = ca.status();
  if (chained.ok()) chained = crypto::VerifyChain(*cert, {}, {*ca}, created_at);
  if (!chained.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the backup's device certificate does not chain to this HSM's "
        "manufacturer CA: ",
        chained.message()));
  }
  if (cert->subject_common_name() != origin.serial) {
    return absl::FailedPreconditionError(
        "the backup's device certificate is not the source HSM's named in "
        "its header");
  }
  return absl::OkStatus();
}

class Restore final : public RestoreSession {
 public:
  Restore(Core& core, BackupOrigin origin, SecretBytes ebk,
          std::function<void()> committed)
      : core_(core),
        origin_(std::move(origin)),
        ebk_(std::move(ebk)),
        committed_(std::move(committed)) {}

  const SecretBytes& ebk() const override { return ebk_; }

  absl::Status Add(std::string_view kind, std::string_view id,
                   SecretBytes payload) override {
    std::string k(kind), i(id);
    if (k != kClusterKind && k != kPolicyKind && k != kUserKind &&
        k != kKeyKind) {
      return absl::InvalidArgumentError(
          absl::StrCat("a backup may not carry records of kind '", k, "'"));
    }
    if (AlreadyStaged(k, i)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the backup holds record ", k, "/", i, " twice"));
    }
    COFFER_RETURN_IF_ERROR(staged_.Apply(k, i, &payload));
    COFFER_RETURN_IF_ERROR(CheckId(k, i));
    if (k == kClusterKind) ++counts_.cluster;
    if (k == kPolicyKind) ++counts_.policy;
    if (k == kUserKind) ++counts_.users;
    if (k == kKeyKind) ++counts_.objects;
    return absl::OkStatus();
  }

  absl::Status Commit(const BackupCounts& expected) override {
    if (counts_.cluster != expected.cluster ||
        counts_.policy != expected.policy || counts_.users != expected.users ||
        counts_.objects != expected.objects) {
      return absl::FailedPreconditionError(
          "the backup's records do not match the counts in its header");
    }
    if (!staged_.cluster || staged_.cluster->cluster_cert_pem.empty() ||
        staged_.cluster->cluster_id != origin_.cluster_id) {
      return absl::FailedPreconditionError(
          "the backup holds no certified identity of the cluster its header "
          "names");
    }
    std::unique_lock lock(core_.mu);
    COFFER_RETURN_IF_ERROR(CheckRestoreTarget(core_, origin_));
    COFFER_FAULT_POINT("restore.before_replace");
    // The one durable step: the old state or the new one, never a mix.
    // Records are re-encoded one at a time (the encodings are
    // deterministic, so these are the bytes the backup carried), keeping
    // the restore's memory at about the size of the state itself.
    COFFER_RETURN_IF_ERROR(core_.state_store->ReplaceAllFrom(StagedRecords()));
    COFFER_FAULT_POINT("restore.after_replace");
    core_.cluster = std::move(staged_.cluster);
    core_.policy = staged_.policy;
    core_.users = std::move(staged_.users);
    core_.keys = std::move(staged_.keys);
    core_.private_keys.clear();
    core_.sessions.clear();
    committed_();
    return internal::SettleAfterRestore(core_);
  }

 private:
  bool AlreadyStaged(const std::string& kind, const std::string& id) const {
    if (kind == kClusterKind) return counts_.cluster != 0;
    if (kind == kPolicyKind) return counts_.policy != 0;
    if (kind == kUserKind) return staged_.users.count(id) != 0;
    ObjectHandle handle = 0;
    return absl::SimpleAtoi(id, &handle) && staged_.keys.count(handle) != 0;
  }

  // The staged state as store writes, in backup order.
  store::SealedStore::RecordSource StagedRecords() const {
    auto user = staged_.users.begin();
    auto key = staged_.keys.begin();
    return
        [this, step = 0, user,
         key]() mutable -> absl::StatusOr<std::optional<store::RecordWrite>> {
          if (step == 0) {
            step = 1;
            return store::RecordWrite{kClusterKind, "identity",
                                      Encode(*staged_.cluster)};
          }
          if (step == 1) {
            step = 2;
            return store::RecordWrite{kPolicyKind, "policy",
                                      Encode(staged_.policy)};
          }
          if (user != staged_.users.end()) {
            const auto& [name, record] = *user++;
            return store::RecordWrite{kUserKind, name, Encode(record)};
          }
          if (key != staged_.keys.end()) {
            const auto& [handle, object] = *key++;
            return store::RecordWrite{kKeyKind, internal::KeyRecordId(handle),
                                      Encode(object)};
          }
          return std::nullopt;
        };
  }

  // Whether the record just applied is stored under the id its payload
  // implies, so the store's (kind, id) and the object always agree.
  absl::Status CheckId(const std::string& kind, const std::string& id) const {
    bool ok = true;
    if (kind == kUserKind) ok = staged_.users.count(id) == 1;
    if (kind == kClusterKind) ok = id == "identity";
    if (kind == kPolicyKind) ok = id == "policy";
    if (kind == kKeyKind) {
      // Apply() parsed `id` as a handle; the decimal form must be canonical
      // and the payload's own handle the same.
      ObjectHandle handle = 0;
      ok = absl::SimpleAtoi(id, &handle) && internal::KeyRecordId(handle) == id;
      auto it = ok ? staged_.keys.find(handle) : staged_.keys.end();
      ok = it != staged_.keys.end() && it->second.handle == handle;
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("backup record ", kind, "/", id,
                       " does not match the object it holds"));
    }
    return absl::OkStatus();
  }

  Core& core_;
  BackupOrigin origin_;
  SecretBytes ebk_;
  std::function<void()> committed_;
  Core staged_;  // only its maps are used
  BackupCounts counts_;
};

}  // namespace

namespace internal {

absl::Status SettleAfterRestore(Core& core) {
  std::vector<store::RecordWrite> writes;
  if (!core.tamper_reason.empty()) {
    writes.push_back({kTamperKind, kTamperReasonId, std::nullopt});
    if (core.tamper_erased_generation) {
      writes.push_back({kTamperKind, kTamperErasedAtId, std::nullopt});
    }
  }
  const bool certified =
      core.cluster && !core.cluster->cluster_cert_pem.empty();
  if (certified &&
      (!core.tls || !TlsIdentityMatches(*core.tls, *core.cluster))) {
    COFFER_ASSIGN_OR_RETURN(TlsIdentityRecord tls,
                            IssueTlsIdentity(core, *core.cluster));
    writes.push_back({kTlsIdentityKind, "server", Encode(tls)});
  }
  COFFER_RETURN_IF_ERROR(core.CommitDevice(std::move(writes)));
  core.state = DeriveState(core);
  return absl::OkStatus();
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<BackupSnapshot>> Hsm::OpenBackupSnapshot(
    const Caller* caller) const {
  std::shared_lock lock(core_->mu);
  const HsmState state = core_->state;
  if (state != HsmState::kActive && state != HsmState::kUnactivated) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a backup can be made only of an UNACTIVATED or ACTIVE HSM; this HSM "
        "is ",
        std::string(StateName(state))));
  }
  if (state == HsmState::kActive &&
      (caller == nullptr || caller->role == Role::kCryptoUser)) {
    return absl::PermissionDeniedError(
        "only an admin or an appliance user may create a backup");
  }
  BackupOrigin origin;
  origin.cluster_id = core_->cluster->cluster_id;
  origin.serial = core_->device->serial;
  origin.manufacturer_id = core_->device->manufacturer_id;
  origin.firmware_version = core_->device->firmware_version;
  origin.mode = core_->commission->mode;
  origin.log_position = core_->cluster->log_position;
  origin.service_kcv = core_->commission->akbk_kcv_hex;
  COFFER_ASSIGN_OR_RETURN(
      crypto::Certificate cert,
      crypto::Certificate::FromPem(core_->device->device_cert_pem));
  origin.device_cert_der = cert.ToDer();
  return std::make_unique<Snapshot>(*core_, std::move(lock), std::move(origin));
}

absl::StatusOr<std::unique_ptr<RestoreSession>> Hsm::BeginRestore(
    const BackupOrigin& origin, int64_t created_at, ByteView wrapped_ebk,
    const Caller* caller) {
  if (Info().state == HsmState::kActive) {
    if (caller == nullptr || caller->role != Role::kAdmin) {
      return absl::PermissionDeniedError(
          "restoring a backup onto an ACTIVE HSM needs an admin's session");
    }
    // A restore replaces every user and every quorum setting, so it takes
    // the stronger of the two quorums that guard those; otherwise one
    // admin could undo what M admins decided by restoring an older backup.
    const bool changes_stronger =
        quorum_->Quorum(QuorumService::kQuorumChanges) >
        quorum_->Quorum(QuorumService::kUserManagement);
    COFFER_RETURN_IF_ERROR(quorum_->Require(
        *caller, changes_stronger ? QuorumService::kQuorumChanges
                                  : QuorumService::kUserManagement));
  }
  std::shared_lock lock(core_->mu);
  COFFER_RETURN_IF_ERROR(CheckRestoreTarget(*core_, origin));
  COFFER_RETURN_IF_ERROR(CheckDeviceCertificate(*core_, origin, created_at));
  COFFER_ASSIGN_OR_RETURN(crypto::AesKeyWrap wrap, PbkWrapper(*core_));
  absl::StatusOr<SecretBytes> ebk = wrap.Unwrap(wrapped_ebk);
  if (!ebk.ok() || ebk->size() != kBackupKeySize) {
    return absl::DataLossError(
        "the backup's EBK does not unwrap under this HSM's PBK: the backup "
        "was altered, or made under another MKBK or AKBK than its header "
        "claims");
  }
  return std::make_unique<Restore>(*core_, origin, *std::move(ebk),
                                   [this] { quorum_->ForgetTokens(); });
}

}  // namespace coffer::hsm
