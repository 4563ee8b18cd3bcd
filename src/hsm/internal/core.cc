#include "hsm/internal/core.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace coffer::hsm::internal {

std::string KeyRecordId(ObjectHandle handle) { return absl::StrCat(handle); }

absl::Status Core::Apply(const std::string& kind, const std::string& id,
                         const crypto::SecretBytes* payload) {
  if (kind == kUserKind) {
    if (payload == nullptr) {
      users.erase(id);
      return absl::OkStatus();
    }
    COFFER_ASSIGN_OR_RETURN(UserRecord user, DecodeUser(*payload));
    users[user.name] = std::move(user);
    return absl::OkStatus();
  }
  if (kind == kKeyKind) {
    ObjectHandle handle = 0;
    if (!absl::SimpleAtoi(id, &handle)) {
      return absl::InvalidArgumentError("key record id is not a handle");
    }
    private_keys.erase(handle);
    if (payload == nullptr) {
      keys.erase(handle);
      return absl::OkStatus();
    }
    COFFER_ASSIGN_OR_RETURN(KeyObject key, DecodeKey(*payload));
    keys[handle] = std::move(key);
    return absl::OkStatus();
  }
  if (kind == kSyncKind) {
    if (payload == nullptr || payload->size() != 8) {
      return absl::InvalidArgumentError("sync position is not 8 bytes");
    }
    uint64_t position = 0;
    for (uint8_t b : payload->ExposeSecret()) position = position << 8 | b;
    if (cluster) cluster->log_position = position;
    return absl::OkStatus();
  }
  if (kind == kTamperKind && payload == nullptr) {
    // A completed restore clears the marker.
    if (id == kTamperErasedAtId) {
      tamper_erased_generation.reset();
    } else {
      tamper_reason.clear();
    }
    return absl::OkStatus();
  }
  if (payload == nullptr) {
    // Whole-record kinds are only ever replaced, never deleted one by one.
    return absl::InvalidArgumentError(
        absl::StrCat("record kind ", kind, " cannot be deleted"));
  }
  if (kind == kClusterKind) {
    COFFER_ASSIGN_OR_RETURN(cluster, DecodeCluster(*payload));
  } else if (kind == kPolicyKind) {
    COFFER_ASSIGN_OR_RETURN(policy, DecodePolicy(*payload));
  } else if (kind == kDeviceKind) {
    COFFER_ASSIGN_OR_RETURN(device, DecodeDevice(*payload));
  } else if (kind == kCommissionKind) {
    COFFER_ASSIGN_OR_RETURN(commission, DecodeCommission(*payload));
  } else if (kind == kTamperKind && id == kTamperErasedAtId) {
    ByteView raw = payload->ExposeSecret();
    if (raw.size() != 8) {
      return absl::InvalidArgumentError("tamper generation is not 8 bytes");
    }
    uint64_t generation = 0;
    for (uint8_t b : raw) generation = generation << 8 | b;
    tamper_erased_generation = generation;
  } else if (kind == kTamperKind) {
    ByteView reason = payload->ExposeSecret();
    tamper_reason = std::string(reason.begin(), reason.end());
  } else if (kind == kTlsIdentityKind) {
    COFFER_ASSIGN_OR_RETURN(tls, DecodeTlsIdentity(*payload));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown record kind ", kind));
  }
  return absl::OkStatus();
}

absl::Status CommitRecords(Core& core, store::SealedStore& store,
                           std::vector<store::RecordWrite> writes) {
  // Keep what memory needs before the store takes ownership.
  struct Pending {
    std::string kind, id;
    std::optional<crypto::SecretBytes> payload;
  };
  std::vector<Pending> pending;
  pending.reserve(writes.size());
  for (const store::RecordWrite& w : writes) {
    pending.push_back(
        {w.kind, w.id,
         w.payload ? std::optional(w.payload->Clone()) : std::nullopt});
  }
  COFFER_RETURN_IF_ERROR(store.Commit(std::move(writes)).status());
  for (const Pending& p : pending) {
    COFFER_RETURN_IF_ERROR(
        core.Apply(p.kind, p.id, p.payload ? &*p.payload : nullptr));
  }
  return absl::OkStatus();
}

absl::Status Core::CommitState(std::vector<store::RecordWrite> writes) {
  if (!Synced() || writes.empty()) {
    return CommitRecords(*this, *state_store, std::move(writes));
  }
  return CommitThroughLog(*this, std::move(writes));
}

absl::Status Core::CommitDevice(std::vector<store::RecordWrite> writes) {
  return CommitRecords(*this, *device_store, std::move(writes));
}

}  // namespace coffer::hsm::internal
