// One TLS connection over a TCP socket, with length-prefixed framing and
// buffered reads and writes; shared by TlsServer and TlsClient. Nobody else
// includes this. Not thread-safe: one thread uses a stream at a time; another
// thread may shutdown() the socket to wake it.
//
// The socket is driven through a custom BIO that uses send(MSG_NOSIGNAL),
// so a peer that goes away never raises SIGPIPE and the process's signal
// dispositions are left alone (this code also runs inside applications that
// load libcoffer-pkcs11.so). Until EnterDataPhase() every wait is bounded
// by one overall deadline (poll); after it, each blocking recv()/send() is
// bounded by the socket timeouts, so the hot path is one syscall per read or
// write.
#ifndef COFFER_NET_INTERNAL_TLS_STREAM_H_
#define COFFER_NET_INTERNAL_TLS_STREAM_H_

#include <openssl/ssl.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/bytes.h"
#include "net/internal/socket.h"
#include "net/internal/ssl_util.h"

namespace coffer::net::internal {

// What the socket BIO saw last; turns libssl's failures into precise errors.
struct SocketIo {
  int fd = -1;
  absl::Time deadline = absl::InfiniteFuture();  // handshake phase only
  bool poll_mode = true;                         // until EnterDataPhase()
  bool timed_out = false;
  bool eof = false;
  int error = 0;  // errno of a failed recv/send
};

class TlsStream {
 public:
  // Uses `fd` (connected, blocking), which the caller closes after the
  // stream is destroyed; the SSL holds a reference to `ctx`.
  static absl::StatusOr<std::unique_ptr<TlsStream>> Create(SSL_CTX* ctx,
                                                           int fd);
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;
  ~TlsStream();

  SSL* ssl() { return ssl_.get(); }
  int fd() const { return io_->fd; }

  // The TLS handshake, finished before `deadline` (DeadlineExceeded).
  absl::Status Handshake(Side side, absl::Time deadline);
  // Client: waits for the server's first post-handshake record (the session
  // ticket a TlsServer sends once it has accepted our certificate).
  absl::Status AwaitServerAcceptance(absl::Time deadline);
  // Switches to blocking I/O bounded per call by `io_timeout`.
  absl::Status EnterDataPhase(absl::Duration io_timeout);

  // The next frame's payload, valid until the next ReadFrame. A length above
  // `max_frame_size` is ResourceExhausted and breaks the stream.
  absl::StatusOr<ByteView> ReadFrame(size_t max_frame_size);
  // True if ReadFrame can return a whole frame without waiting: one is
  // buffered here, or completes from bytes libssl has already received
  // (pipelined requests). Never blocks; an error is left for ReadFrame.
  bool FrameReadyWithoutWaiting();
  // Appends a frame to the write buffer; Flush() sends it.
  void QueueFrame(ByteView payload);
  size_t queued_bytes() const { return wbuf_.size(); }
  absl::Status Flush();

  // After a failed ReadFrame: the peer closed the connection (or it was
  // shut down locally) with no partial frame pending.
  bool PeerClosedBetweenFrames() const {
    return peer_closed_ && rpos_ == rend_;
  }

  // Best-effort close_notify (bounded by the socket timeouts).
  void SendCloseNotify();

 private:
  TlsStream(SslPtr ssl, std::unique_ptr<SocketIo> io);
  // Maps a failed SSL_* call (its return value `ret`) to a status.
  absl::Status Failure(int ret, absl::string_view what);
  // Reads more bytes into rbuf_, growing it to hold `need` unread bytes.
  absl::Status Fill(size_t need);
  bool HasBufferedFrame() const;
  // Moves unread bytes to the front of rbuf_.
  void Compact();

  // Destroyed in reverse: the SSL (and its BIO) before the state the BIO
  // points at.
  std::unique_ptr<SocketIo> io_;
  SslPtr ssl_;
  bool peer_closed_ = false;
  Bytes rbuf_;  // unread bytes are [rpos_, rend_)
  size_t rpos_ = 0;
  size_t rend_ = 0;
  Bytes wbuf_;
};

}  // namespace coffer::net::internal

#endif  // COFFER_NET_INTERNAL_TLS_STREAM_H_
