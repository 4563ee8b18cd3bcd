// The manager's workflows that touch HSMs: adding and removing them,
// initializing a cluster, backups into the archive, health checks with
// automatic replacement, and the backup schedule (docs/manager.md has the
// state tables). They drive the HSMs over their wire API as the service
// (HsmProvider::service_identity(), a service session for backups), keep
// the catalog in the ControlPlane, and never see a plaintext key: backups
// are ciphertext from the HSM, archived under the region's KMS key.
//
// Calls on one cluster are serialized; calls on different clusters run in
// parallel. Errors: as the ControlPlane's (NotFound, FailedPrecondition
// naming the state, InvalidArgument), plus the HSMs' own refusals passed
// through (an InitializeCluster certificate that does not match the CSR is
// the HSM's InvalidArgument), Unavailable when an HSM cannot be reached.
#ifndef COFFER_MANAGER_CLUSTER_WORKFLOWS_H_
#define COFFER_MANAGER_CLUSTER_WORKFLOWS_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "manager/backup_archive.h"
#include "manager/control_plane.h"
#include "manager/hsm_provider.h"
#include "manager/log_host.h"

namespace coffer::manager {

struct WorkflowOptions {
  // How often every HSM is asked for its state; an HSM that does not
  // answer, is TAMPERED or stopped syncing is replaced.
  absl::Duration health_interval = absl::Seconds(5);
  // Scheduled backups: a cluster whose newest backup is older gets one.
  absl::Duration backup_interval = absl::Hours(24);
  absl::Duration hsm_timeout = absl::Seconds(10);  // per call to an HSM
};

class ClusterWorkflows {
 public:
  ClusterWorkflows(ControlPlane& control_plane, HsmProvider& provider,
                   BackupArchive& archive, LogHost& log_host,
                   WorkflowOptions options);
  ~ClusterWorkflows();  // stops the background loop

  // At start: re-attaches the HSMs of every cluster (restarting stopped
  // processes), and settles workflows a manager crash interrupted (their
  // HSMs destroyed, clusters back to their settled state, unfinished
  // backups DELETED).
  absl::Status Recover();
  // Health checks, activation detection and the backup schedule, every
  // health_interval, in a background thread.
  void StartBackground();

  absl::StatusOr<Hsm> CreateHsm(const std::string& cluster_id,
                                const std::string& availability_zone);
  absl::Status DeleteHsm(const std::string& cluster_id,
                         const std::string& hsm_id);
  absl::StatusOr<ClusterState> InitializeCluster(
      const std::string& cluster_id, const std::string& signed_cert_pem,
      const std::string& trust_anchor_pem);
  absl::StatusOr<Backup> CreateBackup(const std::string& cluster_id,
                                      const std::vector<Tag>& tags);
  absl::StatusOr<Backup> CopyBackupToRegion(
      const std::string& backup_id, const std::string& destination_region,
      const std::vector<Tag>& tags);
  // Deletes the archived objects of backups the retention job purged.
  void DropArchived(const std::vector<std::string>& backup_ids);

  // One pass of the background work (the loop calls it; so may tests).
  void RunOnce();

 private:
  struct HsmCall;
  absl::Mutex& ClusterLock(const std::string& cluster_id);
  absl::StatusOr<ProvidedHsm> ProvisionFor(const Cluster& cluster,
                                           const std::string& hsm_id);
  absl::StatusOr<Hsm> AddFirstHsm(const Cluster& cluster,
                                  const std::string& availability_zone);
  absl::StatusOr<Hsm> AddRestoredHsm(const Cluster& cluster,
                                     const std::string& availability_zone);
  absl::StatusOr<Backup> TakeBackup(const Cluster& cluster, const Hsm& hsm,
                                    const std::vector<Tag>& tags);
  absl::StatusOr<Backup> BackupToRestore(const Cluster& cluster);
  absl::Status RestoreInto(const Cluster& cluster, const Backup& backup,
                           const ProvidedHsm& hsm);
  absl::Status Discard(const std::string& cluster_id, const std::string& hsm_id,
                       const std::string& why);
  void CheckCluster(const Cluster& cluster);
  absl::Status Replace(const Cluster& cluster, const Hsm& failed,
                       const std::string& why);
  absl::StatusOr<HsmCall> Connect(const Cluster& cluster,
                                  const std::string& endpoint,
                                  absl::Duration io_timeout);
  bool Healthy(const Cluster& cluster, const Hsm& hsm, std::string* why);

  ControlPlane& cp_;
  HsmProvider& provider_;
  BackupArchive& archive_;
  LogHost& log_host_;
  const WorkflowOptions options_;

  absl::Mutex locks_mu_;
  std::map<std::string, std::unique_ptr<absl::Mutex>> cluster_locks_
      ABSL_GUARDED_BY(locks_mu_);
  absl::Notification stop_;
  std::thread background_;
};

}  // namespace coffer::manager

#endif  // COFFER_MANAGER_CLUSTER_WORKFLOWS_H_
