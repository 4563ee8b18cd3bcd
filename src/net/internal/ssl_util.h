// libssl helpers shared by the net module's .cc files; nobody else includes
// this. Only TLS plumbing lives here: primitives come from src/crypto.
#ifndef COFFER_NET_INTERNAL_SSL_UTIL_H_
#define COFFER_NET_INTERNAL_SSL_UTIL_H_

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/credentials.h"

namespace coffer::net::internal {

template <auto kFree>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};

using SslPtr = std::unique_ptr<SSL, Deleter<SSL_free>>;
// Shared: a server's connections keep the context they started with while
// UpdateCredentials installs a new one.
using SslCtxShared = std::shared_ptr<SSL_CTX>;

enum class Side { kServer, kClient };

// A TLS 1.3-only context that presents `credentials` and requires the peer
// to present a certificate chaining to its trust anchors. Read-ahead on;
// session resumption refused (every connection proves its certificate); a
// server sends exactly one session ticket, which a client waits for to learn
// that its certificate was accepted. InvalidArgument for bad PEM or a key
// that does not match the leaf certificate.
absl::StatusOr<SslCtxShared> NewContext(Side side,
                                        const TlsCredentials& credentials);

// Thin typed wrappers for OpenSSL macros that expand to old-style casts.
void SetSslMode(SSL* ssl, long mode, bool on);
bool SetSniHostName(SSL* ssl, const char* name);

// Client: the server certificate must name `server_name` (a DNS name, also
// sent as SNI, or an IP address) in its subjectAltName. No-op when empty.
absl::Status SetExpectedServerName(SSL* ssl, const std::string& server_name);

// The verified peer leaf certificate of a finished handshake.
absl::StatusOr<PeerIdentity> ReadPeerIdentity(const SSL* ssl);

// Unauthenticated when the most recent libssl error on this thread is a
// certificate verification failure (ours or the peer's alert) or `ssl`'s
// verify result is not OK; otherwise Unavailable. The message names
// `what`, OpenSSL's reason and, for local verification, the verify error.
// Clears this thread's error queue.
absl::Status SslFailure(const SSL* ssl, absl::string_view what);

void ClearSslErrors();

}  // namespace coffer::net::internal

#endif  // COFFER_NET_INTERNAL_SSL_UTIL_H_
