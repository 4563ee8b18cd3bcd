// How `coffer` reaches an HSM: flags (--hsm, --ca, --cert, --key, ...)
// over a JSON config file (--config FILE or $COFFER_CONFIG):
//   {"hsm": "127.0.0.1:2300", "ca": "trust.pem", "cert": "client.pem",
//    "key": "client.key", "server_name": "", "session_file": "session",
//    "manager": "127.0.0.1:2400", "cluster_id": "cluster-0123456789ab"}
// `manager` is the coffer-manager's gRPC address (manager_connection.h);
// it shares the CA and client certificate with the HSM's. With `manager`
// and `cluster_id` but no `hsm`, HSM commands ask the manager for the
// cluster's oldest ACTIVE HSM (ClusterHsmEndpoint).
// Relative paths are resolved against the config file's directory. The
// session token from `coffer login` is kept in the session file (mode
// 0600): $XDG_RUNTIME_DIR/coffer/session, else ~/.coffer/session, unless
// the config or --session-file names another.
#ifndef COFFER_CLI_CONNECTION_H_
#define COFFER_CLI_CONNECTION_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "client/hsm_client.h"

namespace coffer::cli {

namespace pb = ::coffer::hsm::v1;

// Any field may be empty.
struct ConnectionFlags {
  std::string config, hsm, ca, cert, key, server_name, session_file, manager;
  std::string quorum_token;  // else $COFFER_QUORUM_TOKEN
};

// Resolved: paths absolute or relative to the working directory.
struct ConnectionConfig {
  std::string hsm, ca, cert, key, server_name, session_file, manager;
  std::string cluster_id;  // config file only
};

// Flags win over the config file. Without an hsm but with a manager and
// cluster_id, hsm becomes that cluster's oldest ACTIVE HSM (one call to
// the manager: its errors, exit 1 or 3). UsageError for an unreadable
// config or a missing hsm/ca/cert/key.
absl::StatusOr<ConnectionConfig> ResolveConfig(const ConnectionFlags& flags);
// The same for commands that talk to the manager: manager/ca/cert/key are
// required, hsm is not.
absl::StatusOr<ConnectionConfig> ResolveManagerConfig(
    const ConnectionFlags& flags);
std::string DefaultSessionFile();

class Connection {
 public:
  // Connects and completes the mTLS handshake. Exit code 3 if the HSM
  // cannot be reached or the handshake fails; 2 for unusable local files.
  static absl::StatusOr<Connection> Open(const ConnectionConfig& config);

  // One request. The HSM's refusals keep their code and message (exit 1);
  // a lost connection or a timeout is exit 3.
  absl::StatusOr<pb::Response> Call(pb::Request& request);
  // Streamed backups (client/hsm_client.h), with the same exit codes.
  absl::StatusOr<pb::BackupSummary> CreateBackup(
      const client::HsmClient::ChunkSink& sink);
  absl::StatusOr<pb::BackupSummary> RestoreBackup(
      const client::HsmClient::ChunkSource& next);
  void set_session(std::string token) { client_.set_session(std::move(token)); }
  // Attached to every request (operations under quorum control need it).
  void set_quorum_token(std::string token) { quorum_token_ = std::move(token); }

 private:
  // --quorum-token, else $COFFER_QUORUM_TOKEN, else empty.
  std::string QuorumToken() const;
  explicit Connection(client::HsmClient client) : client_(std::move(client)) {}
  client::HsmClient client_;
  std::string quorum_token_;
};

// What `coffer login` saves. `token` is a bearer secret.
struct Session {
  std::string token, user, role, hsm;
};
// Exit 1 "not logged in" when the file does not exist.
absl::StatusOr<Session> LoadSession(const std::string& path);
absl::Status SaveSession(const std::string& path, const Session& session);
// OK if it did not exist.
absl::Status RemoveSession(const std::string& path);

// Resolve + Open, optionally attaching the saved session (copied to
// `session` if non-null).
absl::StatusOr<Connection> OpenConnection(const ConnectionFlags& flags);
absl::StatusOr<Connection> OpenSession(const ConnectionFlags& flags,
                                       Session* session = nullptr);

}  // namespace coffer::cli

#endif  // COFFER_CLI_CONNECTION_H_
