// Daemons started in the background and found again later by pid: used by
// `coffer dev-hsm` and by coffer-manager's local HSM provider, which both
// start coffer-hsm processes that must outlive the program that started
// them (own session, so a terminal's Ctrl-C or the starter's exit does not
// reach them; stdin from /dev/null; stdout and stderr appended to a log).
//
// A pid read back from a file may have been reused by an unrelated
// process, so liveness is always checked together with a marker (a string
// the daemon's command line must contain, e.g. its data directory).
//
// Thread-safe. POSIX (Linux /proc) only.
#ifndef COFFER_BASE_PROCESS_H_
#define COFFER_BASE_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace coffer {

// A Coffer program: $`env` if set (InvalidArgument if it is not an
// executable file), else `name` beside the running program, else at
// `build_tree` relative to it (the build tree's layout), else on $PATH.
// NotFound naming `env` otherwise.
absl::StatusOr<std::string> FindSiblingBinary(const std::string& name,
                                              const std::string& env,
                                              const std::string& build_tree);

// Starts `argv` (argv[0] is a path, not looked up on $PATH) detached and
// returns its pid. The child inherits no descriptor but 0-2. Errors: the
// log cannot be opened (ErrnoError codes, "cannot open LOG: ..."),
// ResourceExhausted if fork fails. A program that cannot be executed
// writes "cannot execute PATH" to the log and exits with status 127
// (WaitForPortFile reports both).
absl::StatusOr<pid_t> StartDetached(const std::vector<std::string>& argv,
                                    const std::string& log_file);

// Waits until `port_file` holds a port number and returns it. Unavailable
// if the process exits first, DeadlineExceeded after `timeout_ms`; both
// with the last 2000 bytes of `log_file`. The process is left as it is.
absl::StatusOr<int> WaitForPortFile(pid_t pid, const std::string& port_file,
                                    const std::string& log_file,
                                    int timeout_ms);

// The last `max_bytes` of a log file ("" if it cannot be read), for error
// messages about a daemon that failed.
std::string LogTail(const std::string& log_file, size_t max_bytes = 2000);

// True if `pid` is alive (not a zombie) and its command line contains
// `marker`.
bool ProcessRunning(pid_t pid, const std::string& marker);

// SIGTERM, then waits up to `timeout_ms`; after that SIGKILL and a short
// wait for it to disappear, returning DeadlineExceeded to say so. OK if it
// was not running. Reaps it if it is a child of this process.
absl::Status StopProcess(pid_t pid, int timeout_ms);

}  // namespace coffer

#endif  // COFFER_BASE_PROCESS_H_
