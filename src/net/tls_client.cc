#include "net/tls_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "net/internal/socket.h"
#include "net/internal/ssl_util.h"
#include "net/internal/tls_stream.h"

namespace coffer::net {
namespace {

absl::Status ValidateOptions(std::string_view host,
                             const TlsClientOptions& options) {
  if (host.empty()) return absl::InvalidArgumentError("host is empty");
  if (options.max_frame_size == 0 ||
      options.max_frame_size > kMaxFrameSizeLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("TlsClientOptions.max_frame_size must be 1 to ",
                     kMaxFrameSizeLimit, "; got ", options.max_frame_size));
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.connect_timeout == absl::InfiniteDuration() ||
      options.io_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "TlsClientOptions timeouts must be positive (connect_timeout finite)");
  }
  return absl::OkStatus();
}

}  // namespace

struct TlsClient::Connection {
  // The stream is declared after the socket so it is destroyed first.
  internal::UniqueFd fd;
  std::unique_ptr<internal::TlsStream> stream;
  PeerIdentity server;
  size_t max_frame_size = kDefaultMaxFrameSize;
  absl::Status closed;  // OK while open; then why it closed
};

absl::StatusOr<TlsClient> TlsClient::Connect(std::string_view host,
                                             uint16_t port,
                                             const TlsClientOptions& options) {
  COFFER_RETURN_IF_ERROR(ValidateOptions(host, options));
  const absl::Time deadline = absl::Now() + options.connect_timeout;
  COFFER_ASSIGN_OR_RETURN(
      internal::SslCtxShared ctx,
      internal::NewContext(internal::Side::kClient, options.credentials));
  auto c = std::make_unique<Connection>();
  c->max_frame_size = options.max_frame_size;
  COFFER_ASSIGN_OR_RETURN(
      c->fd, internal::ConnectTcp(std::string(host), port, deadline));
  COFFER_ASSIGN_OR_RETURN(c->stream,
                          internal::TlsStream::Create(ctx.get(), c->fd.get()));
  internal::TlsStream& stream = *c->stream;
  COFFER_RETURN_IF_ERROR(
      internal::SetExpectedServerName(stream.ssl(), options.server_name));
  absl::Status status = stream.Handshake(internal::Side::kClient, deadline);
  if (status.ok()) status = stream.AwaitServerAcceptance(deadline);
  if (status.ok()) {
    absl::StatusOr<PeerIdentity> server =
        internal::ReadPeerIdentity(stream.ssl());
    status = server.status();
    if (server.ok()) c->server = *std::move(server);
  }
  if (!status.ok()) {
    return absl::Status(
        status.code(), absl::StrCat(absl::string_view(host.data(), host.size()),
                                    ":", port, ": ", status.message()));
  }
  COFFER_RETURN_IF_ERROR(stream.EnterDataPhase(options.io_timeout));
  return TlsClient(std::move(c));
}

TlsClient::TlsClient(std::unique_ptr<Connection> connection)
    : connection_(std::move(connection)) {}
TlsClient::TlsClient(TlsClient&& other) noexcept = default;
TlsClient& TlsClient::operator=(TlsClient&& other) noexcept {
  if (this != &other) {
    Close();
    connection_ = std::move(other.connection_);
  }
  return *this;
}
TlsClient::~TlsClient() { Close(); }

absl::Status TlsClient::CheckOpen() const {
  if (connection_ == nullptr) {
    return absl::UnavailableError("this TlsClient was moved from");
  }
  if (!connection_->closed.ok()) {
    return absl::UnavailableError(absl::StrCat("the connection is closed: ",
                                               connection_->closed.message()));
  }
  return absl::OkStatus();
}

absl::Status TlsClient::Broken(absl::Status status) {
  connection_->closed = status;
  connection_->stream.reset();
  connection_->fd.Reset();
  return status;
}

absl::Status TlsClient::Send(ByteView request) {
  COFFER_RETURN_IF_ERROR(CheckOpen());
  if (request.size() > connection_->max_frame_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a request of ", request.size(), " bytes exceeds max_frame_size ",
        connection_->max_frame_size, "; nothing was sent"));
  }
  connection_->stream->QueueFrame(request);
  if (absl::Status s = connection_->stream->Flush(); !s.ok()) {
    return Broken(std::move(s));
  }
  return absl::OkStatus();
}

absl::StatusOr<Bytes> TlsClient::Receive() {
  COFFER_RETURN_IF_ERROR(CheckOpen());
  absl::StatusOr<ByteView> frame =
      connection_->stream->ReadFrame(connection_->max_frame_size);
  if (!frame.ok()) return Broken(frame.status());
  return Bytes(frame->begin(), frame->end());
}

absl::StatusOr<Bytes> TlsClient::Call(ByteView request) {
  COFFER_RETURN_IF_ERROR(Send(request));
  return Receive();
}

const PeerIdentity& TlsClient::server() const {
  static const PeerIdentity* const kNone = new PeerIdentity();
  return connection_ != nullptr ? connection_->server : *kNone;
}

bool TlsClient::is_open() const {
  return connection_ != nullptr && connection_->closed.ok();
}

void TlsClient::Close() {
  if (!is_open()) return;
  connection_->stream->SendCloseNotify();
  connection_->closed = absl::UnavailableError("Close() was called");
  connection_->stream.reset();
  connection_->fd.Reset();
}

}  // namespace coffer::net
