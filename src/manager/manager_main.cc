// coffer-manager: the control plane (clusters, HSMs, backups, regions)
// serving the coffer.manager.v1.Manager gRPC API over mutually
// authenticated TLS. docs/manager.md.
//
//   coffer-manager --data-dir DIR --tls-cert FILE --tls-key FILE
//                  --client-ca FILE [--listen HOST:PORT] [--port-file FILE]
//                  [--retention-interval SECONDS] [--hsm-binary FILE]
//                  [--health-interval SECONDS] [--backup-interval SECONDS]
//
// It runs the embedded defaults of DESIGN.md: the local HSM provider
// (coffer-hsm processes under DIR/hsms, DEVELOPMENT ONLY), the cluster log
// (DIR/cluster-log.db, served to the HSMs on loopback), and the backup
// archive (DIR/archive: a local keyring and local object stores).
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
#include "base/process.h"
#include "base/status.h"
#include "manager/backup_archive.h"
#include "manager/cluster_workflows.h"
#include "manager/control_plane.h"
#include "manager/grpc_service.h"
#include "manager/hsm_provider.h"
#include "manager/log_host.h"
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
  std::string hsm_binary;
  int health_interval_seconds = 5;
  int backup_interval_seconds = 86400;
};

// coffer-hsm: --hsm-binary, else $COFFER_HSM_BIN, else beside this program
// (installed) or in the build tree's src/node, else on $PATH.
absl::StatusOr<std::string> HsmBinary(const Flags& flags) {
  if (!flags.hsm_binary.empty()) return flags.hsm_binary;
  return FindSiblingBinary("coffer-hsm", "COFFER_HSM_BIN",
                           "../node/coffer-hsm");
}

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
void RetentionLoop(ControlPlane& cp, ClusterWorkflows& workflows,
                   absl::Duration interval, absl::Notification& stop) {
  do {
    absl::StatusOr<RetentionReport> report =
        cp.RunRetention(absl::ToUnixSeconds(absl::Now()));
    if (!report.ok()) {
      Log("retention job failed: %s", report.status().ToString().c_str());
    } else if (!report->expired.empty() || !report->purged.empty()) {
      workflows.DropArchived(report->purged);
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
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<LogHost> log_host,
                          LogHost::Start(flags.data_dir));
  LocalHsmProviderOptions provider_options;
  provider_options.dir = flags.data_dir + "/hsms";
  COFFER_ASSIGN_OR_RETURN(provider_options.hsm_binary, HsmBinary(flags));
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<HsmProvider> provider,
                          OpenLocalHsmProvider(provider_options));
  COFFER_ASSIGN_OR_RETURN(
      std::unique_ptr<BackupArchive> archive,
      BackupArchive::OpenLocal(flags.data_dir + "/archive"));
  WorkflowOptions workflow_options;
  workflow_options.health_interval =
      absl::Seconds(flags.health_interval_seconds);
  workflow_options.backup_interval =
      absl::Seconds(flags.backup_interval_seconds);
  ClusterWorkflows workflows(*cp, *provider, *archive, *log_host,
                             workflow_options);
  COFFER_RETURN_IF_ERROR(workflows.Recover());
  COFFER_ASSIGN_OR_RETURN(
      std::unique_ptr<ManagerServer> server,
      ManagerServer::Start(*cp, &workflows, std::move(options)));
  workflows.StartBackground();
  Log("coffer-manager serving on %s (port %d), state in %s",
      flags.listen.c_str(), server->port(), flags.data_dir.c_str());
  if (!flags.port_file.empty()) {
    COFFER_RETURN_IF_ERROR(WritePortFile(flags.port_file, server->port()));
  }
  absl::Notification stop_retention;
  std::thread retention(RetentionLoop, std::ref(*cp), std::ref(workflows),
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
  app.add_option("--hsm-binary", flags.hsm_binary,
                 "coffer-hsm for the local HSM provider (default: beside "
                 "this program, or $COFFER_HSM_BIN)");
  app.add_option("--health-interval", flags.health_interval_seconds,
                 "seconds between health checks of every HSM")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--backup-interval", flags.backup_interval_seconds,
                 "seconds between scheduled backups of a cluster")
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
