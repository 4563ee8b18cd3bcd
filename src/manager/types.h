// The manager's domain records: clusters, HSMs, backups and tags, as the
// control plane and its state store see them (no protobuf here; the gRPC
// layer converts). States and their legal transitions: docs/manager.md.
#ifndef COFFER_MANAGER_TYPES_H_
#define COFFER_MANAGER_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace coffer::manager {

// Numeric values are stored in SQLite and equal the proto enums'; never
// renumber.
enum class ClusterState {
  kCreateInProgress = 1,
  kUninitialized = 2,
  kInitializeInProgress = 3,
  kInitialized = 4,
  kActive = 5,
  kUpdateInProgress = 6,
  kDeleteInProgress = 7,
  kDeleted = 8,
  kDegraded = 9,
};
enum class HsmState {
  kCreateInProgress = 1,
  kActive = 2,
  kDegraded = 3,
  kDeleteInProgress = 4,
  kDeleted = 5,
};
enum class BackupState {
  kCreateInProgress = 1,
  kReady = 2,
  kPendingDeletion = 3,
  kDeleted = 4,
};
enum class ClusterMode { kFips = 1, kNonFips = 2 };

// "ACTIVE", "PENDING_DELETION", "NON_FIPS", ...: the names of the API.
absl::string_view Name(ClusterState state);
absl::string_view Name(HsmState state);
absl::string_view Name(BackupState state);
absl::string_view Name(ClusterMode mode);

struct Tag {
  std::string key;
  std::string value;
  bool operator==(const Tag&) const = default;
};

struct Hsm {
  std::string hsm_id;
  std::string cluster_id;
  HsmState state = HsmState::kCreateInProgress;
  std::string state_message;
  std::string endpoint;  // host:port, once ACTIVE
  std::string availability_zone;
  int64_t create_time = 0;
};

struct Cluster {
  std::string cluster_id;
  std::string region;
  ClusterMode mode = ClusterMode::kFips;
  ClusterState state = ClusterState::kCreateInProgress;
  std::string state_message;
  uint32_t backup_retention_days = 90;
  std::string source_backup_id;
  int64_t create_time = 0;
  std::string cluster_csr_pem;
  std::string cluster_certificate_pem;
  std::string trust_anchor_pem;
  std::vector<Hsm> hsms;  // filled by reads; written through Hsm rows
  std::vector<Tag> tags;  // likewise, sorted by key
};

struct Backup {
  std::string backup_id;
  std::string cluster_id;
  std::string region;
  BackupState state = BackupState::kCreateInProgress;
  ClusterMode mode = ClusterMode::kFips;
  int64_t create_time = 0;
  int64_t delete_time = 0;  // deletion requested (PENDING_DELETION) or done
  bool never_expires = false;
  std::string source_backup_id;  // set on copies: they carry no retention
  std::string source_region;
  std::string source_cluster_id;
  int64_t copy_time = 0;
  std::vector<Tag> tags;  // filled by reads, sorted by key

  bool is_copy() const { return !source_backup_id.empty(); }
};

}  // namespace coffer::manager

#endif  // COFFER_MANAGER_TYPES_H_
