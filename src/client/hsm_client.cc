#include "client/hsm_client.h"

#include <string.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace coffer::client {

absl::StatusOr<HsmEndpoint> ParseEndpoint(const std::string& text) {
  const size_t colon = text.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(text.substr(colon + 1), &port) || port == 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not HOST:PORT"));
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return HsmEndpoint{host, static_cast<uint16_t>(port)};
}

absl::Status StatusFromWire(const pb::Status& status) {
  if (status.code() == 0) return absl::OkStatus();
  if (status.code() < 1 || status.code() > 16) {
    return absl::UnknownError(
        absl::StrCat("HSM error code ", status.code(), ": ", status.message()));
  }
  return absl::Status(static_cast<absl::StatusCode>(status.code()),
                      status.message());
}

absl::StatusOr<HsmClient> HsmClient::Connect(const HsmEndpoint& endpoint,
                                             const net::TlsClientOptions& tls) {
  COFFER_ASSIGN_OR_RETURN(
      net::TlsClient connection,
      net::TlsClient::Connect(endpoint.host, endpoint.port, tls));
  return HsmClient(std::move(connection));
}

void WipeBytes(std::string* field) {
  explicit_bzero(field->data(), field->size());
  field->clear();
}

absl::StatusOr<pb::Response> HsmClient::Call(pb::Request request) {
  return CallInPlace(request);
}

absl::StatusOr<pb::Response> HsmClient::CallInPlace(pb::Request& request) {
  request.set_id(next_id_++);
  if (!session_.empty() && request.session().empty()) {
    request.set_session(session_);
  }
  std::string wire = request.SerializeAsString();
  absl::StatusOr<Bytes> reply = connection_.Call(AsBytes(wire));
  // The request may carry a password or plaintext.
  WipeBytes(&wire);
  if (!reply.ok()) return reply.status();
  pb::Response response;
  if (!response.ParseFromArray(reply->data(),
                               static_cast<int>(reply->size()))) {
    return absl::DataLossError("the HSM sent a malformed response");
  }
  if (response.id() != request.id()) {
    return absl::DataLossError("the HSM answered a different request");
  }
  COFFER_RETURN_IF_ERROR(StatusFromWire(response.status()));
  return response;
}

absl::StatusOr<pb::Role> HsmClient::Login(const std::string& user,
                                          const crypto::SecretBytes& password) {
  pb::Request request;
  request.mutable_login()->set_user(user);
  ByteView secret = password.ExposeSecret();
  request.mutable_login()->set_password(secret.data(), secret.size());
  absl::StatusOr<pb::Response> response = CallInPlace(request);
  WipeBytes(request.mutable_login()->mutable_password());
  if (!response.ok()) return response.status();
  session_ = response->login().session();
  return response->login().role();
}

}  // namespace coffer::client
