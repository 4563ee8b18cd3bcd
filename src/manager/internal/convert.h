// Domain records <-> manager.proto messages, and absl::Status ->
// grpc::Status. Used by grpc_service.cc only.
#ifndef COFFER_MANAGER_INTERNAL_CONVERT_H_
#define COFFER_MANAGER_INTERNAL_CONVERT_H_

#include <grpcpp/support/status.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coffer/manager/v1/manager.pb.h"
#include "manager/control_plane.h"
#include "manager/types.h"

namespace coffer::manager::internal {

namespace pb = ::coffer::manager::v1;

// One table: every absl code to its gRPC code; the message is kept.
grpc::Status ToGrpcStatus(const absl::Status& status);

void ToProto(const Hsm& in, pb::Hsm* out);
void ToProto(const Cluster& in, pb::Cluster* out);
void ToProto(const Backup& in, pb::Backup* out);
void ToProto(const Tag& in, pb::Tag* out);

// InvalidArgument for UNSPECIFIED or an unknown value; `field` names it.
absl::StatusOr<ClusterMode> FromProto(pb::ClusterMode mode,
                                      absl::string_view field);
absl::StatusOr<ClusterState> FromProto(pb::ClusterState state,
                                       absl::string_view field);
absl::StatusOr<BackupState> FromProto(pb::BackupState state,
                                      absl::string_view field);
std::vector<Tag> FromProto(
    const google::protobuf::RepeatedPtrField<pb::Tag>& tags);

}  // namespace coffer::manager::internal

#endif  // COFFER_MANAGER_INTERNAL_CONVERT_H_
