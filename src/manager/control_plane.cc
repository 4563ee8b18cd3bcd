// Mutations of the control plane. The list calls are in
// control_plane_lists.cc. State machines: docs/manager.md.
#include "manager/control_plane.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/bytes.h"
#include "base/status.h"
#include "crypto/random.h"
#include "manager/internal/rules.h"

namespace coffer::manager {
namespace {

using internal::IllegalState;

int64_t SystemClock() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// 48 random bits: unlikely to collide within one manager's lifetime, and
// NewId() draws again if it does.
absl::StatusOr<std::string> RandomId(absl::string_view prefix) {
  COFFER_ASSIGN_OR_RETURN(Bytes bytes, crypto::RandomBytes(6));
  return absl::StrCat(prefix, "-", HexEncode(bytes));
}

// States in which a cluster's metadata may change and it may be deleted:
// the settled ones. *_IN_PROGRESS states belong to a running workflow and
// DELETED is final.
bool IsSettled(ClusterState state) {
  return state == ClusterState::kUninitialized ||
         state == ClusterState::kInitialized ||
         state == ClusterState::kActive || state == ClusterState::kDegraded;
}
constexpr absl::string_view kSettledStates =
    "UNINITIALIZED, INITIALIZED, ACTIVE or DEGRADED";

absl::Status ValidateSourceBackup(const Backup& backup,
                                  const CreateClusterParams& params) {
  if (backup.state != BackupState::kReady) {
    return IllegalState("CreateCluster from a backup", "backup",
                        backup.backup_id, Name(backup.state), "READY");
  }
  if (backup.region != params.region) {
    return absl::InvalidArgumentError(absl::StrCat(
        "backup ", backup.backup_id, " is in region ", backup.region, ", not ",
        params.region,
        ": a cluster is created from a backup of its own region (copy the "
        "backup there with CopyBackupToRegion first)"));
  }
  if (params.mode.has_value() && *params.mode != backup.mode) {
    return absl::InvalidArgumentError(
        absl::StrCat("mode ", Name(*params.mode), " differs from the ",
                     Name(backup.mode), " mode of backup ", backup.backup_id,
                     ": leave mode unset or give the backup's"));
  }
  return absl::OkStatus();
}

absl::Status ValidateCreateCluster(const CreateClusterParams& params) {
  COFFER_RETURN_IF_ERROR(internal::ValidateRegion(params.region, "region"));
  if (params.backup_retention_days != 0) {
    COFFER_RETURN_IF_ERROR(
        internal::ValidateRetention(params.backup_retention_days));
  }
  if (!params.mode.has_value() && params.source_backup_id.empty()) {
    return absl::InvalidArgumentError("mode must be FIPS or NON_FIPS");
  }
  return internal::ValidateTags(params.tags);
}

}  // namespace

std::unique_ptr<ControlPlane> ControlPlane::Create(
    std::unique_ptr<StateStore> store, ControlPlaneOptions options) {
  if (!options.clock) options.clock = SystemClock;
  if (!options.new_id) options.new_id = RandomId;
  return std::unique_ptr<ControlPlane>(
      new ControlPlane(std::move(store), std::move(options)));
}

ControlPlane::ControlPlane(std::unique_ptr<StateStore> store,
                           ControlPlaneOptions options)
    : store_(std::move(store)), options_(std::move(options)) {}

absl::StatusOr<std::string> ControlPlane::NewId(absl::string_view prefix) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    COFFER_ASSIGN_OR_RETURN(std::string id, options_.new_id(prefix));
    COFFER_ASSIGN_OR_RETURN(bool taken, store_->IdExists(id));
    if (!taken) return id;
  }
  return absl::InternalError(
      absl::StrCat("could not draw an unused ", prefix, " id"));
}

absl::StatusOr<Cluster> ControlPlane::CreateCluster(
    const CreateClusterParams& params) {
  COFFER_RETURN_IF_ERROR(ValidateCreateCluster(params));
  absl::MutexLock lock(&mu_);
  Cluster cluster;
  auto body = [&]() -> absl::Status {
    cluster.region = params.region;
    cluster.backup_retention_days = params.backup_retention_days != 0
                                        ? params.backup_retention_days
                                        : internal::kDefaultRetentionDays;
    cluster.create_time = options_.clock();
    // Without a backup, the first HSM's CSR must be signed first
    // (InitializeCluster); a backup already holds the cluster's PKI, users
    // and keys, so its cluster starts INITIALIZED (as in CloudHSM).
    cluster.state = ClusterState::kUninitialized;
    if (!params.source_backup_id.empty()) {
      COFFER_ASSIGN_OR_RETURN(Backup backup,
                              store_->GetBackup(params.source_backup_id));
      COFFER_RETURN_IF_ERROR(ValidateSourceBackup(backup, params));
      cluster.source_backup_id = backup.backup_id;
      cluster.mode = backup.mode;
      cluster.state = ClusterState::kInitialized;
      // The backup carries the cluster certificate; the new cluster shows
      // it and its HSMs serve TLS under it.
      COFFER_ASSIGN_OR_RETURN(Cluster source,
                              store_->GetCluster(backup.cluster_id));
      cluster.cluster_certificate_pem = source.cluster_certificate_pem;
      cluster.trust_anchor_pem = source.trust_anchor_pem;
    } else {
      cluster.mode = *params.mode;
    }
    COFFER_ASSIGN_OR_RETURN(cluster.cluster_id, NewId("cluster"));
    COFFER_RETURN_IF_ERROR(store_->PutCluster(cluster));
    return store_->SetTags(cluster.cluster_id, params.tags);
  };
  COFFER_RETURN_IF_ERROR(store_->Transaction(body));
  return store_->GetCluster(cluster.cluster_id);
}

absl::StatusOr<Cluster> ControlPlane::ModifyCluster(
    const std::string& cluster_id, uint32_t backup_retention_days) {
  COFFER_RETURN_IF_ERROR(internal::ValidateRetention(backup_retention_days));
  absl::MutexLock lock(&mu_);
  auto body = [&]() -> absl::Status {
    COFFER_ASSIGN_OR_RETURN(Cluster cluster, store_->GetCluster(cluster_id));
    if (!IsSettled(cluster.state)) {
      return IllegalState("ModifyCluster", "cluster", cluster_id,
                          Name(cluster.state), kSettledStates);
    }
    cluster.backup_retention_days = backup_retention_days;
    return store_->PutCluster(cluster);
  };
  COFFER_RETURN_IF_ERROR(store_->Transaction(body));
  return store_->GetCluster(cluster_id);
}

absl::StatusOr<Cluster> ControlPlane::DeleteCluster(
    const std::string& cluster_id) {
  absl::MutexLock lock(&mu_);
  auto body = [&]() -> absl::Status {
    COFFER_ASSIGN_OR_RETURN(Cluster cluster, store_->GetCluster(cluster_id));
    if (!IsSettled(cluster.state)) {
      return IllegalState("DeleteCluster", "cluster", cluster_id,
                          Name(cluster.state), kSettledStates);
    }
    std::vector<std::string> live;
    for (const Hsm& hsm : cluster.hsms) {
      if (hsm.state != HsmState::kDeleted) live.push_back(hsm.hsm_id);
    }
    if (!live.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "DeleteCluster is not allowed: cluster ", cluster_id, " still has ",
          live.size(), live.size() == 1 ? " HSM (" : " HSMs (",
          absl::StrJoin(live, ", "), "); delete them first with DeleteHsm"));
    }
    // No HSM means nothing to tear down, so DELETE_IN_PROGRESS is passed
    // through within this transaction. Backups and tags stay: a deleted
    // cluster's backups can still make a new cluster.
    cluster.state = ClusterState::kDeleted;
    cluster.state_message = "deleted on request";
    return store_->PutCluster(cluster);
  };
  COFFER_RETURN_IF_ERROR(store_->Transaction(body));
  return store_->GetCluster(cluster_id);
}

absl::StatusOr<Cluster> ControlPlane::GetCluster(
    const std::string& cluster_id) {
  absl::MutexLock lock(&mu_);
  return store_->GetCluster(cluster_id);
}

absl::StatusOr<Cluster> ControlPlane::UpdateCluster(
    const std::string& cluster_id,
    const std::function<absl::Status(Cluster&)>& change) {
  absl::MutexLock lock(&mu_);
  auto body = [&]() -> absl::Status {
    COFFER_ASSIGN_OR_RETURN(Cluster cluster, store_->GetCluster(cluster_id));
    COFFER_RETURN_IF_ERROR(change(cluster));
    for (const Hsm& hsm : cluster.hsms) {
      COFFER_RETURN_IF_ERROR(store_->PutHsm(hsm));
    }
    return store_->PutCluster(cluster);
  };
  COFFER_RETURN_IF_ERROR(store_->Transaction(body));
  return store_->GetCluster(cluster_id);
}

absl::StatusOr<std::string> ControlPlane::ReserveId(absl::string_view prefix) {
  absl::MutexLock lock(&mu_);
  return NewId(prefix);
}

absl::StatusOr<Backup> ControlPlane::UpdateBackup(
    const std::string& backup_id,
    const std::function<absl::Status(Backup&)>& change) {
  absl::MutexLock lock(&mu_);
  auto body = [&]() -> absl::Status {
    COFFER_ASSIGN_OR_RETURN(Backup backup, store_->GetBackup(backup_id));
    COFFER_RETURN_IF_ERROR(change(backup));
    return store_->PutBackup(backup);
  };
  COFFER_RETURN_IF_ERROR(store_->Transaction(body));
  return store_->GetBackup(backup_id);
}

absl::StatusOr<Backup> ControlPlane::DeleteBackup(
    const std::string& backup_id) {
  return UpdateBackup(backup_id, [this](Backup& b) -> absl::Status {
    if (b.state != BackupState::kReady) {
      return IllegalState("DeleteBackup", "backup", b.backup_id, Name(b.state),
                          "READY");
    }
    b.state = BackupState::kPendingDeletion;
    b.delete_time = options_.clock();
    return absl::OkStatus();
  });
}

absl::StatusOr<Backup> ControlPlane::RestoreBackup(
    const std::string& backup_id) {
  return UpdateBackup(backup_id, [](Backup& b) -> absl::Status {
    if (b.state != BackupState::kPendingDeletion) {
      return IllegalState("RestoreBackup", "backup", b.backup_id, Name(b.state),
                          "PENDING_DELETION");
    }
    b.state = BackupState::kReady;
    b.delete_time = 0;
    return absl::OkStatus();
  });
}

absl::StatusOr<Backup> ControlPlane::ModifyBackupAttributes(
    const std::string& backup_id, bool never_expires) {
  return UpdateBackup(backup_id, [never_expires](Backup& b) -> absl::Status {
    if (b.state == BackupState::kDeleted) {
      return IllegalState("ModifyBackupAttributes", "backup", b.backup_id,
                          Name(b.state),
                          "CREATE_IN_PROGRESS, READY or PENDING_DELETION");
    }
    b.never_expires = never_expires;
    return absl::OkStatus();
  });
}

absl::Status ControlPlane::CheckTaggable(const std::string& resource_id) {
  if (resource_id.starts_with("cluster-")) {
    COFFER_ASSIGN_OR_RETURN(Cluster c, store_->GetCluster(resource_id));
    if (c.state == ClusterState::kDeleted) {
      return IllegalState("tagging", "cluster", resource_id, Name(c.state),
                          "any state but DELETED");
    }
    return absl::OkStatus();
  }
  if (resource_id.starts_with("backup-")) {
    COFFER_ASSIGN_OR_RETURN(Backup b, store_->GetBackup(resource_id));
    if (b.state == BackupState::kDeleted) {
      return IllegalState("tagging", "backup", resource_id, Name(b.state),
                          "any state but DELETED");
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("resource_id \"", resource_id.substr(0, 64),
                   "\" is neither a cluster id (cluster-...) nor a backup "
                   "id (backup-...)"));
}

absl::Status ControlPlane::TagResource(const std::string& resource_id,
                                       const std::vector<Tag>& tags) {
  if (tags.empty()) return absl::InvalidArgumentError("no tags given");
  COFFER_RETURN_IF_ERROR(internal::ValidateTags(tags));
  absl::MutexLock lock(&mu_);
  auto body = [&]() -> absl::Status {
    COFFER_RETURN_IF_ERROR(CheckTaggable(resource_id));
    COFFER_ASSIGN_OR_RETURN(std::vector<Tag> existing,
                            store_->GetTags(resource_id));
    COFFER_ASSIGN_OR_RETURN(std::vector<Tag> merged,
                            internal::MergeTags(std::move(existing), tags));
    return store_->SetTags(resource_id, merged);
  };
  return store_->Transaction(body);
}

absl::Status ControlPlane::UntagResource(const std::string& resource_id,
                                         const std::vector<std::string>& keys) {
  if (keys.empty()) return absl::InvalidArgumentError("no tag keys given");
  std::vector<Tag> as_tags;
  for (const std::string& key : keys) as_tags.push_back(Tag{key, ""});
  COFFER_RETURN_IF_ERROR(internal::ValidateTags(as_tags));
  absl::MutexLock lock(&mu_);
  auto body = [&]() -> absl::Status {
    COFFER_RETURN_IF_ERROR(CheckTaggable(resource_id));
    COFFER_ASSIGN_OR_RETURN(std::vector<Tag> tags,
                            store_->GetTags(resource_id));
    std::erase_if(tags, [&keys](const Tag& tag) {
      return std::find(keys.begin(), keys.end(), tag.key) != keys.end();
    });
    return store_->SetTags(resource_id, tags);
  };
  return store_->Transaction(body);
}

absl::StatusOr<RetentionReport> ControlPlane::RunRetention(int64_t now) {
  absl::MutexLock lock(&mu_);
  RetentionReport report;
  auto body = [&]() -> absl::Status {
    report = {};
    COFFER_ASSIGN_OR_RETURN(std::vector<Cluster> clusters,
                            store_->ListClusters());
    COFFER_ASSIGN_OR_RETURN(std::vector<Backup> backups, store_->ListBackups());
    std::map<std::string, uint32_t> retention_days;
    for (const Cluster& c : clusters) {
      retention_days[c.cluster_id] = c.backup_retention_days;
    }
    // The newest READY original of each cluster is what a restore would
    // use; it is kept whatever its age. Backups are listed oldest first.
    std::map<std::string, std::string> newest;
    for (const Backup& b : backups) {
      if (b.state == BackupState::kReady && !b.is_copy()) {
        newest[b.cluster_id] = b.backup_id;
      }
    }
    for (Backup& b : backups) {
      if (b.state == BackupState::kPendingDeletion &&
          b.delete_time + kPurgeDelaySeconds <= now) {
        b.state = BackupState::kDeleted;
        b.delete_time = now;
        report.purged.push_back(b.backup_id);
      } else if (b.state == BackupState::kReady && !b.never_expires &&
                 !b.is_copy() && newest[b.cluster_id] != b.backup_id &&
                 b.create_time +
                         int64_t{retention_days[b.cluster_id]} * 86400 <=
                     now) {
        b.state = BackupState::kPendingDeletion;
        b.delete_time = now;
        report.expired.push_back(b.backup_id);
      } else {
        continue;
      }
      COFFER_RETURN_IF_ERROR(store_->PutBackup(b));
    }
    return absl::OkStatus();
  };
  COFFER_RETURN_IF_ERROR(store_->Transaction(body));
  return report;
}

}  // namespace coffer::manager
