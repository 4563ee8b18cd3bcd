// ClusterWorkflows: recovery at start, the background round (activation,
// health checks and replacement, the backup schedule).
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

// --- Recovery and the background loop -------------------------------

absl::Status ClusterWorkflows::Recover() {
  COFFER_ASSIGN_OR_RETURN(Page<Cluster> page,
                          cp_.DescribeClusters({}, {100, ""}));
  std::vector<Cluster> clusters = page.items;
  while (!page.next_token.empty()) {
    COFFER_ASSIGN_OR_RETURN(page,
                            cp_.DescribeClusters({}, {100, page.next_token}));
    clusters.insert(clusters.end(), page.items.begin(), page.items.end());
  }
  for (const Cluster& cluster : clusters) {
    for (const Hsm& h : cluster.hsms) {
      if (h.state == HsmState::kCreateInProgress ||
          h.state == HsmState::kDeleteInProgress) {
        (void)Discard(cluster.cluster_id, h.hsm_id,
                      "interrupted by a manager restart");
        continue;
      }
      if (h.state == HsmState::kDeleted) continue;
      log_host_.Allow(h.hsm_id, cluster.cluster_id);
      absl::StatusOr<std::vector<std::string>> args =
          log_host_.HsmArgs(h.hsm_id, cluster.cluster_id);
      absl::StatusOr<ProvidedHsm> resumed =
          args.ok() ? provider_.Resume(h.hsm_id, *args)
                    : absl::StatusOr<ProvidedHsm>(args.status());
      if (!resumed.ok()) {
        Log("cluster %s: HSM %s could not be resumed: %s",
            cluster.cluster_id.c_str(), h.hsm_id.c_str(),
            std::string(resumed.status().message()).c_str());
        continue;  // the health check marks it DEGRADED and replaces it
      }
      if (resumed->endpoint != h.endpoint) {
        (void)cp_.UpdateCluster(cluster.cluster_id, [&](Cluster& c) {
          FindHsm(c, h.hsm_id)->endpoint = resumed->endpoint;
          return absl::OkStatus();
        });
      }
    }
    (void)cp_.UpdateCluster(cluster.cluster_id, [](Cluster& c) {
      if (c.state == ClusterState::kUpdateInProgress) c.state = Settled(c);
      if (c.state == ClusterState::kInitializeInProgress) {
        c.state = ClusterState::kUninitialized;
        c.state_message = "InitializeCluster was interrupted: call it again";
      }
      return absl::OkStatus();
    });
  }
  BackupFilter unfinished;
  unfinished.states = {BackupState::kCreateInProgress};
  PageRequest all;
  all.max_results = 100;
  COFFER_ASSIGN_OR_RETURN(Page<Backup> backups,
                          cp_.DescribeBackups(unfinished, all));
  for (const Backup& b : backups.items) {
    (void)cp_.FinishBackup(b.backup_id, false);
  }
  return absl::OkStatus();
}

void ClusterWorkflows::StartBackground() {
  background_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(options_.health_interval)) {
      RunOnce();
    }
  });
}

absl::Status ClusterWorkflows::Replace(const Cluster& cluster,
                                       const Hsm& failed,
                                       const std::string& why) {
  Log("cluster %s: %s; replacing it", cluster.cluster_id.c_str(), why.c_str());
  COFFER_ASSIGN_OR_RETURN(
      Cluster degraded, cp_.UpdateCluster(cluster.cluster_id, [&](Cluster& c) {
        Hsm* h = FindHsm(c, failed.hsm_id);
        h->state = HsmState::kDegraded;
        h->state_message = why;
        c.state = ClusterState::kDegraded;
        c.state_message = why;
        return absl::OkStatus();
      }));
  COFFER_RETURN_IF_ERROR(
      AddRestoredHsm(degraded, failed.availability_zone).status());
  COFFER_RETURN_IF_ERROR(Discard(cluster.cluster_id, failed.hsm_id,
                                 absl::StrCat("replaced: ", why)));
  return cp_
      .UpdateCluster(cluster.cluster_id,
                     [&](Cluster& c) {
                       c.state = Settled(c);
                       c.state_message =
                           absl::StrCat("replaced HSM ", failed.hsm_id);
                       return absl::OkStatus();
                     })
      .status();
}

// One round for one cluster (its lock held): activation, health and
// replacement, the backup schedule.
void ClusterWorkflows::CheckCluster(const Cluster& cluster) {
  if (cluster.state == ClusterState::kInitialized &&
      cluster.source_backup_id.empty()) {
    // Activation happens on the HSM (coffer cluster activate); notice it.
    for (const Hsm& h : cluster.hsms) {
      if (h.state != HsmState::kActive) continue;
      absl::StatusOr<HsmCall> call =
          Connect(cluster, h.endpoint, options_.hsm_timeout);
      if (!call.ok()) continue;
      absl::StatusOr<pb::GetInfoResponse> info = call->Info();
      if (!info.ok() || info->state() != pb::HSM_STATE_ACTIVE) continue;
      absl::StatusOr<Cluster> active =
          cp_.UpdateCluster(cluster.cluster_id, [](Cluster& c) {
            c.state = ClusterState::kActive;
            c.state_message = "activated";
            return absl::OkStatus();
          });
      if (!active.ok()) return;
      Log("cluster %s: activated", cluster.cluster_id.c_str());
      absl::Status backed_up = TakeBackup(*active, h, {}).status();
      if (!backed_up.ok()) {
        Log("%s", std::string(backed_up.message()).c_str());
      }
      return;
    }
    return;
  }
  if (cluster.state != ClusterState::kActive &&
      cluster.state != ClusterState::kDegraded) {
    return;
  }
  const Hsm* healthy = nullptr;
  for (const Hsm& h : cluster.hsms) {
    if (h.state != HsmState::kActive && h.state != HsmState::kDegraded) {
      continue;
    }
    std::string why;
    if (Healthy(cluster, h, &why)) {
      if (healthy == nullptr && h.state == HsmState::kActive) healthy = &h;
      continue;
    }
    absl::Status replaced = Replace(cluster, h, why);
    if (!replaced.ok()) {
      Log("cluster %s: replacing HSM %s failed: %s", cluster.cluster_id.c_str(),
          h.hsm_id.c_str(), std::string(replaced.message()).c_str());
    }
    return;  // one replacement per round; the next round sees the result
  }
  if (healthy == nullptr) return;
  BackupFilter filter;
  filter.cluster_ids = {cluster.cluster_id};
  filter.states = {BackupState::kReady};
  filter.newest_first = true;
  absl::StatusOr<Page<Backup>> newest = cp_.DescribeBackups(filter, {});
  if (!newest.ok()) return;
  int64_t last = 0;
  for (const Backup& b : newest->items) {
    if (!b.is_copy()) {
      last = b.create_time;
      break;
    }
  }
  if (last + absl::ToInt64Seconds(options_.backup_interval) > Now()) return;
  absl::Status scheduled = TakeBackup(cluster, *healthy, {}).status();
  if (!scheduled.ok()) Log("%s", std::string(scheduled.message()).c_str());
}

void ClusterWorkflows::RunOnce() {
  absl::StatusOr<Page<Cluster>> page = cp_.DescribeClusters({}, {100, ""});
  if (!page.ok()) return;
  for (const Cluster& listed : page->items) {
    absl::Mutex& mu = ClusterLock(listed.cluster_id);
    if (!mu.TryLock()) continue;  // a workflow owns it; next round
    absl::StatusOr<Cluster> fresh = cp_.GetCluster(listed.cluster_id);
    if (fresh.ok()) CheckCluster(*fresh);
    mu.Unlock();
  }
}

}  // namespace coffer::manager
