// The cluster log over the network (proto/coffer/log/v1/log.proto): the
// manager serves its log to the HSMs with ServeLogRequest behind a
// net::TlsServer, and each HSM reaches it with ConnectRemoteClusterLog.
// Same transport as the HSM's API (mTLS 1.3, length-prefixed frames).
#ifndef COFFER_LOG_REMOTE_H_
#define COFFER_LOG_REMOTE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "log/cluster_log.h"
#include "net/credentials.h"
#include "net/tls_client.h"

namespace coffer::log {

// Decides whether `peer` may use `cluster_id`'s log (PermissionDenied
// otherwise).
using LogAuthorizer = std::function<absl::Status(
    const std::string& cluster_id, const net::PeerIdentity& peer)>;

// Answers one LogRequest frame from `log`. Never fails: errors travel in
// the response's status. A wait is capped at 30 s.
Bytes ServeLogRequest(ClusterLog& log, const LogAuthorizer& authorize,
                      ByteView request, const net::PeerIdentity& peer);

// A ClusterLog whose calls go to a log service at host:port. Thread-safe: it
// keeps a small pool of connections, so a long-polling WaitForPosition does
// not hold up appends. Compact and DeleteCluster are the host's alone
// (PermissionDenied); AppendBatch is Unimplemented remotely. Transport
// errors are Unavailable/DeadlineExceeded as in net/tls_client.h; an Append
// that fails so has an unknown outcome (ClusterLog::Append).
absl::StatusOr<std::unique_ptr<ClusterLog>> ConnectRemoteClusterLog(
    const std::string& host, uint16_t port, net::TlsClientOptions options);

}  // namespace coffer::log

#endif  // COFFER_LOG_REMOTE_H_
