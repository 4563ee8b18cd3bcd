// The directory of `coffer up` (a whole local cluster, DEVELOPMENT ONLY):
// its layout, the files it writes for people and programs, and the
// processes running from it. Internal to src/cli; local_cluster.cc runs
// the steps.
//
//   coffer-up.json          marks a directory `coffer up` made (only such a
//                           directory is wiped by --fresh)
//   ca/ca.pem, ca/ca.key    the local customer CA (provision/files.h)
//   manager-tls.pem/.key    coffer-manager's TLS server certificate
//   client.pem/.key         the operator's and applications' client identity
//   manager/                coffer-manager's --data-dir; its local HSM
//                           provider keeps each HSM in
//                           manager/hsms/hsms/<hsm_id>/{data,pid,port,log}
//   manager.pid, manager.port, manager.log
//   config.json             the coffer CLI's config (manager, cluster_id)
//   pkcs11.json             the PKCS#11 module's config (provisional)
//   admin.credentials, cu.credentials   "user:password" (0600)
//   env                     `. DIR/env` exports the variables below
//   session                 the CLI's login session
#ifndef COFFER_CLI_LOCAL_CLUSTER_FILES_H_
#define COFFER_CLI_LOCAL_CLUSTER_FILES_H_

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/output.h"

namespace coffer::cli {

struct LocalClusterPaths {
  // `dir` made absolute and canonical, so that the markers of the
  // processes started from it match whichever way it is named later.
  explicit LocalClusterPaths(const std::string& dir);
  std::string operator()(const std::string& name) const {
    return dir + "/" + name;
  }
  std::string dir;
};

// `value` in single quotes for a POSIX shell ('\'' for a quote inside).
std::string ShellQuote(const std::string& value);

// The lines of the env file: `export NAME='value'`, after a comment.
std::string EnvFileText(
    const std::vector<std::pair<std::string, std::string>>& variables);

// config.json: manager address, ca, cert, key, session_file and (once the
// cluster exists) cluster_id, with absolute paths.
absl::Status WriteCliConfig(const LocalClusterPaths& p,
                            const std::string& manager,
                            const std::string& cluster_id);
// pkcs11.json: {"clusters": [{"cluster_id", "manager", "ca", "cert",
// "key"}]}; and env (COFFER_CONFIG, COFFER_PKCS11_CONFIG,
// COFFER_CLUSTER_ID, COFFER_ADMIN_CREDENTIALS, COFFER_CU_CREDENTIALS).
absl::Status WriteClientFiles(const LocalClusterPaths& p,
                              const std::string& manager,
                              const std::string& cluster_id);

// A process started from the directory that is still running.
struct LocalProcess {
  std::string what;  // "coffer-manager" or the HSM's id
  pid_t pid = 0;
  std::string marker;  // what its command line contains
};
// The manager, if running (its pid file, checked against its command line).
std::vector<LocalProcess> RunningManager(const LocalClusterPaths& p);
// The HSM processes the manager's local provider started that still run
// (each pid file checked against the HSM's data directory).
std::vector<LocalProcess> RunningHsms(const LocalClusterPaths& p);
// The marker of the manager's command line (base/process.h
// ProcessRunning).
std::string ManagerMarker(const LocalClusterPaths& p);

// Stops the manager first (so that its health check cannot replace the
// HSMs being stopped), then every HSM (SIGTERM, SIGKILL after a timeout);
// removes manager.pid and manager.port. Returns what it stopped, as
// {"manager": bool, "hsms": [ids]}. Best effort: what cannot be stopped is
// named in the result's "still_running".
Json StopLocalCluster(const LocalClusterPaths& p);

}  // namespace coffer::cli

#endif  // COFFER_CLI_LOCAL_CLUSTER_FILES_H_
