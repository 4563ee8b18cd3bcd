// TlsClient: one persistent, mutually authenticated TLS 1.3 connection to a
// TlsServer, carrying length-prefixed frames (frame.h).
//
//   COFFER_ASSIGN_OR_RETURN(TlsClient client,
//                           TlsClient::Connect("10.0.0.7", 2300, options));
//   COFFER_ASSIGN_OR_RETURN(Bytes response, client.Call(request));
//
// Connect returns once the server has accepted this client's certificate:
// in TLS 1.3 the client finishes its handshake first, so Connect waits for
// the server's first post-handshake record (the session ticket a TlsServer
// sends after verifying the client) or its refusal.
//
// Errors, chosen so a caller knows what to do:
//   Unavailable       cannot connect, connection refused/reset/closed (fail
//                     over to another server or reconnect)
//   Unauthenticated   the server's certificate does not verify or does not
//                     match `server_name`, or the server refused ours
//   DeadlineExceeded  connect_timeout or io_timeout passed; for a request
//                     already sent, its outcome is unknown
//   ResourceExhausted a response frame larger than max_frame_size
//   InvalidArgument   bad options or PEM; a request over max_frame_size
//                     (nothing sent, the connection stays usable)
// Any error other than InvalidArgument closes the connection; later calls
// return Unavailable naming the first error. Reconnect to continue.
//
// Not thread-safe: use one TlsClient per thread (or guard it). Move-only.
// SIGPIPE is never raised (MSG_NOSIGNAL through a custom BIO).
#ifndef COFFER_NET_TLS_CLIENT_H_
#define COFFER_NET_TLS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/bytes.h"
#include "net/credentials.h"
#include "net/frame.h"

namespace coffer::net {

struct TlsClientOptions {
  TlsCredentials credentials;  // anchors here are for the server's cert
  // If non-empty, a DNS name or an IP address the server certificate's
  // subjectAltName must contain (a DNS name is also sent as SNI). If empty,
  // any certificate chaining to the trust anchors is accepted: use that
  // only with a CA that issues nothing but this cluster's servers.
  std::string server_name;
  absl::Duration connect_timeout = absl::Seconds(5);  // TCP + TLS, in total
  // Bounds each wait for the socket during Send/Receive/Call.
  absl::Duration io_timeout = absl::Seconds(30);
  size_t max_frame_size = kDefaultMaxFrameSize;  // for responses and requests
};

class TlsClient {
 public:
  static absl::StatusOr<TlsClient> Connect(std::string_view host, uint16_t port,
                                           const TlsClientOptions& options);
  TlsClient(TlsClient&& other) noexcept;
  TlsClient& operator=(TlsClient&& other) noexcept;
  ~TlsClient();  // Close()s

  // Send(request), then Receive().
  absl::StatusOr<Bytes> Call(ByteView request);

  // Pipelining: Send several requests, then Receive their responses, which
  // come in the same order. Each Send writes its frame to the socket before
  // returning; keep the unanswered total within the socket buffers (a few
  // hundred KiB), or the server blocks writing responses nobody reads.
  absl::Status Send(ByteView request);
  absl::StatusOr<Bytes> Receive();

  // The server's verified certificate.
  const PeerIdentity& server() const;
  // False after Close() or an error that closed the connection.
  bool is_open() const;
  // Sends close_notify and closes the socket. Idempotent.
  void Close();

 private:
  struct Connection;
  explicit TlsClient(std::unique_ptr<Connection> connection);
  absl::Status CheckOpen() const;
  absl::Status Broken(absl::Status status);
  std::unique_ptr<Connection> connection_;
};

}  // namespace coffer::net

#endif  // COFFER_NET_TLS_CLIENT_H_
