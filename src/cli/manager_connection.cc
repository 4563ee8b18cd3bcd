#include "cli/manager_connection.h"

#include <grpc/grpc.h>

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/command_table.h"
#include "cli/io.h"
#include "cli/manager_views.h"

namespace coffer::cli {

absl::StatusOr<ManagerConnection> ManagerConnection::Open(
    const ConnectionFlags& flags) {
  COFFER_ASSIGN_OR_RETURN(ConnectionConfig config, ResolveManagerConfig(flags));
  return Open(config);
}

absl::StatusOr<ManagerConnection> ManagerConnection::Open(
    const ConnectionConfig& config) {
  grpc::SslCredentialsOptions ssl;
  COFFER_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(config.ca));
  COFFER_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFile(config.cert));
  // gRPC wants the key as a std::string; it lives only as long as this
  // process needs the channel.
  COFFER_ASSIGN_OR_RETURN(crypto::SecretBytes key, ReadSecretFile(config.key));
  const ByteView k = key.ExposeSecret();
  ssl.pem_private_key = std::string(k.begin(), k.end());
  grpc::ChannelArguments args;
  // gRPC always checks the manager's certificate against a name: the
  // address's host unless server_name says otherwise.
  if (!config.server_name.empty()) {
    args.SetSslTargetNameOverride(config.server_name);
  }
  auto channel = grpc::CreateCustomChannel(config.manager,
                                           grpc::SslCredentials(ssl), args);
  return ManagerConnection(config.manager, mpb::Manager::NewStub(channel));
}

absl::Status ManagerConnection::FromGrpc(const grpc::Status& s) const {
  const auto code = static_cast<absl::StatusCode>(s.error_code());
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      // gRPC's own (no connection, refused handshake) or the manager's (an
      // HSM it could not reach): the message tells which.
      return WithExitCode(
          absl::UnavailableError(absl::StrCat(
              "cannot reach the manager at ", address_,
              " (or it refused our certificate, or it could not reach an "
              "HSM): ",
              s.error_message())),
          kExitUnreachable);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return WithExitCode(
          absl::DeadlineExceededError(absl::StrCat(
              "the manager at ", address_, " did not answer in time (",
              s.error_message(),
              "); if the request changed something, its outcome is "
              "unknown: check before retrying")),
          kExitUnreachable);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return WithExitCode(absl::Status(code, s.error_message()), kExitUsage);
    default:
      return absl::Status(code, s.error_message());
  }
}

absl::StatusOr<std::string> ClusterHsmEndpoint(const ConnectionConfig& config) {
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m, ManagerConnection::Open(config));
  absl::StatusOr<mpb::Cluster> cluster = DescribeOne(m, config.cluster_id);
  if (!cluster.ok()) {
    return WithExitCode(
        absl::Status(
            cluster.status().code(),
            absl::StrCat("finding an HSM of cluster ", config.cluster_id,
                         " (the config's \"cluster_id\") through "
                         "the manager: ",
                         cluster.status().message())),
        ExitCodeOf(cluster.status()));
  }
  COFFER_ASSIGN_OR_RETURN(mpb::Hsm hsm, OldestActiveHsm(*cluster));
  return hsm.endpoint();
}

}  // namespace coffer::cli
