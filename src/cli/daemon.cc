#include "cli/daemon.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/command_table.h"

namespace coffer::cli {
namespace {

bool Executable(const std::string& path) {
  return !path.empty() && access(path.c_str(), X_OK) == 0;
}

// $`env`, else `name` beside this program or at `build_tree` relative to
// it, else on $PATH.
absl::StatusOr<std::string> FindBinary(const char* name, const char* env,
                                       const char* build_tree) {
  if (const char* value = std::getenv(env); value != nullptr) {
    if (!Executable(value)) {
      return UsageError(
          absl::StrCat("$", env, " (", value, ") is not an executable file"));
    }
    return std::string(value);
  }
  std::error_code ec;
  const std::filesystem::path self =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const char* rel : {name, build_tree}) {
      const std::string candidate = (self.parent_path() / rel).string();
      if (Executable(candidate)) return candidate;
    }
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':')) {
      const std::string candidate = absl::StrCat(dir, "/", name);
      if (Executable(candidate)) return candidate;
    }
  }
  return UsageError(absl::StrCat("cannot find ", name, ": set $", env,
                                 ", or install it next to coffer"));
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
