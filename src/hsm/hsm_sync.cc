// Cluster sync inside the HSM (cluster_sync.h, docs/log.md): mutations
// through the log, and applying other HSMs' entries in order.
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "hsm/hsm.h"
#include "hsm/internal/core.h"
#include "hsm/internal/log_entry.h"

namespace coffer::hsm {
namespace internal {
namespace {

store::RecordWrite SyncPositionWrite(uint64_t position) {
  Bytes raw(8);
  for (int i = 0; i < 8; ++i) {
    raw[i] = static_cast<uint8_t>(position >> (56 - 8 * i));
  }
  return {kSyncKind, kSyncPositionId, crypto::SecretBytes::CopyOf(raw)};
}

bool ClusterScope(const std::string& kind) {
  return kind == kUserKind || kind == kKeyKind || kind == kPolicyKind ||
         kind == kClusterKind;
}

// Whether the record a delete names exists here (a replayed delete of a
// record this HSM never had, or already dropped, is a no-op).
bool Exists(const Core& core, const store::RecordWrite& w) {
  if (w.kind == kUserKind) return core.users.count(w.id) != 0;
  if (w.kind == kKeyKind) {
    for (const auto& [handle, key] : core.keys) {
      if (KeyRecordId(handle) == w.id) return true;
    }
    return false;
  }
  return true;
}

absl::Status Stop(Core& core, absl::Status status) {
  core.sync_error = std::string(status.message());
  return status;
}

// Applies the entry at `position` (= this HSM's position + 1).
absl::Status ApplyEntry(Core& core, uint64_t position, ByteView sealed) {
  absl::StatusOr<std::vector<store::RecordWrite>> writes = OpenLogEntry(
      core.cluster->sync_key, core.cluster->cluster_id, position, sealed);
  if (!writes.ok()) return Stop(core, writes.status());
  std::vector<store::RecordWrite> apply;
  // Users whose record changes, with the password hash they had.
  std::vector<std::pair<std::string, std::string>> users_before;
  for (store::RecordWrite& w : *writes) {
    if (!ClusterScope(w.kind)) {
      return Stop(core, absl::DataLossError(absl::StrCat(
                            "cluster log entry ", position, " writes a ",
                            w.kind, " record, which is not cluster state")));
    }
    if (!w.payload && !Exists(core, w)) continue;
    if (w.kind == kUserKind) {
      auto it = core.users.find(w.id);
      if (it != core.users.end()) {
        users_before.emplace_back(w.id, it->second.password_hash);
      }
    }
    apply.push_back(std::move(w));
  }
  apply.push_back(SyncPositionWrite(position));
  COFFER_RETURN_IF_ERROR(
      CommitRecords(core, *core.state_store, std::move(apply)));
  // As on the HSM that made the change: a deleted user, or one whose
  // password changed, loses its sessions here too.
  for (const auto& [name, hash] : users_before) {
    auto user = core.users.find(name);
    if (user != core.users.end() && user->second.password_hash == hash) {
      continue;
    }
    for (auto it = core.sessions.begin(); it != core.sessions.end();) {
      it = it->second.user == name ? core.sessions.erase(it) : std::next(it);
    }
  }
  return absl::OkStatus();
}

// Applies `entries` that follow this HSM's position; skips older ones.
absl::Status ApplyEntries(Core& core,
                          const std::vector<ClusterLogLink::Entry>& entries) {
  for (const ClusterLogLink::Entry& e : entries) {
    const uint64_t next = core.cluster->log_position + 1;
    if (e.position < next) continue;
    if (e.position > next) {
      return absl::UnavailableError(absl::StrCat("cluster log skipped from ",
                                                 next - 1, " to ", e.position,
                                                 "; will read again"));
    }
    COFFER_RETURN_IF_ERROR(ApplyEntry(core, e.position, e.sealed));
  }
  return absl::OkStatus();
}

}  // namespace

bool Core::Synced() const {
  return log != nullptr && cluster.has_value() &&
         cluster->sync_key.size() == kClusterSyncKeySize &&
         (state == HsmState::kUnactivated || state == HsmState::kActive);
}

absl::Status Core::CatchUpLocked() {
  if (!Synced()) return absl::OkStatus();
  if (!sync_error.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cluster sync stopped: ", sync_error));
  }
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(std::vector<ClusterLogLink::Entry> entries,
                            log->Read(cluster->log_position));
    if (entries.empty()) return absl::OkStatus();
    COFFER_RETURN_IF_ERROR(ApplyEntries(*this, entries));
  }
}

absl::Status CommitThroughLog(Core& core,
                              std::vector<store::RecordWrite> writes) {
  if (!core.sync_error.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cluster sync stopped, so this HSM takes no changes: ",
                     core.sync_error));
  }
  const uint64_t position = core.cluster->log_position;
  COFFER_ASSIGN_OR_RETURN(Bytes sealed, SealLogEntry(core.cluster->sync_key,
                                                     core.cluster->cluster_id,
                                                     position + 1, writes));
  absl::StatusOr<uint64_t> appended = core.log->Append(position, sealed);
  if (absl::IsAborted(appended.status())) {
    COFFER_RETURN_IF_ERROR(core.CatchUpLocked());
    return absl::AbortedError(kLogConflictMessage);
  }
  if (!appended.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the change was not acknowledged by the cluster log (",
        appended.status().message(),
        "); it may or may not have been applied: check before retrying"));
  }
  if (*appended != position + 1) {
    return Stop(core, absl::DataLossError(
                          absl::StrCat("the cluster log placed entry ",
                                       position + 1, " at ", *appended)));
  }
  writes.push_back(SyncPositionWrite(position + 1));
  // If this local commit fails, the entry is in the log all the same and
  // the next CatchUp applies it here.
  return CommitRecords(core, *core.state_store, std::move(writes));
}

}  // namespace internal

void Hsm::AttachClusterLog(std::shared_ptr<ClusterLogLink> link) {
  std::unique_lock lock(core_->mu);
  core_->log = std::move(link);
  core_->sync_error.clear();
}

absl::StatusOr<uint64_t> Hsm::CatchUp() {
  std::shared_ptr<ClusterLogLink> link;
  uint64_t position = 0;
  {
    std::shared_lock lock(core_->mu);
    if (!core_->Synced()) {
      return core_->cluster ? core_->cluster->log_position : 0;
    }
    if (!core_->sync_error.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cluster sync stopped: ", core_->sync_error));
    }
    link = core_->log;
    position = core_->cluster->log_position;
  }
  // Read without the lock, so crypto goes on meanwhile; apply under it.
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(std::vector<ClusterLogLink::Entry> entries,
                            link->Read(position));
    if (entries.empty()) return position;
    std::unique_lock lock(core_->mu);
    if (!core_->Synced()) return absl::AbortedError("sync detached");
    COFFER_RETURN_IF_ERROR(internal::ApplyEntries(*core_, entries));
    position = core_->cluster->log_position;
  }
}

}  // namespace coffer::hsm
