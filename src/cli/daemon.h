// Starting and stopping a coffer-hsm daemon in the background, for
// `coffer dev-hsm up|down`. The daemon runs in its own session (a terminal's
// Ctrl-C does not reach it), with stdin from /dev/null and its output
// appended to a log file. The process helpers live in base/process.h
// (shared with coffer-manager's HSM provider); here they gain the CLI's
// exit codes.
#ifndef COFFER_CLI_DAEMON_H_
#define COFFER_CLI_DAEMON_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/process.h"

namespace coffer::cli {

// $COFFER_HSM_BIN, else coffer-hsm next to this program (or, in a build
// tree, in ../node/), else on $PATH.
absl::StatusOr<std::string> FindHsmBinary();
// $COFFER_MANAGER_BIN, else coffer-manager next to this program (or, in a
// build tree, in ../manager/), else on $PATH.
absl::StatusOr<std::string> FindManagerBinary();

// Starts `argv` detached; returns its pid. A log that cannot be opened is
// a usage error (exit 2).
absl::StatusOr<pid_t> StartDetached(const std::vector<std::string>& argv,
                                    const std::string& log_file);

// Waits until `port_file` holds a port, failing early (with the log's
// tail) if the daemon exits first. Errors are exit 3 (unreachable).
absl::StatusOr<int> WaitForPortFile(pid_t pid, const std::string& port_file,
                                    const std::string& log_file,
                                    int timeout_ms);

// True if `pid` is alive and its command line contains `marker`.
using ::coffer::ProcessRunning;
// SIGTERM, then waits up to `timeout_ms` (SIGKILL after that). OK if it
// was not running.
using ::coffer::StopProcess;

}  // namespace coffer::cli

#endif  // COFFER_CLI_DAEMON_H_
