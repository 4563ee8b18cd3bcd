// The manager's own durable state: clusters, HSMs, the backup catalog and
// tags, in one SQLite file (DATA_DIR/manager.db, mode 0600, WAL,
// synchronous=FULL). Schema and reasoning: docs/manager.md.
//
// The file is held with an exclusive lock for as long as the store is
// open, so a second manager on the same directory fails to open it
// (FailedPrecondition) instead of corrupting the state.
//
// Not thread-safe: the control plane serialises every call. Writes happen
// only inside Transaction(); reads may happen inside or outside one.
// Errors: NotFound for an unknown id, DataLoss for a damaged file or row,
// FailedPrecondition for a locked or newer-schema file, Internal otherwise.
#ifndef COFFER_MANAGER_STATE_STORE_H_
#define COFFER_MANAGER_STATE_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "manager/types.h"

namespace coffer::manager {

class StateStore {
 public:
  // Opens DATA_DIR/manager.db, creating it (and its schema) if absent.
  // `data_dir` must exist.
  static absl::StatusOr<std::unique_ptr<StateStore>> Open(
      const std::string& data_dir);
  virtual ~StateStore() = default;

  // Runs `body` in one write transaction: all of its writes commit
  // together (durably, before this returns OK) or none do. `body`'s error
  // is returned after rolling back. Not reentrant.
  virtual absl::Status Transaction(absl::FunctionRef<absl::Status()> body) = 0;

  // Reads fill Cluster::hsms (every HSM row of the cluster, by create time)
  // and the tags (sorted by key). Lists are ordered by (create_time, id).
  virtual absl::StatusOr<Cluster> GetCluster(absl::string_view cluster_id) = 0;
  virtual absl::StatusOr<std::vector<Cluster>> ListClusters() = 0;
  virtual absl::StatusOr<Backup> GetBackup(absl::string_view backup_id) = 0;
  virtual absl::StatusOr<std::vector<Backup>> ListBackups() = 0;
  virtual absl::StatusOr<std::vector<Tag>> GetTags(
      absl::string_view resource_id) = 0;
  // True if any cluster, HSM or backup has this id (ids are never reused).
  virtual absl::StatusOr<bool> IdExists(absl::string_view id) = 0;

  // Writes, inside Transaction() only (FailedPrecondition otherwise).
  // Put* insert or replace one row; PutCluster ignores hsms and tags.
  virtual absl::Status PutCluster(const Cluster& cluster) = 0;
  virtual absl::Status PutHsm(const Hsm& hsm) = 0;
  virtual absl::Status PutBackup(const Backup& backup) = 0;
  // Replaces every tag of `resource_id`.
  virtual absl::Status SetTags(absl::string_view resource_id,
                               const std::vector<Tag>& tags) = 0;
};

}  // namespace coffer::manager

#endif  // COFFER_MANAGER_STATE_STORE_H_
