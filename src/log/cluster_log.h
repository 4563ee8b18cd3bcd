// The ordered, per-cluster log of sealed records (docs/log.md). A mutation
// is acknowledged to a client only once its record is committed here, and
// every HSM of the cluster applies the log in position order.
//
// Records are opaque: sealed inside the HSMs under the cluster's sync key,
// never interpreted here. Positions start at 1 and are dense per cluster.
// Appends are compare-and-append on the last position, so two writers never
// interleave silently: the loser gets Aborted, re-reads and retries.
//
// Every method is thread-safe. Errors common to all of them: InvalidArgument
// for a cluster id outside [A-Za-z0-9_-]{1,64} or a position above
// kMaxPosition; Unavailable when another writer held the store's lock too
// long (nothing was written; retry); DataLoss if the stored log is damaged.
#ifndef COFFER_LOG_CLUSTER_LOG_H_
#define COFFER_LOG_CLUSTER_LOG_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/bytes.h"

namespace coffer::log {

inline constexpr size_t kMaxRecordBytes = size_t{1} << 20;  // 1 MiB
inline constexpr size_t kMaxBatchRecords = 100;             // see log.md
inline constexpr size_t kMaxBatchBytes = size_t{4} << 20;   // 4 MiB
inline constexpr uint64_t kMaxPosition =
    static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

struct LogEntry {
  uint64_t position = 0;
  Bytes record;  // byte-exact as appended
};

class ClusterLog {
 public:
  virtual ~ClusterLog() = default;

  // Appends `record` if the cluster's last position is `expected_last` (0
  // for a new cluster) and returns expected_last + 1 once it is durably
  // committed. Aborted, naming the actual last position, if it is not.
  // InvalidArgument for a record over kMaxRecordBytes. Any other error
  // leaves the outcome unknown: read position expected_last + 1 to learn
  // whether this record (sealed records are unique) was committed.
  virtual absl::StatusOr<uint64_t> Append(const std::string& cluster_id,
                                          uint64_t expected_last,
                                          ByteView record) = 0;

  // Append for several records at once, all or nothing; returns the last
  // new position. InvalidArgument for an empty batch, more than
  // kMaxBatchRecords records or kMaxBatchBytes bytes.
  virtual absl::StatusOr<uint64_t> AppendBatch(
      const std::string& cluster_id, uint64_t expected_last,
      const std::vector<Bytes>& records) = 0;

  // Entries with position > `after`, in order: at most `max_entries`, and
  // stopping before the entry that would take the record bytes over
  // `max_bytes`, but always one entry when one exists. Empty when `after`
  // is the last position. OutOfRange, naming the first retained position,
  // if entries after `after` were compacted (restore a newer backup
  // first); FailedPrecondition if `after` is beyond the last position (the
  // caller is ahead of this log). InvalidArgument for a zero limit.
  virtual absl::StatusOr<std::vector<LogEntry>> Read(
      const std::string& cluster_id, uint64_t after, size_t max_entries,
      size_t max_bytes) = 0;

  // The last committed position; 0 for an empty or unknown cluster. Stays
  // put when entries are compacted.
  virtual absl::StatusOr<uint64_t> LastPosition(
      const std::string& cluster_id) = 0;

  // Drops the entries at positions <= `up_to` (a backup holding the state
  // at `up_to` makes them unnecessary). Idempotent; a smaller `up_to` than
  // an earlier one is a no-op. InvalidArgument if `up_to` is beyond the
  // last position.
  virtual absl::Status Compact(const std::string& cluster_id,
                               uint64_t up_to) = 0;

  // For a cluster whose log is new (last position 0), makes it continue
  // from `position`, as if entries up to it had been compacted: a cluster
  // made from a backup continues the position the backup holds. OK if the
  // log already stands exactly there; FailedPrecondition otherwise.
  virtual absl::Status StartAt(const std::string& cluster_id,
                               uint64_t position) = 0;

  // Forgets the cluster: its entries and its last position, so positions
  // restart at 1. OK for an unknown cluster.
  virtual absl::Status DeleteCluster(const std::string& cluster_id) = 0;

  // Returns the last position as soon as it exceeds `after`, or when
  // `timeout` has passed (then the result may be <= after; not an error).
  // Appends through this object wake it at once; appends by other objects
  // or processes are noticed by polling (implementation-defined interval).
  virtual absl::StatusOr<uint64_t> WaitForPosition(
      const std::string& cluster_id, uint64_t after,
      absl::Duration timeout) = 0;
};

struct SqliteClusterLogOptions {
  // true: PRAGMA synchronous=FULL, an acknowledged append survives power
  // loss. false (NORMAL) survives a process crash only; benchmarks only.
  bool full_sync = true;
  bool create_if_missing = true;  // else NotFound for a missing file
  int busy_timeout_ms = 5000;     // wait this long for another writer
  // How often WaitForPosition re-reads to see other processes' appends.
  absl::Duration poll_interval = absl::Milliseconds(100);
};

// The embedded log: one SQLite file (WAL, mode 0600) that several objects
// and processes may open at once (within a process, share one object).
// FailedPrecondition if `path` is a symlink, not a regular file, another
// kind of SQLite file or a newer schema; DataLoss if it is not SQLite at
// all; NotFound if it is missing and create_if_missing is off.
absl::StatusOr<std::unique_ptr<ClusterLog>> OpenSqliteClusterLog(
    const std::string& path, const SqliteClusterLogOptions& options = {});

}  // namespace coffer::log

#endif  // COFFER_LOG_CLUSTER_LOG_H_
