#include "node/sync.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "base/log.h"

namespace coffer::node {
namespace {

// A page of entries per read; CatchUp reads again until the end.
constexpr size_t kReadEntries = 256;
constexpr size_t kReadBytes = size_t{4} << 20;
// The long poll's length bounds how long a stop takes.
constexpr absl::Duration kPoll = absl::Milliseconds(500);

class LogLink final : public hsm::ClusterLogLink {
 public:
  LogLink(std::shared_ptr<log::ClusterLog> log, std::string cluster_id)
      : log_(std::move(log)), cluster_id_(std::move(cluster_id)) {}

  absl::StatusOr<uint64_t> Append(uint64_t expected_last,
                                  ByteView sealed) override {
    return log_->Append(cluster_id_, expected_last, sealed);
  }

  absl::StatusOr<std::vector<Entry>> Read(uint64_t after) override {
    absl::StatusOr<std::vector<log::LogEntry>> read =
        log_->Read(cluster_id_, after, kReadEntries, kReadBytes);
    if (!read.ok()) return read.status();
    std::vector<Entry> entries;
    entries.reserve(read->size());
    for (log::LogEntry& e : *read) {
      entries.push_back({e.position, std::move(e.record)});
    }
    return entries;
  }

 private:
  std::shared_ptr<log::ClusterLog> log_;
  const std::string cluster_id_;
};

}  // namespace

std::shared_ptr<hsm::ClusterLogLink> MakeLogLink(
    std::shared_ptr<log::ClusterLog> log, std::string cluster_id) {
  return std::make_shared<LogLink>(std::move(log), std::move(cluster_id));
}

SyncFollower::SyncFollower(hsm::Hsm& hsm, std::shared_ptr<log::ClusterLog> log,
                           std::string cluster_id)
    : hsm_(hsm), log_(std::move(log)), cluster_id_(std::move(cluster_id)) {
  thread_ = std::thread(&SyncFollower::Run, this);
}

SyncFollower::~SyncFollower() {
  stop_ = true;
  thread_.join();
}

void SyncFollower::Run() {
  std::string last_error;
  absl::Duration backoff = absl::Milliseconds(50);
  // The last position the log reported: an HSM not synced yet (no cluster
  // identity, or not restored) stays at 0 while the log is ahead, and must
  // not spin.
  uint64_t seen = 0;
  while (!stop_) {
    absl::StatusOr<uint64_t> position = hsm_.CatchUp();
    absl::Status status = position.status();
    if (position.ok()) {
      absl::StatusOr<uint64_t> last =
          log_->WaitForPosition(cluster_id_, std::max(*position, seen), kPoll);
      status = last.status();
      if (last.ok()) seen = *last;
    }
    if (status.ok()) {
      if (!last_error.empty()) Log("cluster sync: resumed");
      last_error.clear();
      backoff = absl::Milliseconds(50);
      continue;
    }
    if (std::string(status.message()) != last_error) {
      last_error = std::string(status.message());
      Log("cluster sync: %s", last_error.c_str());
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

}  // namespace coffer::node
