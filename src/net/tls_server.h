// TlsServer: the HSM's lean transport, server side. Length-prefixed frames
// (frame.h) over persistent, mutually authenticated TLS 1.3 connections.
//
//   auto server = TlsServer::Create(std::move(options), handler);
//   COFFER_RETURN_IF_ERROR((*server)->Start());  // (*server)->port()
//
// Every client must present a certificate chaining to one of the trust
// anchors; otherwise the handshake fails and the handler is never called.
// Each request is passed to the handler with the client's PeerIdentity; its
// return value is sent back as the response. Clients may pipeline: requests
// on one connection are handled one at a time, in order, and responses
// leave in the same order (responses to already-buffered requests are sent
// together). Parallelism comes from more connections.
//
// Streaming: an operation too large for one frame each way (a backup) uses
// the FrameStream the handler is given: Send() puts extra response frames
// on the wire before the handler's return value, Receive() reads further
// request frames of the same connection. A handler that uses neither costs
// exactly what it did before streaming existed (the stream object lives
// for the whole connection; nothing is allocated or locked per request).
//
// Threading: one acceptor thread polls the listening socket and starts one
// thread per connection; the handshake runs on that thread (never blocking
// the acceptor), followed by blocking reads and writes: a request costs one
// recv() and one send() and no hand-off between threads, the leanest path
// on a machine with few cores. `max_connections` bounds the threads. The
// handler runs concurrently on several connection threads, so it must be
// thread-safe, and it must not throw. Stop() waits for running handlers to
// return.
//
// Timeouts: a handshake must finish within `handshake_timeout` in total
// (slow or garbage clients); a connection on which no byte arrives (or
// whose peer stops reading responses) for `idle_timeout` is closed.
// A frame longer than `max_frame_size` closes its connection only.
//
// SIGPIPE: never raised; sockets are written with MSG_NOSIGNAL through a
// custom BIO, and the process's signal dispositions are not touched.
#ifndef COFFER_NET_TLS_SERVER_H_
#define COFFER_NET_TLS_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/bytes.h"
#include "net/credentials.h"
#include "net/frame.h"

namespace coffer::net {

struct TlsServerOptions {
  std::string host = "127.0.0.1";  // a name or address to listen on
  uint16_t port = 0;               // 0: a free port, see TlsServer::port()
  TlsCredentials credentials;      // anchors here are for client certs
  size_t max_frame_size = kDefaultMaxFrameSize;  // 1..kMaxFrameSizeLimit
  int max_connections = 256;  // more are accepted and closed at once
  absl::Duration handshake_timeout = absl::Seconds(5);
  absl::Duration idle_timeout = absl::Seconds(60);
  // Optional; called, possibly concurrently, from server threads for each
  // connection that ends in error (refused handshake, timeout, oversize
  // frame, reset, refused for max_connections). Messages name the peer
  // address, never secrets. For logging; keep it quick.
  std::function<void(const absl::Status&)> on_connection_error;
};

// Counters since Start(); each is read atomically, the set is not a snapshot.
struct TlsServerStats {
  int64_t open_connections = 0;     // accepted, not yet closed
  int64_t requests_in_flight = 0;   // handler calls running now
  int64_t total_requests = 0;       // handler calls started
  int64_t rejected_handshakes = 0;  // failed or timed out handshakes
  int64_t refused_connections = 0;  // closed for max_connections
  int64_t oversize_frames = 0;      // connections closed for frame size
};

// The connection a request came in on, for the length of one handler call
// (never keep it past the return). Used by that call's thread only.
class FrameStream {
 public:
  // Sends `frame` as a response now, ahead of the handler's return value;
  // returns once it is written to the socket (bounded by idle_timeout).
  // Errors (peer gone, timeout) break the connection: the handler should
  // return at once, and its return value is then dropped.
  virtual absl::Status Send(ByteView frame) = 0;
  // The next request frame on this connection, valid until the next
  // Receive() or the handler's return. It invalidates the `request` view
  // the handler was given. Waits at most idle_timeout (DeadlineExceeded);
  // ResourceExhausted for a frame over max_frame_size; Unavailable if the
  // peer closed the connection. Any error breaks the connection as above.
  virtual absl::StatusOr<ByteView> Receive() = 0;

 protected:
  ~FrameStream() = default;
};

class TlsServer {
 public:
  // `stream` is for streamed operations only; most handlers ignore it.
  using Handler = std::function<Bytes(
      ByteView request, const PeerIdentity& peer, FrameStream& stream)>;

  // Validates `options` and loads the credentials. InvalidArgument for bad
  // options, bad PEM or a key that does not match the certificate.
  static absl::StatusOr<std::unique_ptr<TlsServer>> Create(
      TlsServerOptions options, Handler handler);
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;
  ~TlsServer();  // Stop()s

  // Binds, listens and starts accepting. Unavailable if the address cannot
  // be bound; FailedPrecondition if called twice (a server is started once).
  absl::Status Start();
  // Closes the listener and every connection, waits for running handlers,
  // joins every thread. Idempotent; safe to call without Start().
  void Stop();

  // The bound port; valid after a successful Start().
  uint16_t port() const;
  TlsServerStats stats() const;

  // Serves `credentials` (certificate, key and client trust anchors) on
  // connections accepted from now on; open connections keep theirs. Same
  // errors as Create; on error nothing changes. Thread-safe.
  absl::Status UpdateCredentials(const TlsCredentials& credentials);

 private:
  struct State;
  explicit TlsServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace coffer::net

#endif  // COFFER_NET_TLS_SERVER_H_
