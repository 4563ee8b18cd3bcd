// The backup catalog's transitions for the backup and copy workflows
// (control_plane.h; state table in docs/manager.md, "Backup"). The bytes
// are archived by the workflow between a Begin* and FinishBackup; here only
// the catalog moves.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "manager/control_plane.h"
#include "manager/internal/rules.h"

namespace coffer::manager {
namespace {

using internal::IllegalState;

// A backup needs a cluster whose HSMs hold its keys: a working one, or one
// whose HSM set is about to change (the backup comes first).
bool CanBackUp(ClusterState state) {
  return state == ClusterState::kActive || state == ClusterState::kDegraded ||
         state == ClusterState::kUpdateInProgress;
}

}  // namespace

absl::StatusOr<Backup> ControlPlane::BeginBackup(const std::string& cluster_id,
                                                 const std::vector<Tag>& tags) {
  COFFER_RETURN_IF_ERROR(internal::ValidateTags(tags));
  absl::MutexLock lock(&mu_);
  Backup backup;
  auto body = [&]() -> absl::Status {
    COFFER_ASSIGN_OR_RETURN(Cluster cluster, store_->GetCluster(cluster_id));
    if (!CanBackUp(cluster.state)) {
      return IllegalState("CreateBackup", "cluster", cluster_id,
                          Name(cluster.state),
                          "ACTIVE, DEGRADED or UPDATE_IN_PROGRESS");
    }
    backup.cluster_id = cluster.cluster_id;
    backup.region = cluster.region;
    backup.mode = cluster.mode;
    backup.state = BackupState::kCreateInProgress;
    backup.create_time = options_.clock();
    COFFER_ASSIGN_OR_RETURN(backup.backup_id, NewId("backup"));
    COFFER_RETURN_IF_ERROR(store_->PutBackup(backup));
    return store_->SetTags(backup.backup_id, tags);
  };
  COFFER_RETURN_IF_ERROR(store_->Transaction(body));
  return store_->GetBackup(backup.backup_id);
}

absl::StatusOr<Backup> ControlPlane::FinishBackup(const std::string& backup_id,
                                                  bool succeeded) {
  return UpdateBackup(backup_id, [this, succeeded](Backup& b) -> absl::Status {
    if (b.state != BackupState::kCreateInProgress) {
      return IllegalState("FinishBackup", "backup", b.backup_id, Name(b.state),
                          "CREATE_IN_PROGRESS");
    }
    if (succeeded) {
      b.state = BackupState::kReady;
    } else {
      // Never usable, so no PENDING_DELETION grace period.
      b.state = BackupState::kDeleted;
      b.delete_time = options_.clock();
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<Backup> ControlPlane::BeginCopy(
    const std::string& source_backup_id, const std::string& destination_region,
    const std::vector<Tag>& tags) {
  COFFER_RETURN_IF_ERROR(
      internal::ValidateRegion(destination_region, "destination_region"));
  COFFER_RETURN_IF_ERROR(internal::ValidateTags(tags));
  absl::MutexLock lock(&mu_);
  Backup copy;
  auto body = [&]() -> absl::Status {
    COFFER_ASSIGN_OR_RETURN(Backup source, store_->GetBackup(source_backup_id));
    if (source.state != BackupState::kReady) {
      return IllegalState("CopyBackupToRegion", "backup", source.backup_id,
                          Name(source.state), "READY");
    }
    if (source.region == destination_region) {
      return absl::FailedPreconditionError(absl::StrCat(
          "CopyBackupToRegion is not allowed: backup ", source.backup_id,
          " is already in region ", destination_region,
          "; a copy must go to another region"));
    }
    copy.cluster_id = source.cluster_id;
    copy.region = destination_region;
    copy.mode = source.mode;
    copy.state = BackupState::kCreateInProgress;
    // As in CloudHSM, a copy keeps its source's creation time; copy_time
    // says when it was made. never_expires stays false: copies carry no
    // retention at all.
    copy.create_time = source.create_time;
    copy.source_backup_id = source.backup_id;
    copy.source_region = source.region;
    copy.source_cluster_id = source.cluster_id;
    copy.copy_time = options_.clock();
    COFFER_ASSIGN_OR_RETURN(copy.backup_id, NewId("backup"));
    COFFER_RETURN_IF_ERROR(store_->PutBackup(copy));
    return store_->SetTags(copy.backup_id, tags);
  };
  COFFER_RETURN_IF_ERROR(store_->Transaction(body));
  return store_->GetBackup(copy.backup_id);
}

}  // namespace coffer::manager
