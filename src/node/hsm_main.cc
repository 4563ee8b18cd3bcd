// coffer-hsm: one software HSM serving its wire API over mutually
// authenticated TLS 1.3.
//
//   coffer-hsm --data-dir DIR [--listen HOST:PORT] [--port-file FILE]
//              [--bootstrap-client-ca FILE]
//              [--cluster-log HOST:PORT --cluster-log-id CLUSTER
//               --cluster-log-cert FILE --cluster-log-key FILE
//               --cluster-log-ca FILE]
//
// With --cluster-log the HSM syncs with its cluster (hsm/cluster_sync.h):
// changes go through the log service the manager hosts, and other HSMs'
// changes are applied as they are committed.
//
// Signals: SIGTERM/SIGINT stop it cleanly; SIGUSR1 is the tamper signal
// (secrets erased, state TAMPERED). Exit status: 0 after a clean stop, 1 if
// it could not start (the reason is printed).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "hsm/hsm.h"
#include "log/remote.h"
#include "net/tls_server.h"
#include "node/data_dir.h"
#include "node/dispatcher.h"
#include "node/sync.h"

namespace coffer::node {
namespace {

struct Flags {
  std::string data_dir;
  std::string listen = "127.0.0.1:0";
  std::string port_file;
  std::string bootstrap_client_ca;
  std::string cluster_log, cluster_log_id, cluster_log_cert, cluster_log_key,
      cluster_log_ca;
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& contents) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << contents;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp));
  }
  return absl::OkStatus();
}

// The credentials the HSM wants served; before commissioning it has no
// client trust anchors, so the bootstrap CA (the service's) stands in.
absl::StatusOr<net::TlsCredentials> ServerCredentials(
    hsm::Hsm& hsm, const std::string& bootstrap_ca_pem) {
  COFFER_ASSIGN_OR_RETURN(hsm::TlsCredentials creds,
                          hsm.CurrentTlsCredentials());
  net::TlsCredentials out;
  out.certificate_chain_pem = std::move(creds.cert_chain_pem);
  out.private_key_pem = std::move(creds.key_pem);
  out.trust_anchors_pem = creds.client_anchors_pem.empty()
                              ? bootstrap_ca_pem
                              : creds.client_anchors_pem;
  if (out.trust_anchors_pem.empty()) {
    return absl::FailedPreconditionError(
        "this HSM is not commissioned yet and has no client trust anchor: "
        "pass --bootstrap-client-ca with the service's CA certificate");
  }
  return out;
}

// The cluster log client, if --cluster-log was given.
absl::StatusOr<std::shared_ptr<log::ClusterLog>> ConnectClusterLog(
    const Flags& flags) {
  if (flags.cluster_log.empty()) return nullptr;
  if (flags.cluster_log_id.empty() || flags.cluster_log_cert.empty() ||
      flags.cluster_log_key.empty() || flags.cluster_log_ca.empty()) {
    return absl::InvalidArgumentError(
        "--cluster-log needs --cluster-log-id, --cluster-log-cert, "
        "--cluster-log-key and --cluster-log-ca");
  }
  const size_t colon = flags.cluster_log.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(flags.cluster_log.substr(colon + 1), &port) ||
      port == 0 || port > 65535) {
    return absl::InvalidArgumentError("--cluster-log must be HOST:PORT");
  }
  net::TlsClientOptions options;
  COFFER_ASSIGN_OR_RETURN(options.credentials.certificate_chain_pem,
                          ReadFile(flags.cluster_log_cert));
  COFFER_ASSIGN_OR_RETURN(std::string key, ReadFile(flags.cluster_log_key));
  options.credentials.private_key_pem =
      crypto::SecretBytes::CopyOf(AsBytes(key));
  std::fill(key.begin(), key.end(), '\0');
  COFFER_ASSIGN_OR_RETURN(options.credentials.trust_anchors_pem,
                          ReadFile(flags.cluster_log_ca));
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<log::ClusterLog> remote,
                          log::ConnectRemoteClusterLog(
                              flags.cluster_log.substr(0, colon),
                              static_cast<uint16_t>(port), std::move(options)));
  return std::shared_ptr<log::ClusterLog>(std::move(remote));
}

absl::Status Run(const Flags& flags) {
  (void)crypto::DisableCoreDumps();
  if (absl::Status s = crypto::InitSecureMemory(); !s.ok()) {
    Log("warning: %s", std::string(s.message()).c_str());
  }
  COFFER_RETURN_IF_ERROR(crypto::SelfTestsPass());

  // Signals are taken synchronously by this thread; every thread started
  // later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGPIPE}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::string bootstrap_ca;
  if (!flags.bootstrap_client_ca.empty()) {
    COFFER_ASSIGN_OR_RETURN(bootstrap_ca, ReadFile(flags.bootstrap_client_ca));
  }
  COFFER_ASSIGN_OR_RETURN(DataDirStores stores, OpenDataDir(flags.data_dir));
  COFFER_ASSIGN_OR_RETURN(
      std::unique_ptr<hsm::Hsm> hsm,
      hsm::Hsm::Open(std::move(stores.device), std::move(stores.state), {}));
  if (!stores.tamper_reason.empty()) {
    Log("TAMPER: %s; secrets erased", stores.tamper_reason.c_str());
    hsm->TamperResponse(stores.tamper_reason);
  }

  COFFER_ASSIGN_OR_RETURN(std::shared_ptr<log::ClusterLog> cluster_log,
                          ConnectClusterLog(flags));
  std::unique_ptr<SyncFollower> follower;
  if (cluster_log) {
    hsm->AttachClusterLog(MakeLogLink(cluster_log, flags.cluster_log_id));
    follower =
        std::make_unique<SyncFollower>(*hsm, cluster_log, flags.cluster_log_id);
  }

  const size_t colon = flags.listen.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(flags.listen.substr(colon + 1), &port) ||
      port > 65535) {
    return absl::InvalidArgumentError("--listen must be HOST:PORT");
  }
  net::TlsServerOptions options;
  options.host = flags.listen.substr(0, colon);
  options.port = static_cast<uint16_t>(port);
  COFFER_ASSIGN_OR_RETURN(options.credentials,
                          ServerCredentials(*hsm, bootstrap_ca));
  options.on_connection_error = [](const absl::Status& s) {
    Log("connection: %s", std::string(s.message()).c_str());
  };

  net::TlsServer* server_ptr = nullptr;
  Dispatcher::Hooks hooks;
  hooks.load = [&server_ptr] {
    net::TlsServerStats stats = server_ptr->stats();
    return Load{static_cast<uint32_t>(stats.requests_in_flight),
                static_cast<uint32_t>(stats.open_connections)};
  };
  auto reload = [&] {
    absl::StatusOr<net::TlsCredentials> creds =
        ServerCredentials(*hsm, bootstrap_ca);
    absl::Status s =
        creds.ok() ? server_ptr->UpdateCredentials(*creds) : creds.status();
    if (!s.ok())
      Log("could not reload TLS credentials: %s",
          std::string(s.message()).c_str());
  };
  hooks.credentials_changed = reload;
  Dispatcher dispatcher(*hsm, hooks);
  COFFER_ASSIGN_OR_RETURN(
      std::unique_ptr<net::TlsServer> server,
      net::TlsServer::Create(
          std::move(options),
          [&dispatcher](ByteView frame, const net::PeerIdentity& peer,
                        net::FrameStream& stream) {
            return dispatcher.Handle(frame, &stream, &peer);
          }));
  server_ptr = server.get();
  COFFER_RETURN_IF_ERROR(server->Start());
  const hsm::HsmInfo info = hsm->Info();
  Log("HSM %s (%s) serving on %s:%d, state %s", info.serial.c_str(),
      info.manufacturer_id.c_str(), flags.listen.substr(0, colon).c_str(),
      server->port(), std::string(hsm::StateName(info.state)).c_str());
  if (!flags.port_file.empty()) {
    COFFER_RETURN_IF_ERROR(
        WriteFileAtomically(flags.port_file, absl::StrCat(server->port())));
  }

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGUSR1) {
      Log("TAMPER: tamper signal received; secrets erased");
      hsm->TamperResponse("tamper signal received (SIGUSR1)");
      reload();
      continue;
    }
    if (sig == SIGPIPE) continue;
    Log("signal %d: stopping", sig);
    break;
  }
  server->Stop();
  follower.reset();
  return absl::OkStatus();
}

}  // namespace
}  // namespace coffer::node

int main(int argc, char** argv) {
  coffer::node::Flags flags;
  CLI::App app{"coffer-hsm: one Coffer software HSM"};
  app.add_option("--data-dir", flags.data_dir,
                 "the HSM's data directory (made by `coffer factory "
                 "manufacture`)")
      ->required();
  app.add_option("--listen", flags.listen, "HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--port-file", flags.port_file,
                 "write the bound port here once serving");
  app.add_option("--bootstrap-client-ca", flags.bootstrap_client_ca,
                 "PEM CA trusted for clients until commissioning");
  app.add_option("--cluster-log", flags.cluster_log,
                 "HOST:PORT of the cluster log service (the manager's)");
  app.add_option("--cluster-log-id", flags.cluster_log_id,
                 "the manager's id of this HSM's cluster");
  app.add_option("--cluster-log-cert", flags.cluster_log_cert,
                 "PEM client certificate for the log service");
  app.add_option("--cluster-log-key", flags.cluster_log_key,
                 "PEM private key of that certificate");
  app.add_option("--cluster-log-ca", flags.cluster_log_ca,
                 "PEM CA that issued the log service's certificate");
  CLI11_PARSE(app, argc, argv);
  absl::Status status = coffer::node::Run(flags);
  if (!status.ok()) {
    coffer::Log("coffer-hsm: %s", status.ToString().c_str());
    return 1;
  }
  return 0;
}
