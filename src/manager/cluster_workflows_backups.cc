// ClusterWorkflows: backups into the archive, copies, purges.
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"
#include "manager/cluster_workflows.h"
#include "manager/internal/rules.h"
#include "manager/internal/workflow_util.h"

namespace coffer::manager {
namespace {

using internal::ArchiveMeta;
using internal::FindHsm;
using internal::kBackupIoTimeout;
using internal::Now;
using internal::Settled;

}  // namespace

// --- Backups -----------------------------------------------------------

absl::StatusOr<Backup> ClusterWorkflows::TakeBackup(
    const Cluster& cluster, const Hsm& hsm, const std::vector<Tag>& tags) {
  COFFER_ASSIGN_OR_RETURN(Backup backup,
                          cp_.BeginBackup(cluster.cluster_id, tags));
  auto work = [&]() -> absl::Status {
    COFFER_ASSIGN_OR_RETURN(HsmCall call,
                            Connect(cluster, hsm.endpoint, kBackupIoTimeout));
    COFFER_RETURN_IF_ERROR(call.ServiceLogin());
    COFFER_ASSIGN_OR_RETURN(std::unique_ptr<BackupArchive::Writer> writer,
                            archive_.BeginStore(ArchiveMeta(backup)));
    COFFER_RETURN_IF_ERROR(call.client
                               .CreateBackup([&writer](ByteView chunk) {
                                 return writer->Write(chunk);
                               })
                               .status());
    return writer->Finish();
  };
  const absl::Status done = work();
  COFFER_ASSIGN_OR_RETURN(Backup finished,
                          cp_.FinishBackup(backup.backup_id, done.ok()));
  if (!done.ok()) {
    return absl::Status(
        done.code(),
        absl::StrCat("backup of cluster ", cluster.cluster_id, " from HSM ",
                     hsm.hsm_id, " failed: ", done.message()));
  }
  Log("cluster %s: backup %s READY (from HSM %s)", cluster.cluster_id.c_str(),
      backup.backup_id.c_str(), hsm.hsm_id.c_str());
  return finished;
}

absl::StatusOr<Backup> ClusterWorkflows::CreateBackup(
    const std::string& cluster_id, const std::vector<Tag>& tags) {
  absl::MutexLock lock(&ClusterLock(cluster_id));
  COFFER_ASSIGN_OR_RETURN(Cluster cluster, cp_.GetCluster(cluster_id));
  if (cluster.state != ClusterState::kActive &&
      cluster.state != ClusterState::kDegraded) {
    return internal::IllegalState("CreateBackup", "cluster", cluster_id,
                                  Name(cluster.state), "ACTIVE or DEGRADED");
  }
  std::string why = "it has no HSM";
  for (const Hsm& h : cluster.hsms) {
    if (h.state == HsmState::kActive && Healthy(cluster, h, &why)) {
      return TakeBackup(cluster, h, tags);
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "CreateBackup needs a healthy HSM in cluster ", cluster_id, ": ", why));
}

absl::StatusOr<Backup> ClusterWorkflows::CopyBackupToRegion(
    const std::string& backup_id, const std::string& destination_region,
    const std::vector<Tag>& tags) {
  BackupFilter filter;
  filter.backup_ids = {backup_id};
  COFFER_ASSIGN_OR_RETURN(Page<Backup> page, cp_.DescribeBackups(filter, {}));
  if (page.items.empty()) {
    return absl::NotFoundError(absl::StrCat("no backup ", backup_id));
  }
  const Backup source = page.items[0];
  COFFER_ASSIGN_OR_RETURN(Backup copy,
                          cp_.BeginCopy(backup_id, destination_region, tags));
  const absl::Status copied =
      archive_.Copy(ArchiveMeta(source), ArchiveMeta(copy));
  COFFER_ASSIGN_OR_RETURN(Backup finished,
                          cp_.FinishBackup(copy.backup_id, copied.ok()));
  COFFER_RETURN_IF_ERROR(copied);
  return finished;
}

void ClusterWorkflows::DropArchived(const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  BackupFilter filter;
  filter.backup_ids = ids;
  PageRequest page;
  page.max_results = 100;
  absl::StatusOr<Page<Backup>> backups = cp_.DescribeBackups(filter, page);
  if (!backups.ok()) return;
  for (const Backup& b : backups->items) {
    absl::Status s = archive_.Delete(ArchiveMeta(b));
    if (!s.ok() && !absl::IsNotFound(s)) {
      Log("could not delete archived backup %s: %s", b.backup_id.c_str(),
          std::string(s.message()).c_str());
    }
  }
}

}  // namespace coffer::manager
