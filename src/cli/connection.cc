#include "cli/connection.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/command_table.h"
#include "cli/io.h"
#include "cli/manager_connection.h"
#include "cli/output.h"

namespace coffer::cli {
namespace {

// Lost connections and timeouts are exit 3; the HSM's refusals stay 1.
absl::Status WithTransportExitCode(const absl::Status& s) {
  // Errors already tagged (a local file, say) keep their code.
  if (ExitCodeOf(s) != kExitRefused) return s;
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
      return WithExitCode(absl::UnavailableError(absl::StrCat(
                              "lost the connection to the HSM: ", s.message())),
                          kExitUnreachable);
    case absl::StatusCode::kDeadlineExceeded:
      return WithExitCode(
          absl::DeadlineExceededError(absl::StrCat(
              "the HSM did not answer in time (", s.message(),
              "); if the request changed something, its outcome is unknown: "
              "check before retrying")),
          kExitUnreachable);
    default:
      return s;
  }
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

// Reads the config file into `out`, resolving its relative paths.
absl::Status LoadConfigFile(const std::string& path, ConnectionConfig& out) {
  COFFER_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    return UsageError(absl::StrCat(path, " is not a JSON object"));
  }
  const std::string dir =
      std::filesystem::absolute(path).parent_path().string();
  struct Field {
    const char* name;
    std::string* target;
    bool is_path;
  };
  for (const Field& f :
       {Field{"hsm", &out.hsm, false}, Field{"ca", &out.ca, true},
        Field{"cert", &out.cert, true}, Field{"key", &out.key, true},
        Field{"server_name", &out.server_name, false},
        Field{"session_file", &out.session_file, true},
        Field{"manager", &out.manager, false},
        Field{"cluster_id", &out.cluster_id, false}}) {
    if (!doc.contains(f.name)) continue;
    if (!doc[f.name].is_string()) {
      return UsageError(
          absl::StrCat(path, ": \"", f.name, "\" must be a string"));
    }
    const std::string value = doc[f.name].get<std::string>();
    *f.target = f.is_path ? ResolvePath(dir, value) : value;
  }
  return absl::OkStatus();
}

}  // namespace

std::string DefaultSessionFile() {
  const std::string runtime = Env("XDG_RUNTIME_DIR");
  if (!runtime.empty()) return runtime + "/coffer/session";
  return Env("HOME") + "/.coffer/session";
}

namespace {

// Config file, then flags; `endpoint` ("--hsm" or "--manager") is the
// address the command needs besides the TLS files.
absl::StatusOr<ConnectionConfig> Resolve(const ConnectionFlags& flags,
                                         const char* endpoint) {
  ConnectionConfig config;
  const std::string file =
      !flags.config.empty() ? flags.config : Env("COFFER_CONFIG");
  if (!file.empty()) COFFER_RETURN_IF_ERROR(LoadConfigFile(file, config));
  auto take = [](const std::string& flag, std::string& field) {
    if (!flag.empty()) field = flag;
  };
  take(flags.hsm, config.hsm);
  take(flags.ca, config.ca);
  take(flags.cert, config.cert);
  take(flags.key, config.key);
  take(flags.server_name, config.server_name);
  take(flags.session_file, config.session_file);
  take(flags.manager, config.manager);
  if (config.session_file.empty()) config.session_file = DefaultSessionFile();
  const bool for_manager = std::string(endpoint) == "--manager";
  std::string* address = for_manager ? &config.manager : &config.hsm;
  if (!for_manager && config.hsm.empty() && !config.manager.empty() &&
      !config.cluster_id.empty() && !config.ca.empty() &&
      !config.cert.empty() && !config.key.empty()) {
    // No HSM named: one of the cluster's, through the manager.
    COFFER_ASSIGN_OR_RETURN(config.hsm, ClusterHsmEndpoint(config));
  }
  for (auto [name, value] :
       {std::pair{endpoint, address}, std::pair{"--ca", &config.ca},
        std::pair{"--cert", &config.cert}, std::pair{"--key", &config.key}}) {
    if (value->empty()) {
      return UsageError(
          absl::StrCat("no ", name,
                       ": pass it, or a config file with --config FILE or "
                       "$COFFER_CONFIG (see docs/cli.md)",
                       value == address && !for_manager
                           ? "; or, instead of an HSM's address, a config with "
                             "\"manager\" and \"cluster_id\""
                           : ""));
    }
  }
  return config;
}

}  // namespace

absl::StatusOr<ConnectionConfig> ResolveConfig(const ConnectionFlags& flags) {
  return Resolve(flags, "--hsm");
}

absl::StatusOr<ConnectionConfig> ResolveManagerConfig(
    const ConnectionFlags& flags) {
  return Resolve(flags, "--manager");
}

absl::StatusOr<Connection> Connection::Open(const ConnectionConfig& config) {
  absl::StatusOr<client::HsmEndpoint> endpoint =
      client::ParseEndpoint(config.hsm);
  if (!endpoint.ok())
    return UsageError(std::string(endpoint.status().message()));
  net::TlsClientOptions tls;
  COFFER_ASSIGN_OR_RETURN(tls.credentials.certificate_chain_pem,
                          ReadFile(config.cert));
  COFFER_ASSIGN_OR_RETURN(tls.credentials.private_key_pem,
                          ReadSecretFile(config.key));
  COFFER_ASSIGN_OR_RETURN(tls.credentials.trust_anchors_pem,
                          ReadFile(config.ca));
  tls.server_name = config.server_name;
  absl::StatusOr<client::HsmClient> client =
      client::HsmClient::Connect(*endpoint, tls);
  if (!client.ok()) {
    const absl::Status& s = client.status();
    if (s.code() == absl::StatusCode::kInvalidArgument) {
      return UsageError(absl::StrCat("unusable TLS files (", config.cert, ", ",
                                     config.key, ", ", config.ca,
                                     "): ", s.message()));
    }
    return WithExitCode(
        absl::Status(s.code(), absl::StrCat("cannot connect to the HSM at ",
                                            config.hsm, ": ", s.message())),
        kExitUnreachable);
  }
  return Connection(*std::move(client));
}

std::string Connection::QuorumToken() const {
  // An approved quorum token unlocks operations under quorum control. It
  // is not a secret: it serves only its requester, once, for 10 minutes.
  const char* from_env = std::getenv("COFFER_QUORUM_TOKEN");
  return !quorum_token_.empty() ? quorum_token_ : (from_env ? from_env : "");
}

absl::StatusOr<pb::Response> Connection::Call(pb::Request& request) {
  const std::string quorum_token = QuorumToken();
  if (!quorum_token.empty() && request.quorum_token().empty()) {
    request.set_quorum_token(quorum_token);
  }
  absl::StatusOr<pb::Response> response = client_.CallInPlace(request);
  if (response.ok()) return response;
  return WithTransportExitCode(response.status());
}

absl::StatusOr<pb::BackupSummary> Connection::CreateBackup(
    const client::HsmClient::ChunkSink& sink) {
  absl::StatusOr<pb::BackupSummary> summary = client_.CreateBackup(sink);
  if (summary.ok()) return summary;
  return WithTransportExitCode(summary.status());
}

absl::StatusOr<pb::BackupSummary> Connection::RestoreBackup(
    const client::HsmClient::ChunkSource& next) {
  absl::StatusOr<pb::BackupSummary> summary =
      client_.RestoreBackup(next, QuorumToken());
  if (summary.ok()) return summary;
  return WithTransportExitCode(summary.status());
}

absl::StatusOr<Session> LoadSession(const std::string& path) {
  if (!FileExists(path)) {
    return absl::UnauthenticatedError(
        absl::StrCat("not logged in (no session in ", path,
                     "): run `coffer login --user NAME` first"));
  }
  COFFER_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("session") ||
      !doc["session"].is_string()) {
    return UsageError(absl::StrCat(
        path, " is not a coffer session file: remove it and log in again"));
  }
  Session s;
  s.token = doc["session"].get<std::string>();
  s.user = doc.value("user", "");
  s.role = doc.value("role", "");
  s.hsm = doc.value("hsm", "");
  return s;
}

absl::Status SaveSession(const std::string& path, const Session& session) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (!dir.empty()) COFFER_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  Json doc;
  doc["session"] = session.token;
  doc["user"] = session.user;
  doc["role"] = session.role;
  doc["hsm"] = session.hsm;
  return WriteFile(path, doc.dump() + "\n", 0600);
}

absl::Status RemoveSession(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return UsageError(absl::StrCat("cannot remove ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<Connection> OpenConnection(const ConnectionFlags& flags) {
  COFFER_ASSIGN_OR_RETURN(ConnectionConfig config, ResolveConfig(flags));
  COFFER_ASSIGN_OR_RETURN(Connection connection, Connection::Open(config));
  connection.set_quorum_token(flags.quorum_token);
  return connection;
}

absl::StatusOr<Connection> OpenSession(const ConnectionFlags& flags,
                                       Session* session) {
  COFFER_ASSIGN_OR_RETURN(ConnectionConfig config, ResolveConfig(flags));
  COFFER_ASSIGN_OR_RETURN(Session saved, LoadSession(config.session_file));
  COFFER_ASSIGN_OR_RETURN(Connection connection, Connection::Open(config));
  connection.set_session(saved.token);
  connection.set_quorum_token(flags.quorum_token);
  if (session != nullptr) *session = std::move(saved);
  return connection;
}

}  // namespace coffer::cli
