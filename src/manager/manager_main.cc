// coffer-manager: the control plane (clusters, HSMs, backups, regions)
// serving the coffer.manager.v1.Manager gRPC API over mutually
// authenticated TLS. docs/manager.md.
//
//   coffer-manager --data-dir DIR --tls-cert FILE --tls-key FILE
//                  --client-ca FILE [--listen HOST:PORT] [--port-file FILE]
//                  [--retention-interval SECONDS]
//
// Signals: SIGTERM/SIGINT stop it cleanly (running calls get 5 s). Exit
// status: 0 after a clean stop, 1 if it could not start (reason printed).
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "base/status.h"
#include "manager/control_plane.h"
#include "manager/grpc_service.h"
#include "manager/state_store.h"

namespace coffer::manager {
namespace {

struct Flags {
  std::string data_dir;
  std::string listen = "127.0.0.1:0";
  std::string port_file;
  std::string tls_cert;
  std::string tls_key;
  std::string client_ca;
  int retention_interval_seconds = 3600;
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Written whole or not at all, so a waiting test or script never reads a
// partial port number.
absl::Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp));
  }
  return absl::OkStatus();
}

// Runs the retention job now and every `interval` until `stop`.
void RetentionLoop(ControlPlane& cp, absl::Duration interval,
                   absl::Notification& stop) {
  do {
    absl::StatusOr<RetentionReport> report =
        cp.RunRetention(absl::ToUnixSeconds(absl::Now()));
    if (!report.ok()) {
      Log("retention job failed: %s", report.status().ToString().c_str());
    } else if (!report->expired.empty() || !report->purged.empty()) {
      Log("retention job: %zu backups expired, %zu purged",
          report->expired.size(), report->purged.size());
    }
  } while (!stop.WaitForNotificationWithTimeout(interval));
}

absl::Status Run(const Flags& flags) {
  // Signals are taken synchronously by this thread; gRPC's threads,
  // started later, inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGPIPE}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  mkdir(flags.data_dir.c_str(), 0700);  // an existing one is fine
  ServerOptions options;
  options.listen = flags.listen;
  COFFER_ASSIGN_OR_RETURN(options.cert_chain_pem, ReadFile(flags.tls_cert));
  COFFER_ASSIGN_OR_RETURN(options.private_key_pem, ReadFile(flags.tls_key));
  COFFER_ASSIGN_OR_RETURN(options.client_ca_pem, ReadFile(flags.client_ca));
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<StateStore> store,
                          StateStore::Open(flags.data_dir));
  std::unique_ptr<ControlPlane> cp = ControlPlane::Create(std::move(store));
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<ManagerServer> server,
                          ManagerServer::Start(*cp, std::move(options)));
  Log("coffer-manager serving on %s (port %d), state in %s",
      flags.listen.c_str(), server->port(), flags.data_dir.c_str());
  if (!flags.port_file.empty()) {
    COFFER_RETURN_IF_ERROR(WritePortFile(flags.port_file, server->port()));
  }
  absl::Notification stop_retention;
  std::thread retention(RetentionLoop, std::ref(*cp),
                        absl::Seconds(flags.retention_interval_seconds),
                        std::ref(stop_retention));

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0 || sig == SIGPIPE) continue;
    Log("signal %d: stopping", sig);
    break;
  }
  server->Shutdown();
  stop_retention.Notify();
  retention.join();
  return absl::OkStatus();
}

}  // namespace
}  // namespace coffer::manager

int main(int argc, char** argv) {
  coffer::manager::Flags flags;
  CLI::App app{"coffer-manager: the Coffer control plane"};
  app.add_option("--data-dir", flags.data_dir,
                 "the manager's state directory (made if absent)")
      ->required();
  app.add_option("--listen", flags.listen, "HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--port-file", flags.port_file,
                 "write the bound port here once serving");
  app.add_option("--tls-cert", flags.tls_cert,
                 "PEM certificate chain the manager presents")
      ->required();
  app.add_option("--tls-key", flags.tls_key, "PEM private key of --tls-cert")
      ->required();
  app.add_option("--client-ca", flags.client_ca,
                 "PEM CA that client certificates must chain to")
      ->required();
  app.add_option("--retention-interval", flags.retention_interval_seconds,
                 "seconds between runs of the backup retention job")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  absl::Status status = coffer::manager::Run(flags);
  if (!status.ok()) {
    coffer::Log("coffer-manager: %s", status.ToString().c_str());
    return 1;
  }
  return 0;
}
