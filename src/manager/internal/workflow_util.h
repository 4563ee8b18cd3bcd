// Helpers shared by the ClusterWorkflows source files (cluster_workflows*.cc).
#ifndef COFFER_MANAGER_INTERNAL_WORKFLOW_UTIL_H_
#define COFFER_MANAGER_INTERNAL_WORKFLOW_UTIL_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "client/hsm_client.h"
#include "manager/backup_archive.h"
#include "manager/cluster_workflows.h"
#include "manager/types.h"

namespace coffer::manager {

namespace pb = ::coffer::hsm::v1;

namespace internal {

Hsm* FindHsm(Cluster& c, const std::string& hsm_id);
// The state a cluster whose HSMs are settled is in.
ClusterState Settled(const Cluster& c);
ArchivedBackup ArchiveMeta(const Backup& b);
int64_t Now();
// Backups and restores stream through one call for a while.
inline constexpr absl::Duration kBackupIoTimeout = absl::Seconds(120);

}  // namespace internal

// A connection to one HSM as the service.
struct ClusterWorkflows::HsmCall {
  client::HsmClient client;
  absl::StatusOr<pb::GetInfoResponse> Info();
  absl::Status ServiceLogin();
};

}  // namespace coffer::manager

#endif  // COFFER_MANAGER_INTERNAL_WORKFLOW_UTIL_H_
