#include "log/internal/validate.h"

#include "absl/strings/str_cat.h"
#include "log/cluster_log.h"

namespace coffer::log::internal {
namespace {

constexpr size_t kMaxClusterIdLength = 64;

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

}  // namespace

absl::Status ValidateClusterId(const std::string& id) {
  if (id.empty() || id.size() > kMaxClusterIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("a cluster id has 1 to ", kMaxClusterIdLength,
                     " characters; got ", id.size()));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    if (!IsIdChar(id[i])) {
      // The id is not secret, but it may be garbage: name the offset only.
      return absl::InvalidArgumentError(
          absl::StrCat("a cluster id may hold only A-Z, a-z, 0-9, '_' and "
                       "'-'; offset ",
                       i, " does not"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePosition(uint64_t position, const char* what) {
  if (position > kMaxPosition) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " ", position, " is beyond the largest position ", kMaxPosition));
  }
  return absl::OkStatus();
}

absl::Status ValidateRecords(absl::Span<const ByteView> records) {
  if (records.empty()) {
    return absl::InvalidArgumentError("a batch needs at least one record");
  }
  if (records.size() > kMaxBatchRecords) {
    return absl::InvalidArgumentError(
        absl::StrCat("a batch holds at most ", kMaxBatchRecords,
                     " records; got ", records.size(), ". Split it"));
  }
  size_t total = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].size() > kMaxRecordBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("record ", i, " has ", records[i].size(),
                       " bytes; a log record holds at most ", kMaxRecordBytes));
    }
    total += records[i].size();
  }
  if (total > kMaxBatchBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a batch holds at most ", kMaxBatchBytes, " bytes; got ",
                     total, ". Split it"));
  }
  return absl::OkStatus();
}

}  // namespace coffer::log::internal
