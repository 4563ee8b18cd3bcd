// POSIX TCP helpers for the net module; nobody else includes this.
#ifndef COFFER_NET_INTERNAL_SOCKET_H_
#define COFFER_NET_INTERNAL_SOCKET_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace coffer::net::internal {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset();

 private:
  int fd_ = -1;
};

// A non-blocking listening socket bound to `host`:`port` (0 picks a free
// port). Unavailable if the address cannot be resolved or bound.
absl::StatusOr<UniqueFd> ListenTcp(const std::string& host, uint16_t port);
absl::StatusOr<uint16_t> LocalPort(int fd);

// A connected, blocking TCP socket with TCP_NODELAY, trying each address of
// `host` in turn. Unavailable if none accepts; DeadlineExceeded if
// `deadline` passes first.
absl::StatusOr<UniqueFd> ConnectTcp(const std::string& host, uint16_t port,
                                    absl::Time deadline);

// Sets TCP_NODELAY and SO_KEEPALIVE.
absl::Status TuneConnectedSocket(int fd);

// Bounds each blocking recv()/send() on `fd` (SO_RCVTIMEO / SO_SNDTIMEO).
absl::Status SetSocketTimeouts(int fd, absl::Duration read,
                               absl::Duration write);

// Waits until `fd` is ready for `events` (POLLIN/POLLOUT) or `deadline`
// passes; false on timeout. Errors and hang-ups count as ready.
bool WaitReady(int fd, short events, absl::Time deadline);

// "ip:port" of the peer, for log messages; "?" if unknown.
std::string PeerAddress(int fd);

// "what: strerror(err)".
absl::Status ErrnoStatus(absl::StatusCode code, absl::string_view what,
                         int err);

}  // namespace coffer::net::internal

#endif  // COFFER_NET_INTERNAL_SOCKET_H_
