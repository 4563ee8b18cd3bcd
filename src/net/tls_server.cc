#include "net/tls_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <list>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/status.h"
#include "net/internal/socket.h"
#include "net/internal/ssl_util.h"
#include "net/internal/tls_stream.h"

namespace coffer::net {
namespace {

using internal::SslCtxShared;
using internal::UniqueFd;

// Responses to pipelined requests are sent together up to this much.
constexpr size_t kFlushThreshold = 64 * 1024;

absl::Status ValidateOptions(const TlsServerOptions& options) {
  if (options.host.empty()) {
    return absl::InvalidArgumentError("TlsServerOptions.host is empty");
  }
  if (options.max_frame_size == 0 ||
      options.max_frame_size > kMaxFrameSizeLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("TlsServerOptions.max_frame_size must be 1 to ",
                     kMaxFrameSizeLimit, "; got ", options.max_frame_size));
  }
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError(
        "TlsServerOptions.max_connections must be at least 1");
  }
  if (options.handshake_timeout <= absl::ZeroDuration() ||
      options.handshake_timeout == absl::InfiniteDuration() ||
      options.idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "TlsServerOptions timeouts must be positive (the handshake timeout "
        "finite)");
  }
  return absl::OkStatus();
}

// The FrameStream of one connection: made once per connection on its
// thread's stack, so a request that does not stream pays nothing for it.
class ConnectionFrames final : public FrameStream {
 public:
  ConnectionFrames(internal::TlsStream& stream, size_t max_frame_size,
                   std::atomic<int64_t>& oversize)
      : stream_(stream), max_frame_size_(max_frame_size), oversize_(oversize) {}

  absl::Status Send(ByteView frame) override {
    if (!broken_.ok()) return broken_;
    if (frame.size() > UINT32_MAX) {
      return Break(absl::InternalError("a streamed response frame over 4 GiB"));
    }
    stream_.QueueFrame(frame);
    return Break(stream_.Flush());
  }

  absl::StatusOr<ByteView> Receive() override {
    if (!broken_.ok()) return broken_;
    // Responses to requests pipelined ahead of this one may still sit in
    // the write buffer; a client waiting for them would never send more.
    if (stream_.queued_bytes() > 0) {
      COFFER_RETURN_IF_ERROR(Break(stream_.Flush()));
    }
    absl::StatusOr<ByteView> frame = stream_.ReadFrame(max_frame_size_);
    if (frame.ok()) return frame;
    if (frame.status().code() == absl::StatusCode::kResourceExhausted) {
      oversize_.fetch_add(1, std::memory_order_relaxed);
    }
    if (stream_.PeerClosedBetweenFrames()) {
      return Break(absl::UnavailableError(
          "the client closed the connection in the middle of a streamed "
          "request"));
    }
    return Break(frame.status());
  }

  // The first error of Send/Receive: the connection is no longer in step.
  const absl::Status& broken() const { return broken_; }

 private:
  absl::Status Break(absl::Status status) {
    if (!status.ok() && broken_.ok()) broken_ = status;
    return status;
  }

  internal::TlsStream& stream_;
  const size_t max_frame_size_;
  std::atomic<int64_t>& oversize_;
  absl::Status broken_;
};

}  // namespace

struct TlsServer::State {
  struct Connection {
    UniqueFd fd;  // closed by the connection's thread as it leaves `live`
    std::thread thread;
    std::list<Connection>::iterator self;
  };

  TlsServerOptions options;  // credentials cleared once loaded
  Handler handler;

  absl::Mutex mu;
  SslCtxShared ctx ABSL_GUARDED_BY(mu);
  bool started ABSL_GUARDED_BY(mu) = false;
  bool stopped ABSL_GUARDED_BY(mu) = false;
  std::list<Connection> live ABSL_GUARDED_BY(mu);
  std::list<Connection> done ABSL_GUARDED_BY(mu);  // to join

  UniqueFd listen_fd;
  UniqueFd wake_fd;  // eventfd; Stop() wakes the acceptor through it
  UniqueFd reap_fd;  // eventfd; finished connections ask to be joined
  std::thread acceptor;
  std::atomic<uint16_t> port{0};

  std::atomic<int64_t> open{0}, in_flight{0}, total{0}, rejected{0}, refused{0},
      oversize{0};

  void Report(const absl::Status& status, absl::string_view peer) {
    if (options.on_connection_error) {
      options.on_connection_error(absl::Status(
          status.code(),
          absl::StrCat("connection from ", peer, ": ", status.message())));
    }
  }

  void AcceptLoop();
  void Admit(UniqueFd fd);
  void JoinFinished();
  void RunConnection(Connection* connection, SslCtxShared context);
  absl::Status Serve(int fd, SSL_CTX* context);
};

void TlsServer::State::AcceptLoop() {
  for (;;) {
    pollfd fds[3] = {{listen_fd.get(), POLLIN, 0},
                     {wake_fd.get(), POLLIN, 0},
                     {reap_fd.get(), POLLIN, 0}};
    if (poll(fds, 3, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;  // Stop()
    if (fds[2].revents != 0) {
      uint64_t count = 0;
      if (read(reap_fd.get(), &count, sizeof(count)) < 0) {
        // EAGAIN: another wake-up already drained it.
      }
      JoinFinished();
    }
    if (fds[0].revents == 0) continue;
    for (;;) {
      const int fd = accept4(listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        Admit(UniqueFd(fd));
        continue;
      }
      const int err = errno;
      if (err == EINTR || err == ECONNABORTED) continue;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        // Out of descriptors or memory: back off instead of spinning.
        Report(internal::ErrnoStatus(absl::StatusCode::kResourceExhausted,
                                     "accept", err),
               "?");
        pollfd wake = {wake_fd.get(), POLLIN, 0};
        poll(&wake, 1, 100);
      }
      break;  // EAGAIN: nothing more to accept
    }
  }
}

void TlsServer::State::Admit(UniqueFd fd) {
  absl::MutexLock lock(&mu);
  if (live.size() >= static_cast<size_t>(options.max_connections)) {
    refused.fetch_add(1, std::memory_order_relaxed);
    Report(absl::ResourceExhaustedError(
               absl::StrCat("refused: max_connections (",
                            options.max_connections, ") reached")),
           internal::PeerAddress(fd.get()));
    return;  // closes fd
  }
  auto it = live.emplace(live.end());
  it->fd = std::move(fd);
  it->self = it;
  open.fetch_add(1, std::memory_order_relaxed);
  // std::thread reports failure only by throwing; it must not escape this
  // thread (that would terminate the process).
  try {
    it->thread = std::thread(&State::RunConnection, this, &*it, ctx);
  } catch (const std::system_error&) {
    live.erase(it);
    open.fetch_sub(1, std::memory_order_relaxed);
    refused.fetch_add(1, std::memory_order_relaxed);
  }
}

void TlsServer::State::JoinFinished() {
  std::list<Connection> finished;
  {
    absl::MutexLock lock(&mu);
    finished.swap(done);
  }
  for (Connection& c : finished) c.thread.join();
}

void TlsServer::State::RunConnection(Connection* connection,
                                     SslCtxShared context) {
  const int fd = connection->fd.get();
  // Read now: after a reset the peer's address may be gone.
  const std::string peer =
      options.on_connection_error ? internal::PeerAddress(fd) : "";
  const absl::Status status = Serve(fd, context.get());
  if (!status.ok()) Report(status, peer);
  {
    absl::MutexLock lock(&mu);
    // Closed under the lock Stop() holds while it shuts sockets down, so
    // Stop never touches a descriptor number the system handed out again.
    connection->fd.Reset();
    done.splice(done.end(), live, connection->self);
    open.fetch_sub(1, std::memory_order_relaxed);
  }
  const uint64_t one = 1;
  if (write(reap_fd.get(), &one, sizeof(one)) < 0) {
    // Fails only if the counter is saturated, and then it is readable.
  }
}

// The life of one connection; OK when the client closed it between frames
// or Stop() did.
absl::Status TlsServer::State::Serve(int fd, SSL_CTX* context) {
  COFFER_RETURN_IF_ERROR(internal::TuneConnectedSocket(fd));
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<internal::TlsStream> stream,
                          internal::TlsStream::Create(context, fd));
  absl::Status status = stream->Handshake(
      internal::Side::kServer, absl::Now() + options.handshake_timeout);
  absl::StatusOr<PeerIdentity> peer = absl::UnknownError("no handshake");
  if (status.ok()) peer = internal::ReadPeerIdentity(stream->ssl());
  if (status.ok()) status = peer.status();
  if (!status.ok()) {
    rejected.fetch_add(1, std::memory_order_relaxed);
    return status;
  }
  COFFER_RETURN_IF_ERROR(stream->EnterDataPhase(options.idle_timeout));
  ConnectionFrames frames(*stream, options.max_frame_size, oversize);
  for (;;) {
    absl::StatusOr<ByteView> request =
        stream->ReadFrame(options.max_frame_size);
    if (!request.ok()) {
      if (request.status().code() == absl::StatusCode::kResourceExhausted) {
        oversize.fetch_add(1, std::memory_order_relaxed);
      }
      if (stream->PeerClosedBetweenFrames()) return absl::OkStatus();
      return request.status();
    }
    in_flight.fetch_add(1, std::memory_order_relaxed);
    total.fetch_add(1, std::memory_order_relaxed);
    const Bytes response = handler(*request, *peer, frames);
    in_flight.fetch_sub(1, std::memory_order_relaxed);
    // A streamed exchange that failed half-way: the peer and we disagree
    // on what comes next, so the connection ends.
    if (!frames.broken().ok()) return frames.broken();
    if (response.size() > UINT32_MAX) {
      return absl::InternalError("the handler returned a response over 4 GiB");
    }
    stream->QueueFrame(response);
    if (!stream->FrameReadyWithoutWaiting() ||
        stream->queued_bytes() >= kFlushThreshold) {
      COFFER_RETURN_IF_ERROR(stream->Flush());
    }
  }
}

TlsServer::TlsServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

TlsServer::~TlsServer() { Stop(); }

absl::StatusOr<std::unique_ptr<TlsServer>> TlsServer::Create(
    TlsServerOptions options, Handler handler) {
  COFFER_RETURN_IF_ERROR(ValidateOptions(options));
  if (!handler) return absl::InvalidArgumentError("TlsServer needs a handler");
  COFFER_ASSIGN_OR_RETURN(
      SslCtxShared ctx,
      internal::NewContext(internal::Side::kServer, options.credentials));
  auto state = std::make_unique<State>();
  options.credentials = TlsCredentials();  // the context holds the key now
  state->options = std::move(options);
  state->handler = std::move(handler);
  {
    absl::MutexLock lock(&state->mu);
    state->ctx = std::move(ctx);
  }
  return std::unique_ptr<TlsServer>(new TlsServer(std::move(state)));
}

absl::Status TlsServer::Start() {
  State& s = *state_;
  absl::MutexLock lock(&s.mu);
  if (s.started || s.stopped) {
    return absl::FailedPreconditionError(
        "TlsServer::Start: a server starts once, and not after Stop");
  }
  COFFER_ASSIGN_OR_RETURN(s.listen_fd,
                          internal::ListenTcp(s.options.host, s.options.port));
  COFFER_ASSIGN_OR_RETURN(s.port, internal::LocalPort(s.listen_fd.get()));
  s.wake_fd = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  s.reap_fd = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s.wake_fd.valid() || !s.reap_fd.valid()) {
    return internal::ErrnoStatus(absl::StatusCode::kInternal, "eventfd", errno);
  }
  s.acceptor = std::thread(&State::AcceptLoop, &s);
  s.started = true;
  return absl::OkStatus();
}

void TlsServer::Stop() {
  State& s = *state_;
  {
    absl::MutexLock lock(&s.mu);
    const bool running = s.started && !s.stopped;
    s.stopped = true;
    if (!running) return;
  }
  const uint64_t one = 1;
  if (write(s.wake_fd.get(), &one, sizeof(one)) < 0) {
    // Fails only if the counter is saturated, and then it is readable.
  }
  s.acceptor.join();
  s.listen_fd.Reset();
  {
    absl::MutexLock lock(&s.mu);
    // Every socket in `live` is still open (see RunConnection).
    for (State::Connection& c : s.live) shutdown(c.fd.get(), SHUT_RDWR);
    s.mu.Await(absl::Condition(
        +[](std::list<State::Connection>* live) { return live->empty(); },
        &s.live));
  }
  s.JoinFinished();
}

uint16_t TlsServer::port() const { return state_->port.load(); }

TlsServerStats TlsServer::stats() const {
  const State& s = *state_;
  constexpr auto kRelaxed = std::memory_order_relaxed;
  TlsServerStats stats;
  stats.open_connections = s.open.load(kRelaxed);
  stats.requests_in_flight = s.in_flight.load(kRelaxed);
  stats.total_requests = s.total.load(kRelaxed);
  stats.rejected_handshakes = s.rejected.load(kRelaxed);
  stats.refused_connections = s.refused.load(kRelaxed);
  stats.oversize_frames = s.oversize.load(kRelaxed);
  return stats;
}

absl::Status TlsServer::UpdateCredentials(const TlsCredentials& credentials) {
  COFFER_ASSIGN_OR_RETURN(
      SslCtxShared ctx,
      internal::NewContext(internal::Side::kServer, credentials));
  absl::MutexLock lock(&state_->mu);
  state_->ctx = std::move(ctx);
  return absl::OkStatus();
}

}  // namespace coffer::net
