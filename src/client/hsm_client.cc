#include "client/hsm_client.h"

#include <string.h>

#include <algorithm>

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

absl::StatusOr<uint64_t> HsmClient::SendRequest(pb::Request& request) {
  request.set_id(next_id_++);
  if (!session_.empty() && request.session().empty()) {
    request.set_session(session_);
  }
  COFFER_RETURN_IF_ERROR(
      connection_.Send(AsBytes(request.SerializeAsString())));
  return request.id();
}

absl::StatusOr<pb::Response> HsmClient::ReceiveResponse(uint64_t id) {
  COFFER_ASSIGN_OR_RETURN(Bytes reply, connection_.Receive());
  pb::Response response;
  if (!response.ParseFromArray(reply.data(), static_cast<int>(reply.size()))) {
    connection_.Close();
    return absl::DataLossError("the HSM sent a malformed response");
  }
  if (response.id() != id) {
    connection_.Close();
    return absl::DataLossError("the HSM answered a different request");
  }
  COFFER_RETURN_IF_ERROR(StatusFromWire(response.status()));
  return response;
}

absl::StatusOr<pb::BackupSummary> HsmClient::CreateBackup(
    const ChunkSink& sink) {
  pb::Request request;
  request.mutable_create_backup();
  COFFER_ASSIGN_OR_RETURN(uint64_t id, SendRequest(request));
  for (;;) {
    // An error status ends the stream, with the connection in step.
    COFFER_ASSIGN_OR_RETURN(pb::Response response, ReceiveResponse(id));
    if (response.has_create_backup()) return response.create_backup().summary();
    if (!response.has_backup_chunk()) {
      connection_.Close();
      return absl::DataLossError("the HSM sent something else than a backup");
    }
    if (absl::Status s = sink(AsBytes(response.backup_chunk().data()));
        !s.ok()) {
      connection_.Close();  // the rest of the stream is still coming
      return s;
    }
  }
}

absl::StatusOr<pb::BackupSummary> HsmClient::RestoreBackup(
    const ChunkSource& next, const std::string& quorum_token) {
  // The HSM's backup chunk size; frames stay far below the 1 MiB limit.
  constexpr size_t kChunkSize = size_t{256} << 10;
  pb::Request request;
  request.mutable_restore_backup();
  // Restores onto an ACTIVE HSM are under quorum control (hsm.h).
  request.set_quorum_token(quorum_token);
  COFFER_ASSIGN_OR_RETURN(uint64_t id, SendRequest(request));
  pb::Request chunk;
  for (;;) {
    absl::StatusOr<Bytes> data = next();
    if (!data.ok()) {
      connection_.Close();  // aborts the restore: nothing changes
      return data.status();
    }
    for (size_t at = 0; at < data->size(); at += kChunkSize) {
      const size_t n = std::min(kChunkSize, data->size() - at);
      chunk.mutable_backup_chunk()->set_data(data->data() + at, n);
      COFFER_RETURN_IF_ERROR(SendRequest(chunk).status());
    }
    if (data->empty()) break;
  }
  chunk.mutable_backup_chunk()->clear_data();
  chunk.mutable_backup_chunk()->set_last(true);
  COFFER_RETURN_IF_ERROR(SendRequest(chunk).status());
  COFFER_ASSIGN_OR_RETURN(pb::Response response, ReceiveResponse(id));
  if (!response.has_restore_backup()) {
    return absl::DataLossError(
        "the HSM answered a restore with something else");
  }
  session_.clear();  // the restore ended it
  return response.restore_backup().summary();
}

}  // namespace coffer::client
