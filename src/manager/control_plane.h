// The control plane: clusters, HSMs, the backup catalog and tags, with the
// state machines and rules of docs/manager.md, over a StateStore. Plain
// C++ (no gRPC), so it is tested in-process; grpc_service.h serves it.
//
// Every mutation is one StateStore transaction: it happens entirely or not
// at all. Errors: InvalidArgument for bad input (the message names the
// field and the rule), NotFound for an unknown id, FailedPrecondition for a
// call the resource's current state does not allow (the message names the
// state and the call). The calls that touch HSMs or the archive are
// ClusterWorkflows' (cluster_workflows.h), built on the steps below.
// Thread-safe.
#ifndef COFFER_MANAGER_CONTROL_PLANE_H_
#define COFFER_MANAGER_CONTROL_PLANE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "manager/state_store.h"
#include "manager/types.h"

namespace coffer::manager {

struct ControlPlaneOptions {
  std::function<int64_t()> clock;  // Unix seconds; default: the system clock
  // A fresh id "<prefix>-<suffix>" for prefix "cluster", "hsm" or "backup";
  // default: 12 random hex digits (crypto::RandomBytes). Ids already in use
  // are drawn again.
  std::function<absl::StatusOr<std::string>(absl::string_view prefix)> new_id;
};

struct CreateClusterParams {
  std::string region;                  // [a-z0-9-]{1,32}
  std::optional<ClusterMode> mode;     // required without a source backup
  uint32_t backup_retention_days = 0;  // 7-379; 0: 90
  std::string source_backup_id;        // READY, same region, same mode
  std::vector<Tag> tags;
};
// List calls: max_results 0 means 50, at most 100; next_token "" starts.
struct PageRequest {
  uint32_t max_results = 0;
  std::string next_token;
};
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_token;  // empty on the last page
};
struct ClusterFilter {  // an empty list matches everything
  std::vector<std::string> cluster_ids;
  std::vector<ClusterState> states;
};
struct BackupFilter {
  std::vector<std::string> backup_ids, cluster_ids;
  std::vector<BackupState> states;
  std::optional<bool> never_expires;
  bool newest_first = false;  // sort by create time, ties by id
};
struct RetentionReport {
  std::vector<std::string> purged;   // PENDING_DELETION for 7 days: DELETED
  std::vector<std::string> expired;  // past retention: PENDING_DELETION
};

inline constexpr int64_t kPurgeDelaySeconds = 7 * 86400;

class ControlPlane {
 public:
  static std::unique_ptr<ControlPlane> Create(std::unique_ptr<StateStore> store,
                                              ControlPlaneOptions options = {});

  absl::StatusOr<Cluster> CreateCluster(const CreateClusterParams& params);
  absl::StatusOr<Page<Cluster>> DescribeClusters(const ClusterFilter& filter,
                                                 const PageRequest& page);
  absl::StatusOr<Cluster> ModifyCluster(const std::string& cluster_id,
                                        uint32_t backup_retention_days);
  absl::StatusOr<Cluster> DeleteCluster(const std::string& cluster_id);

  // --- Steps of the HSM workflows (cluster_workflows.h drives them) ---
  absl::StatusOr<Cluster> GetCluster(const std::string& cluster_id);
  // Runs `change` on the cluster (with its HSM rows in `hsms`) in one
  // transaction and writes the cluster and every HSM row back; nothing is
  // written if `change` fails. The workflow layer owns the rules of these
  // transitions (docs/manager.md).
  absl::StatusOr<Cluster> UpdateCluster(
      const std::string& cluster_id,
      const std::function<absl::Status(Cluster&)>& change);
  // A fresh id "<prefix>-…" not used by any resource.
  absl::StatusOr<std::string> ReserveId(absl::string_view prefix);

  absl::StatusOr<Page<Backup>> DescribeBackups(const BackupFilter& filter,
                                               const PageRequest& page);
  absl::StatusOr<Backup> DeleteBackup(const std::string& backup_id);
  // PENDING_DELETION -> READY. A backup past its retention is expired again
  // by the next RunRetention unless it is made never-expires.
  absl::StatusOr<Backup> RestoreBackup(const std::string& backup_id);
  absl::StatusOr<Backup> ModifyBackupAttributes(const std::string& backup_id,
                                                bool never_expires);

  // --- Backup catalog transitions of the backup and copy workflows ---
  // (control_plane_backups.cc). The workflow archives the bytes between a
  // Begin* and FinishBackup (backup_archive.h); these only keep the catalog.
  // CreateBackup: a new backup CREATE_IN_PROGRESS of the cluster's region
  // and mode, created now. The cluster must be ACTIVE, DEGRADED or
  // UPDATE_IN_PROGRESS (a backup before an HSM is added or deleted).
  absl::StatusOr<Backup> BeginBackup(const std::string& cluster_id,
                                     const std::vector<Tag>& tags);
  // CREATE_IN_PROGRESS -> READY, or DELETED (delete_time now) if the
  // archiving failed. Also ends copies.
  absl::StatusOr<Backup> FinishBackup(const std::string& backup_id,
                                      bool succeeded);
  // CopyBackupToRegion: a new backup CREATE_IN_PROGRESS in
  // `destination_region` (not the source's) from a READY source, with the
  // source's cluster, mode and create time and the source_* fields set.
  // Copies carry no retention (RunRetention never expires them).
  absl::StatusOr<Backup> BeginCopy(const std::string& source_backup_id,
                                   const std::string& destination_region,
                                   const std::vector<Tag>& tags);

  // resource_id: a cluster id or a backup id.
  absl::Status TagResource(const std::string& resource_id,
                           const std::vector<Tag>& tags);
  absl::Status UntagResource(const std::string& resource_id,
                             const std::vector<std::string>& keys);
  absl::StatusOr<Page<Tag>> ListTags(const std::string& resource_id,
                                     const PageRequest& page);

  // The retention job, run periodically by the daemon: purges backups
  // PENDING_DELETION for kPurgeDelaySeconds, and marks READY backups older
  // than their cluster's retention PENDING_DELETION, except never-expires
  // ones, copies, and the newest READY backup of each cluster.
  absl::StatusOr<RetentionReport> RunRetention(int64_t now);

 private:
  ControlPlane(std::unique_ptr<StateStore> store, ControlPlaneOptions options);
  absl::StatusOr<std::string> NewId(absl::string_view prefix)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckTaggable(const std::string& resource_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Backup> UpdateBackup(
      const std::string& backup_id,
      const std::function<absl::Status(Backup&)>& change);

  absl::Mutex mu_;
  std::unique_ptr<StateStore> store_ ABSL_GUARDED_BY(mu_);
  ControlPlaneOptions options_;
};

}  // namespace coffer::manager

#endif  // COFFER_MANAGER_CONTROL_PLANE_H_
