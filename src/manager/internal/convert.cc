#include "manager/internal/convert.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace coffer::manager::internal {
namespace {

// The proto enums and the domain enums share their numbers (types.h), so
// conversion is a checked cast.
template <typename Domain, typename Proto>
absl::StatusOr<Domain> CheckedCast(Proto value, int max,
                                   absl::string_view field) {
  const int v = static_cast<int>(value);
  if (v < 1 || v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " ", v, " is unspecified or unknown"));
  }
  return static_cast<Domain>(v);
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  struct Mapping {
    absl::StatusCode from;
    grpc::StatusCode to;
  };
  static constexpr Mapping kTable[] = {
      {absl::StatusCode::kOk, grpc::StatusCode::OK},
      {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED},
      {absl::StatusCode::kUnknown, grpc::StatusCode::UNKNOWN},
      {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
      {absl::StatusCode::kDeadlineExceeded,
       grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND},
      {absl::StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
      {absl::StatusCode::kPermissionDenied,
       grpc::StatusCode::PERMISSION_DENIED},
      {absl::StatusCode::kResourceExhausted,
       grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::StatusCode::kFailedPrecondition,
       grpc::StatusCode::FAILED_PRECONDITION},
      {absl::StatusCode::kAborted, grpc::StatusCode::ABORTED},
      {absl::StatusCode::kOutOfRange, grpc::StatusCode::OUT_OF_RANGE},
      {absl::StatusCode::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED},
      {absl::StatusCode::kInternal, grpc::StatusCode::INTERNAL},
      {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE},
      {absl::StatusCode::kDataLoss, grpc::StatusCode::DATA_LOSS},
      {absl::StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED},
  };
  for (const Mapping& m : kTable) {
    if (m.from == status.code()) {
      return grpc::Status(m.to, std::string(status.message()));
    }
  }
  return grpc::Status(grpc::StatusCode::UNKNOWN, std::string(status.message()));
}

void ToProto(const Tag& in, pb::Tag* out) {
  out->set_key(in.key);
  out->set_value(in.value);
}

void ToProto(const Hsm& in, pb::Hsm* out) {
  out->set_hsm_id(in.hsm_id);
  out->set_cluster_id(in.cluster_id);
  out->set_state(static_cast<pb::HsmState>(in.state));
  out->set_state_message(in.state_message);
  out->set_endpoint(in.endpoint);
  out->set_availability_zone(in.availability_zone);
  out->set_create_time(in.create_time);
}

void ToProto(const Cluster& in, pb::Cluster* out) {
  out->set_cluster_id(in.cluster_id);
  out->set_region(in.region);
  out->set_mode(static_cast<pb::ClusterMode>(in.mode));
  out->set_state(static_cast<pb::ClusterState>(in.state));
  out->set_state_message(in.state_message);
  out->set_backup_retention_days(in.backup_retention_days);
  out->set_source_backup_id(in.source_backup_id);
  out->set_create_time(in.create_time);
  for (const Hsm& hsm : in.hsms) ToProto(hsm, out->add_hsms());
  pb::ClusterCertificates* certs = out->mutable_certificates();
  certs->set_cluster_csr_pem(in.cluster_csr_pem);
  certs->set_cluster_certificate_pem(in.cluster_certificate_pem);
  certs->set_trust_anchor_pem(in.trust_anchor_pem);
  for (const Tag& tag : in.tags) ToProto(tag, out->add_tags());
}

void ToProto(const Backup& in, pb::Backup* out) {
  out->set_backup_id(in.backup_id);
  out->set_cluster_id(in.cluster_id);
  out->set_region(in.region);
  out->set_state(static_cast<pb::BackupState>(in.state));
  out->set_mode(static_cast<pb::ClusterMode>(in.mode));
  out->set_create_time(in.create_time);
  out->set_delete_time(in.delete_time);
  out->set_never_expires(in.never_expires);
  out->set_source_backup_id(in.source_backup_id);
  out->set_source_region(in.source_region);
  out->set_source_cluster_id(in.source_cluster_id);
  out->set_copy_time(in.copy_time);
  for (const Tag& tag : in.tags) ToProto(tag, out->add_tags());
}

absl::StatusOr<ClusterMode> FromProto(pb::ClusterMode mode,
                                      absl::string_view field) {
  return CheckedCast<ClusterMode>(mode, 2, field);
}
absl::StatusOr<ClusterState> FromProto(pb::ClusterState state,
                                       absl::string_view field) {
  return CheckedCast<ClusterState>(state, 9, field);
}
absl::StatusOr<BackupState> FromProto(pb::BackupState state,
                                      absl::string_view field) {
  return CheckedCast<BackupState>(state, 4, field);
}

std::vector<Tag> FromProto(
    const google::protobuf::RepeatedPtrField<pb::Tag>& tags) {
  std::vector<Tag> out;
  for (const pb::Tag& tag : tags) out.push_back(Tag{tag.key(), tag.value()});
  return out;
}

}  // namespace coffer::manager::internal
