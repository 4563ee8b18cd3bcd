#include "cli/daemon.h"

#include "absl/strings/str_cat.h"
#include "base/process.h"
#include "cli/command_table.h"

namespace coffer::cli {
namespace {

// A usage error (exit 2): the user's environment names no usable program.
absl::StatusOr<std::string> FindBinary(const char* name, const char* env,
                                       const char* build_tree) {
  absl::StatusOr<std::string> path = FindSiblingBinary(name, env, build_tree);
  if (!path.ok()) return UsageError(std::string(path.status().message()));
  return path;
}

}  // namespace

absl::StatusOr<std::string> FindHsmBinary() {
  return FindBinary("coffer-hsm", "COFFER_HSM_BIN", "../node/coffer-hsm");
}

absl::StatusOr<std::string> FindManagerBinary() {
  return FindBinary("coffer-manager", "COFFER_MANAGER_BIN",
                    "../manager/coffer-manager");
}

absl::StatusOr<pid_t> StartDetached(const std::vector<std::string>& argv,
                                    const std::string& log_file) {
  absl::StatusOr<pid_t> pid = ::coffer::StartDetached(argv, log_file);
  // A failed fork is the machine's problem (exit 1); the rest is a local
  // file we could not open (exit 2).
  if (!pid.ok() &&
      pid.status().code() != absl::StatusCode::kResourceExhausted) {
    return UsageError(std::string(pid.status().message()));
  }
  return pid;
}

absl::StatusOr<int> WaitForPortFile(pid_t pid, const std::string& port_file,
                                    const std::string& log_file,
                                    int timeout_ms) {
  absl::StatusOr<int> port =
      ::coffer::WaitForPortFile(pid, port_file, log_file, timeout_ms);
  if (!port.ok()) return WithExitCode(port.status(), kExitUnreachable);
  return port;
}

}  // namespace coffer::cli
