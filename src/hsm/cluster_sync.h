// Cluster synchronisation as one HSM sees it (DESIGN.md "Cluster
// synchronisation", docs/log.md). Once an HSM is attached to its cluster's
// log, every change to cluster-scope state (users, keys, policy, quorum,
// cluster identity) made in UNACTIVATED or ACTIVE is sealed under the
// cluster sync key, appended to the log at the position after the last one
// this HSM applied (compare-and-append), and only then committed locally
// and acknowledged. Another HSM's appends are applied in position order by
// CatchUp(). So the log is the cluster's single order of changes and every
// HSM's state is a prefix of it.
//
// A sealed entry is AES-256-GCM under the sync key, bound to the cluster id
// and its position, so the log's host (the manager) can neither read,
// forge, reorder nor replay entries within the cluster's log; it can
// withhold them (then HSMs lag) and it could fork a cluster by restoring a
// backup into another log, which is what "a new cluster from a backup" is.
#ifndef COFFER_HSM_CLUSTER_SYNC_H_
#define COFFER_HSM_CLUSTER_SYNC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/bytes.h"

namespace coffer::hsm {

// The log as the HSM needs it; src/node implements it over log::ClusterLog.
// The link is bound to one cluster's log (the manager's cluster id, which
// for a cluster restored from a backup differs from the id inside the HSM).
class ClusterLogLink {
 public:
  virtual ~ClusterLogLink() = default;
  // Appends if the last position is `expected_last`; returns the new
  // position. Aborted when the log has moved on. Other errors leave the
  // outcome unknown (a later CatchUp tells).
  virtual absl::StatusOr<uint64_t> Append(uint64_t expected_last,
                                          ByteView sealed) = 0;
  struct Entry {
    uint64_t position = 0;
    Bytes sealed;
  };
  // Entries after `after`, in order (a bounded page; empty at the end).
  virtual absl::StatusOr<std::vector<Entry>> Read(uint64_t after) = 0;
};

// The message of the Aborted status a mutation returns when another HSM
// appended first. The HSM has caught up by then: the whole operation can
// simply be retried (the node's dispatcher does).
inline constexpr char kLogConflictMessage[] =
    "cluster log conflict: another HSM changed the cluster first; retry";

}  // namespace coffer::hsm

#endif  // COFFER_HSM_CLUSTER_SYNC_H_
