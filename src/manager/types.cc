#include "manager/types.h"

namespace coffer::manager {

absl::string_view Name(ClusterState state) {
  switch (state) {
    case ClusterState::kCreateInProgress:
      return "CREATE_IN_PROGRESS";
    case ClusterState::kUninitialized:
      return "UNINITIALIZED";
    case ClusterState::kInitializeInProgress:
      return "INITIALIZE_IN_PROGRESS";
    case ClusterState::kInitialized:
      return "INITIALIZED";
    case ClusterState::kActive:
      return "ACTIVE";
    case ClusterState::kUpdateInProgress:
      return "UPDATE_IN_PROGRESS";
    case ClusterState::kDeleteInProgress:
      return "DELETE_IN_PROGRESS";
    case ClusterState::kDeleted:
      return "DELETED";
    case ClusterState::kDegraded:
      return "DEGRADED";
  }
  return "UNKNOWN";
}

absl::string_view Name(HsmState state) {
  switch (state) {
    case HsmState::kCreateInProgress:
      return "CREATE_IN_PROGRESS";
    case HsmState::kActive:
      return "ACTIVE";
    case HsmState::kDegraded:
      return "DEGRADED";
    case HsmState::kDeleteInProgress:
      return "DELETE_IN_PROGRESS";
    case HsmState::kDeleted:
      return "DELETED";
  }
  return "UNKNOWN";
}

absl::string_view Name(BackupState state) {
  switch (state) {
    case BackupState::kCreateInProgress:
      return "CREATE_IN_PROGRESS";
    case BackupState::kReady:
      return "READY";
    case BackupState::kPendingDeletion:
      return "PENDING_DELETION";
    case BackupState::kDeleted:
      return "DELETED";
  }
  return "UNKNOWN";
}

absl::string_view Name(ClusterMode mode) {
  switch (mode) {
    case ClusterMode::kFips:
      return "FIPS";
    case ClusterMode::kNonFips:
      return "NON_FIPS";
  }
  return "UNKNOWN";
}

}  // namespace coffer::manager
