// The HSM daemon's side of cluster sync (hsm/cluster_sync.h): the link
// from the HSM core to the cluster log service, and a follower thread that
// applies other HSMs' entries as they are committed.
#ifndef COFFER_NODE_SYNC_H_
#define COFFER_NODE_SYNC_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "hsm/cluster_sync.h"
#include "hsm/hsm.h"
#include "log/cluster_log.h"

namespace coffer::node {

// `cluster_id`: the manager's id of the cluster whose log this is.
std::shared_ptr<hsm::ClusterLogLink> MakeLogLink(
    std::shared_ptr<log::ClusterLog> log, std::string cluster_id);

// Long-polls the log and catches the HSM up whenever it moves. Errors
// (log unreachable) are logged once per change and retried with backoff.
class SyncFollower {
 public:
  SyncFollower(hsm::Hsm& hsm, std::shared_ptr<log::ClusterLog> log,
               std::string cluster_id);
  ~SyncFollower();  // stops within about one poll interval
  SyncFollower(const SyncFollower&) = delete;
  SyncFollower& operator=(const SyncFollower&) = delete;

 private:
  void Run();
  hsm::Hsm& hsm_;
  std::shared_ptr<log::ClusterLog> log_;
  const std::string cluster_id_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace coffer::node

#endif  // COFFER_NODE_SYNC_H_
