// Argument checks every ClusterLog implementation applies the same way, so
// the SQLite log and a later etcd log accept and refuse the same calls.
#ifndef COFFER_LOG_INTERNAL_VALIDATE_H_
#define COFFER_LOG_INTERNAL_VALIDATE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "base/bytes.h"

namespace coffer::log::internal {

// InvalidArgument unless `id` matches [A-Za-z0-9_-]{1,64}.
absl::Status ValidateClusterId(const std::string& id);

// InvalidArgument if `position` is above kMaxPosition; `what` names it.
absl::Status ValidatePosition(uint64_t position, const char* what);

// InvalidArgument for no records, a record over kMaxRecordBytes, or a batch
// over kMaxBatchRecords or kMaxBatchBytes.
absl::Status ValidateRecords(absl::Span<const ByteView> records);

}  // namespace coffer::log::internal

#endif  // COFFER_LOG_INTERNAL_VALIDATE_H_
