#include "manager/internal/rules.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"

namespace coffer::manager::internal {
namespace {

// UTF-8 characters (code points): every byte that does not continue one.
size_t CharCount(absl::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

}  // namespace

absl::Status ValidateRegion(absl::string_view region, absl::string_view field) {
  const bool ok =
      !region.empty() && region.size() <= 32 &&
      std::all_of(region.begin(), region.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      });
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " \"", region.substr(0, 64),
                   "\" is not a region name: use 1 to 32 of a-z, 0-9 and -"));
}

absl::Status ValidateRetention(uint32_t days) {
  if (days >= kMinRetentionDays && days <= kMaxRetentionDays) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("backup_retention_days is ", days, "; it must be ",
                   kMinRetentionDays, " to ", kMaxRetentionDays));
}

absl::Status ValidateTags(const std::vector<Tag>& tags) {
  if (tags.size() > kMaxTags) {
    return absl::InvalidArgumentError(absl::StrCat(
        tags.size(), " tags given; a resource holds at most ", kMaxTags));
  }
  std::set<absl::string_view> keys;
  for (const Tag& tag : tags) {
    const size_t key_chars = CharCount(tag.key);
    if (key_chars == 0 || key_chars > kMaxTagKeyChars) {
      return absl::InvalidArgumentError(
          absl::StrCat("tag key \"", tag.key.substr(0, 32), "\" has ",
                       key_chars, " characters; use 1 to ", kMaxTagKeyChars));
    }
    if (CharCount(tag.value) > kMaxTagValueChars) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the value of tag \"", tag.key, "\" has ", CharCount(tag.value),
          " characters; at most ", kMaxTagValueChars, " are allowed"));
    }
    if (!keys.insert(tag.key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tag key \"", tag.key, "\" is given twice"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tag>> MergeTags(std::vector<Tag> existing,
                                           const std::vector<Tag>& added) {
  std::map<std::string, std::string> merged;
  for (Tag& tag : existing) merged[tag.key] = std::move(tag.value);
  for (const Tag& tag : added) merged[tag.key] = tag.value;
  if (merged.size() > kMaxTags) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the resource would hold ", merged.size(), " tags; at most ", kMaxTags,
        " are allowed: remove some first"));
  }
  std::vector<Tag> out;
  for (auto& [key, value] : merged) out.push_back(Tag{key, std::move(value)});
  return out;
}

absl::Status IllegalState(absl::string_view call, absl::string_view kind,
                          absl::string_view id, absl::string_view state,
                          absl::string_view allowed) {
  return absl::FailedPreconditionError(
      absl::StrCat(call, " is not allowed: ", kind, " ", id, " is ", state,
                   "; it needs ", allowed));
}

absl::StatusOr<uint32_t> PageSize(uint32_t max_results) {
  if (max_results == 0) return kDefaultMaxResults;
  if (max_results > kMaxMaxResults) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_results is ", max_results, "; at most ", kMaxMaxResults));
  }
  return max_results;
}

}  // namespace coffer::manager::internal
