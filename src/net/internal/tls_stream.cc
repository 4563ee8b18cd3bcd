#include "net/internal/tls_stream.h"

#include <openssl/bio.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "net/frame.h"

namespace coffer::net::internal {
namespace {

// Holds one full TLS record's plaintext plus the start of the next frame.
constexpr size_t kBufferSize = 32 * 1024;
// Buffers grown for a large frame shrink back once they are empty.
constexpr size_t kMaxIdleBufferSize = 256 * 1024;

SocketIo* IoOf(BIO* bio) { return static_cast<SocketIo*>(BIO_get_data(bio)); }

int SocketRead(BIO* bio, char* buf, size_t len, size_t* read_bytes) {
  SocketIo* io = IoOf(bio);
  BIO_clear_retry_flags(bio);
  *read_bytes = 0;
  if (len == 0) return 1;
  for (;;) {
    const ssize_t n = recv(io->fd, buf, len, io->poll_mode ? MSG_DONTWAIT : 0);
    if (n > 0) {
      *read_bytes = static_cast<size_t>(n);
      return 1;
    }
    if (n == 0) {
      io->eof = true;
      return 0;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      if (io->poll_mode && WaitReady(io->fd, POLLIN, io->deadline)) continue;
      io->timed_out = true;
      BIO_set_retry_read(bio);
      return 0;
    }
    io->error = err;
    return 0;
  }
}

int SocketWrite(BIO* bio, const char* buf, size_t len, size_t* written) {
  SocketIo* io = IoOf(bio);
  BIO_clear_retry_flags(bio);
  *written = 0;
  for (;;) {
    const int flags = MSG_NOSIGNAL | (io->poll_mode ? MSG_DONTWAIT : 0);
    const ssize_t n = send(io->fd, buf, len, flags);
    if (n >= 0) {
      *written = static_cast<size_t>(n);
      return 1;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      if (io->poll_mode && WaitReady(io->fd, POLLOUT, io->deadline)) continue;
      io->timed_out = true;
      BIO_set_retry_write(bio);
      return 0;
    }
    io->error = err;
    return 0;
  }
}

long SocketCtrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;  // nothing is buffered here
    case BIO_CTRL_EOF:
      return IoOf(bio)->eof ? 1 : 0;
    default:
      return 0;
  }
}

int SocketCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

int SocketDestroy(BIO*) { return 1; }  // TlsStream owns the fd and SocketIo

BIO_METHOD* MakeSocketMethod() {
  BIO_METHOD* m =
      BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "coffer socket");
  if (m == nullptr || BIO_meth_set_read_ex(m, SocketRead) != 1 ||
      BIO_meth_set_write_ex(m, SocketWrite) != 1 ||
      BIO_meth_set_ctrl(m, SocketCtrl) != 1 ||
      BIO_meth_set_create(m, SocketCreate) != 1 ||
      BIO_meth_set_destroy(m, SocketDestroy) != 1) {
    BIO_meth_free(m);
    return nullptr;
  }
  return m;
}

// Made once and kept for the life of the process.
const BIO_METHOD* SocketMethod() {
  static BIO_METHOD* const method = MakeSocketMethod();
  return method;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsStream>> TlsStream::Create(SSL_CTX* ctx,
                                                             int fd) {
  const BIO_METHOD* method = SocketMethod();
  if (method == nullptr) {
    ClearSslErrors();
    return absl::InternalError("cannot create the socket BIO method");
  }
  SslPtr ssl(SSL_new(ctx));
  BIO* bio = ssl != nullptr ? BIO_new(method) : nullptr;
  if (bio == nullptr) {
    ClearSslErrors();
    return absl::ResourceExhaustedError("cannot allocate a TLS connection");
  }
  auto io = std::make_unique<SocketIo>();
  io->fd = fd;
  BIO_set_data(bio, io.get());
  SSL_set_bio(ssl.get(), bio, bio);  // the SSL owns the BIO
  return std::unique_ptr<TlsStream>(
      new TlsStream(std::move(ssl), std::move(io)));
}

TlsStream::TlsStream(SslPtr ssl, std::unique_ptr<SocketIo> io)
    : io_(std::move(io)), ssl_(std::move(ssl)), rbuf_(kBufferSize) {
  wbuf_.reserve(kBufferSize);
}

TlsStream::~TlsStream() = default;

absl::Status TlsStream::Failure(int ret, absl::string_view what) {
  const int err = SSL_get_error(ssl_.get(), ret);
  if (io_->timed_out) {
    ClearSslErrors();
    return absl::DeadlineExceededError(absl::StrCat(what, ": timed out"));
  }
  if (err == SSL_ERROR_SSL) {
    absl::Status status = SslFailure(ssl_.get(), what);
    // A reset or close mid-record is reported below, more plainly.
    if (status.code() == absl::StatusCode::kUnauthenticated ||
        (!io_->eof && io_->error == 0)) {
      return status;
    }
  }
  ClearSslErrors();
  peer_closed_ = io_->eof || err == SSL_ERROR_ZERO_RETURN;
  if (io_->error != 0) {
    return ErrnoStatus(absl::StatusCode::kUnavailable, what, io_->error);
  }
  if (io_->eof || err == SSL_ERROR_ZERO_RETURN) {
    return absl::UnavailableError(
        absl::StrCat(what, ": the peer closed the connection"));
  }
  return absl::UnavailableError(
      absl::StrCat(what, " failed (SSL_get_error ", err, ")"));
}

absl::Status TlsStream::Handshake(Side side, absl::Time deadline) {
  io_->poll_mode = true;
  io_->deadline = deadline;
  ClearSslErrors();
  const int ret =
      side == Side::kServer ? SSL_accept(ssl_.get()) : SSL_connect(ssl_.get());
  if (ret == 1) return absl::OkStatus();
  return Failure(ret, "TLS handshake");
}

absl::Status TlsStream::AwaitServerAcceptance(absl::Time deadline) {
  io_->poll_mode = true;
  io_->deadline = deadline;
  // Without auto-retry, SSL_peek returns WANT_READ right after processing a
  // post-handshake message such as the session ticket; a refused client
  // certificate arrives instead as an alert.
  SetSslMode(ssl_.get(), SSL_MODE_AUTO_RETRY, false);
  uint8_t byte = 0;
  size_t n = 0;
  ClearSslErrors();
  const int ret = SSL_peek_ex(ssl_.get(), &byte, 1, &n);
  SetSslMode(ssl_.get(), SSL_MODE_AUTO_RETRY, true);
  if (ret == 1 || (SSL_get_error(ssl_.get(), ret) == SSL_ERROR_WANT_READ &&
                   !io_->timed_out)) {
    ClearSslErrors();
    return absl::OkStatus();
  }
  return Failure(ret, "TLS handshake (waiting for the server to accept)");
}

absl::Status TlsStream::EnterDataPhase(absl::Duration io_timeout) {
  io_->poll_mode = false;
  io_->deadline = absl::InfiniteFuture();
  return SetSocketTimeouts(io_->fd, io_timeout, io_timeout);
}

absl::Status TlsStream::Fill(size_t need) {
  if (rend_ - rpos_ >= need) return absl::OkStatus();
  if (rpos_ == rend_) {
    rpos_ = rend_ = 0;
    if (rbuf_.size() > kMaxIdleBufferSize && need <= kBufferSize) {
      rbuf_ = Bytes(kBufferSize);
    }
  }
  if (rbuf_.size() - rpos_ < need) {
    Compact();
    if (rbuf_.size() < need) rbuf_.resize(need);
  }
  while (rend_ - rpos_ < need) {
    size_t n = 0;
    const int ret =
        SSL_read_ex(ssl_.get(), rbuf_.data() + rend_, rbuf_.size() - rend_, &n);
    if (ret != 1) return Failure(ret, "reading");
    rend_ += n;
  }
  return absl::OkStatus();
}

absl::StatusOr<ByteView> TlsStream::ReadFrame(size_t max_frame_size) {
  COFFER_RETURN_IF_ERROR(Fill(kFrameHeaderSize));
  const uint32_t size = DecodeFrameHeader(rbuf_.data() + rpos_);
  if (size > max_frame_size) {
    return absl::ResourceExhaustedError(
        absl::StrCat("a frame of ", size, " bytes exceeds the maximum of ",
                     max_frame_size, "; the connection is closed"));
  }
  COFFER_RETURN_IF_ERROR(Fill(kFrameHeaderSize + size));
  const ByteView payload(rbuf_.data() + rpos_ + kFrameHeaderSize, size);
  rpos_ += kFrameHeaderSize + size;
  return payload;
}

void TlsStream::Compact() {
  std::memmove(rbuf_.data(), rbuf_.data() + rpos_, rend_ - rpos_);
  rend_ -= rpos_;
  rpos_ = 0;
}

bool TlsStream::FrameReadyWithoutWaiting() {
  while (!HasBufferedFrame() && SSL_has_pending(ssl_.get()) == 1) {
    if (rend_ == rbuf_.size()) Compact();
    if (rend_ == rbuf_.size()) return false;  // a large frame: let Fill grow
    // One read that gives up instead of waiting for the socket.
    io_->poll_mode = true;
    io_->deadline = absl::InfinitePast();
    size_t n = 0;
    const int ret =
        SSL_read_ex(ssl_.get(), rbuf_.data() + rend_, rbuf_.size() - rend_, &n);
    io_->poll_mode = false;
    io_->deadline = absl::InfiniteFuture();
    if (ret != 1) {
      // Would block (or failed: the next ReadFrame reports it).
      io_->timed_out = false;
      ClearSslErrors();
      return false;
    }
    rend_ += n;
  }
  return HasBufferedFrame();
}

bool TlsStream::HasBufferedFrame() const {
  const size_t have = rend_ - rpos_;
  return have >= kFrameHeaderSize &&
         have - kFrameHeaderSize >= DecodeFrameHeader(rbuf_.data() + rpos_);
}

void TlsStream::QueueFrame(ByteView payload) {
  uint8_t header[kFrameHeaderSize];
  EncodeFrameHeader(static_cast<uint32_t>(payload.size()), header);
  wbuf_.insert(wbuf_.end(), header, header + kFrameHeaderSize);
  wbuf_.insert(wbuf_.end(), payload.begin(), payload.end());
}

absl::Status TlsStream::Flush() {
  if (wbuf_.empty()) return absl::OkStatus();
  size_t written = 0;
  ClearSslErrors();
  const int ret =
      SSL_write_ex(ssl_.get(), wbuf_.data(), wbuf_.size(), &written);
  if (wbuf_.capacity() > kMaxIdleBufferSize) {
    wbuf_ = Bytes();
    wbuf_.reserve(kBufferSize);
  } else {
    wbuf_.clear();
  }
  if (ret != 1) return Failure(ret, "writing");
  return absl::OkStatus();
}

void TlsStream::SendCloseNotify() {
  if (SSL_is_init_finished(ssl_.get())) SSL_shutdown(ssl_.get());
  ClearSslErrors();
}

}  // namespace coffer::net::internal
