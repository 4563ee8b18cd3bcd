// The control plane: clusters, HSMs, the backup catalog and tags, with the
// state machines and rules of docs/manager.md, over a StateStore. Plain
// C++ (no gRPC), so it is tested in-process; grpc_service.h serves it.
//
// Every mutation is one StateStore transaction: it happens entirely or not
// at all. Errors: InvalidArgument for bad input (the message names the
// field and the rule), NotFound for an unknown id, FailedPrecondition for a
// call the resource's current state does not allow (the message names the
// state and the call), Unimplemented for calls that need the HSM provider
// or the archive (later slices of issue 5). Thread-safe.
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

  // Unimplemented until the HSM provider slice (docs/manager.md has the
  // transitions they will make).
  absl::StatusOr<ClusterState> InitializeCluster(
      const std::string& cluster_id, const std::string& signed_cert_pem,
      const std::string& trust_anchor_pem);
  absl::StatusOr<Hsm> CreateHsm(const std::string& cluster_id,
                                const std::string& availability_zone);
  absl::Status DeleteHsm(const std::string& cluster_id,
                         const std::string& hsm_id);
  absl::StatusOr<Backup> CreateBackup(const std::string& cluster_id,
                                      const std::vector<Tag>& tags);
  // Unimplemented until the archive slice.
  absl::StatusOr<Backup> CopyBackupToRegion(
      const std::string& backup_id, const std::string& destination_region,
      const std::vector<Tag>& tags);

  absl::StatusOr<Page<Backup>> DescribeBackups(const BackupFilter& filter,
                                               const PageRequest& page);
  absl::StatusOr<Backup> DeleteBackup(const std::string& backup_id);
  // PENDING_DELETION -> READY. A backup past its retention is expired again
  // by the next RunRetention unless it is made never-expires.
  absl::StatusOr<Backup> RestoreBackup(const std::string& backup_id);
  absl::StatusOr<Backup> ModifyBackupAttributes(const std::string& backup_id,
                                                bool never_expires);

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
