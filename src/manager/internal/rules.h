// Input rules and error messages shared by the control plane's .cc files.
// Used by src/manager only.
#ifndef COFFER_MANAGER_INTERNAL_RULES_H_
#define COFFER_MANAGER_INTERNAL_RULES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "manager/types.h"

namespace coffer::manager::internal {

inline constexpr uint32_t kMinRetentionDays = 7;
inline constexpr uint32_t kMaxRetentionDays = 379;
inline constexpr uint32_t kDefaultRetentionDays = 90;
inline constexpr size_t kMaxTags = 50;
inline constexpr size_t kMaxTagKeyChars = 128;
inline constexpr size_t kMaxTagValueChars = 256;
inline constexpr uint32_t kDefaultMaxResults = 50;
inline constexpr uint32_t kMaxMaxResults = 100;

// InvalidArgument unless `region` matches [a-z0-9-]{1,32}; `field` names it.
absl::Status ValidateRegion(absl::string_view region, absl::string_view field);
// InvalidArgument unless 7 <= days <= 379.
absl::Status ValidateRetention(uint32_t days);
// InvalidArgument for a key of 0 or >128 characters, a value >256, a key
// given twice, or more than 50 tags.
absl::Status ValidateTags(const std::vector<Tag>& tags);
// `existing` with `added` set (sorted by key); InvalidArgument if the
// result would hold more than 50 tags.
absl::StatusOr<std::vector<Tag>> MergeTags(std::vector<Tag> existing,
                                           const std::vector<Tag>& added);

// FailedPrecondition: "<call> is not allowed: <kind> <id> is <state>; it
// needs <allowed>".
absl::Status IllegalState(absl::string_view call, absl::string_view kind,
                          absl::string_view id, absl::string_view state,
                          absl::string_view allowed);

// 0 -> 50; InvalidArgument above 100.
absl::StatusOr<uint32_t> PageSize(uint32_t max_results);

}  // namespace coffer::manager::internal

#endif  // COFFER_MANAGER_INTERNAL_RULES_H_
