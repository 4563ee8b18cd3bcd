// Conversions between the wire schema (proto/coffer/hsm/v1/hsm.proto) and
// the HSM core's types. Only src/node and the client library include this.
#ifndef COFFER_NODE_CONVERT_H_
#define COFFER_NODE_CONVERT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coffer/hsm/v1/hsm.pb.h"
#include "crypto/secret_bytes.h"
#include "hsm/key_manager.h"
#include "hsm/mechanism.h"
#include "hsm/types.h"

namespace coffer::node {

namespace pb = ::coffer::hsm::v1;

// Copies a secret out of a message field and wipes the field.
crypto::SecretBytes TakeSecret(std::string* field);

pb::Role ToProto(hsm::Role role);
absl::StatusOr<hsm::Role> FromProto(pb::Role role);
pb::Mode ToProto(hsm::Mode mode);
absl::StatusOr<hsm::Mode> FromProto(pb::Mode mode);
pb::HsmState ToProto(hsm::HsmState state);
pb::KeyType ToProto(hsm::KeyType type);
absl::StatusOr<hsm::KeyType> FromProto(pb::KeyType type);
pb::ObjectClass ToProto(hsm::ObjectClass c);
absl::StatusOr<hsm::ObjectClass> FromProto(pb::ObjectClass c);

absl::StatusOr<hsm::KeyTemplate> FromProto(const pb::KeyTemplate& t);
absl::StatusOr<hsm::KeyFilter> FromProto(const pb::KeyFilter& f);
hsm::AttributeChange FromProto(const pb::AttributeChange& c);
absl::StatusOr<hsm::MechanismParams> FromProto(const pb::MechanismParams& m);
void ToProto(const hsm::KeyInfo& info, pb::KeyInfo* out);

pb::Status ToProto(const absl::Status& status);
absl::Status FromProto(const pb::Status& status);

}  // namespace coffer::node

#endif  // COFFER_NODE_CONVERT_H_
