// The list calls of the control plane: filters and pagination.
//
// A page token is "<create_time>.<id>" of the last item returned (for
// tags, "0.<key>"): the next page starts after that position in the same
// order, so items added or removed between pages neither repeat nor shift
// the rest. The manager holds at most thousands of records, so lists read
// the tables and filter in memory.
#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "manager/control_plane.h"
#include "manager/internal/rules.h"

namespace coffer::manager {
namespace {

using Position = std::pair<int64_t, std::string>;

absl::StatusOr<Position> ParseToken(const std::string& token) {
  const size_t dot = token.find('.');
  Position pos;
  if (dot == std::string::npos ||
      !absl::SimpleAtoi(token.substr(0, dot), &pos.first) ||
      dot + 1 == token.size()) {
    return absl::InvalidArgumentError(
        "next_token is not one this manager issued: repeat the call "
        "without it to start from the first page");
  }
  pos.second = token.substr(dot + 1);
  return pos;
}

std::string MakeToken(const Position& pos) {
  return absl::StrCat(pos.first, ".", pos.second);
}

// `items` are in the order to return; `position` gives each one's sort
// key, ascending unless `descending`.
template <typename T, typename PositionFn>
absl::StatusOr<Page<T>> Paginate(std::vector<T> items, const PageRequest& req,
                                 bool descending, PositionFn position) {
  COFFER_ASSIGN_OR_RETURN(const uint32_t size,
                          internal::PageSize(req.max_results));
  auto begin = items.begin();
  if (!req.next_token.empty()) {
    COFFER_ASSIGN_OR_RETURN(const Position after, ParseToken(req.next_token));
    begin = std::find_if(items.begin(), items.end(), [&](const T& item) {
      return descending ? position(item) < after : position(item) > after;
    });
  }
  Page<T> page;
  const size_t available = static_cast<size_t>(items.end() - begin);
  const auto end =
      begin + static_cast<std::ptrdiff_t>(std::min<size_t>(size, available));
  page.items.assign(std::make_move_iterator(begin),
                    std::make_move_iterator(end));
  if (end != items.end())
    page.next_token = MakeToken(position(page.items.back()));
  return page;
}

template <typename T>
bool Matches(const std::vector<T>& wanted, const T& value) {
  return wanted.empty() ||
         std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

}  // namespace

absl::StatusOr<Page<Cluster>> ControlPlane::DescribeClusters(
    const ClusterFilter& filter, const PageRequest& page) {
  std::vector<Cluster> clusters;
  {
    absl::MutexLock lock(&mu_);
    COFFER_ASSIGN_OR_RETURN(clusters, store_->ListClusters());
  }
  std::erase_if(clusters, [&filter](const Cluster& c) {
    return !Matches(filter.cluster_ids, c.cluster_id) ||
           !Matches(filter.states, c.state);
  });
  return Paginate(
      std::move(clusters), page, /*descending=*/false,
      [](const Cluster& c) { return Position(c.create_time, c.cluster_id); });
}

absl::StatusOr<Page<Backup>> ControlPlane::DescribeBackups(
    const BackupFilter& filter, const PageRequest& page) {
  std::vector<Backup> backups;
  {
    absl::MutexLock lock(&mu_);
    COFFER_ASSIGN_OR_RETURN(backups, store_->ListBackups());
  }
  std::erase_if(backups, [&filter](const Backup& b) {
    return !Matches(filter.backup_ids, b.backup_id) ||
           !Matches(filter.cluster_ids, b.cluster_id) ||
           !Matches(filter.states, b.state) ||
           (filter.never_expires.has_value() &&
            *filter.never_expires != b.never_expires);
  });
  // The store lists oldest first, ties by id.
  if (filter.newest_first) std::reverse(backups.begin(), backups.end());
  return Paginate(
      std::move(backups), page, filter.newest_first,
      [](const Backup& b) { return Position(b.create_time, b.backup_id); });
}

absl::StatusOr<Page<Tag>> ControlPlane::ListTags(const std::string& resource_id,
                                                 const PageRequest& page) {
  std::vector<Tag> tags;
  {
    absl::MutexLock lock(&mu_);
    // Tags of DELETED resources stay readable.
    if (resource_id.starts_with("backup-")) {
      COFFER_RETURN_IF_ERROR(store_->GetBackup(resource_id).status());
    } else if (resource_id.starts_with("cluster-")) {
      COFFER_RETURN_IF_ERROR(store_->GetCluster(resource_id).status());
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("resource_id \"", resource_id.substr(0, 64),
                       "\" is neither a cluster id (cluster-...) nor a "
                       "backup id (backup-...)"));
    }
    COFFER_ASSIGN_OR_RETURN(tags, store_->GetTags(resource_id));
  }
  return Paginate(std::move(tags), page, /*descending=*/false,
                  [](const Tag& t) { return Position(0, t.key); });
}

}  // namespace coffer::manager
