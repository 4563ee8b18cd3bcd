#include "net/internal/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace coffer::net::internal {
namespace {

struct AddrInfoFree {
  void operator()(addrinfo* p) const { freeaddrinfo(p); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoFree>;

absl::StatusOr<AddrInfoPtr> Resolve(const std::string& host, uint16_t port,
                                    bool passive) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* result = nullptr;
  const std::string service = absl::StrCat(port);
  const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                             service.c_str(), &hints, &result);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve host \"", host, "\": ", gai_strerror(rc)));
  }
  return AddrInfoPtr(result);
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void UniqueFd::Reset() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

absl::Status ErrnoStatus(absl::StatusCode code, absl::string_view what,
                         int err) {
  return absl::Status(
      code,
      absl::StrCat(what, ": ",
                   std::error_code(err, std::generic_category()).message()));
}

absl::StatusOr<UniqueFd> ListenTcp(const std::string& host, uint16_t port) {
  absl::StatusOr<AddrInfoPtr> addrs = Resolve(host, port, /*passive=*/true);
  if (!addrs.ok()) return addrs.status();
  absl::Status last = absl::UnavailableError("no address to listen on");
  for (const addrinfo* a = addrs->get(); a != nullptr; a = a->ai_next) {
    UniqueFd fd(socket(a->ai_family,
                       a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                       a->ai_protocol));
    if (!fd.valid()) {
      last = ErrnoStatus(absl::StatusCode::kUnavailable, "socket", errno);
      continue;
    }
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
      last = ErrnoStatus(absl::StatusCode::kUnavailable,
                         absl::StrCat("cannot bind ", host, ":", port), errno);
      continue;
    }
    if (listen(fd.get(), SOMAXCONN) != 0) {
      last = ErrnoStatus(absl::StatusCode::kUnavailable, "listen", errno);
      continue;
    }
    return fd;
  }
  return last;
}

absl::StatusOr<uint16_t> LocalPort(int fd) {
  sockaddr_storage addr = {};
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return ErrnoStatus(absl::StatusCode::kInternal, "getsockname", errno);
  }
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
}

bool WaitReady(int fd, short events, absl::Time deadline) {
  for (;;) {
    int timeout_ms = -1;
    if (deadline != absl::InfiniteFuture()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      timeout_ms = static_cast<int>(
          absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
    }
    pollfd p = {fd, events, 0};
    const int rc = poll(&p, 1, timeout_ms);
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return true;  // let the I/O call report it
  }
}

absl::Status TuneConnectedSocket(int fd) {
  const int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) != 0) {
    return ErrnoStatus(absl::StatusCode::kInternal, "setsockopt", errno);
  }
  return absl::OkStatus();
}

absl::Status SetSocketTimeouts(int fd, absl::Duration read,
                               absl::Duration write) {
  // A zero timeval means "no timeout" to the kernel.
  const auto to_timeval = [](absl::Duration d) {
    return d == absl::InfiniteDuration() ? timeval{0, 0} : absl::ToTimeval(d);
  };
  const timeval r = to_timeval(read);
  const timeval w = to_timeval(write);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof(r)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &w, sizeof(w)) != 0) {
    return ErrnoStatus(absl::StatusCode::kInternal, "setting socket timeouts",
                       errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> ConnectTcp(const std::string& host, uint16_t port,
                                    absl::Time deadline) {
  absl::StatusOr<AddrInfoPtr> addrs = Resolve(host, port, /*passive=*/false);
  if (!addrs.ok()) return addrs.status();
  absl::Status last = absl::UnavailableError("no address to connect to");
  const std::string where = absl::StrCat("connecting to ", host, ":", port);
  for (const addrinfo* a = addrs->get(); a != nullptr; a = a->ai_next) {
    UniqueFd fd(socket(a->ai_family,
                       a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                       a->ai_protocol));
    if (!fd.valid()) {
      last = ErrnoStatus(absl::StatusCode::kUnavailable, "socket", errno);
      continue;
    }
    int err = 0;
    if (connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        if (!WaitReady(fd.get(), POLLOUT, deadline)) {
          return absl::DeadlineExceededError(
              absl::StrCat(where, ": timed out"));
        }
        socklen_t len = sizeof(err);
        if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
          err = errno;
        }
      }
    }
    if (err != 0) {
      last = ErrnoStatus(absl::StatusCode::kUnavailable, where, err);
      continue;
    }
    const int flags = fcntl(fd.get(), F_GETFL);
    if (flags < 0 || fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
      return ErrnoStatus(absl::StatusCode::kInternal, "fcntl", errno);
    }
    if (absl::Status s = TuneConnectedSocket(fd.get()); !s.ok()) return s;
    return fd;
  }
  return last;
}

std::string PeerAddress(int fd) {
  sockaddr_storage addr = {};
  socklen_t len = sizeof(addr);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return "?";
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    return absl::StrCat(text, ":", ntohs(in->sin_port));
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
  inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
  return absl::StrCat("[", text, "]:", ntohs(in6->sin6_port));
}

}  // namespace coffer::net::internal
