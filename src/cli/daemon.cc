#include "cli/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/command_table.h"
#include "cli/io.h"

namespace coffer::cli {
namespace {

bool Executable(const std::string& path) {
  return !path.empty() && access(path.c_str(), X_OK) == 0;
}

// Alive and not a zombie (a zombie no parent reaps still answers kill 0).
bool Alive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() ||
         line[paren + 2] != 'Z';
}

std::string LogTail(const std::string& log_file) {
  absl::StatusOr<std::string> log = ReadFile(log_file);
  if (!log.ok()) return "";
  const std::string& text = *log;
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

}  // namespace

absl::StatusOr<std::string> FindHsmBinary() {
  if (const char* env = std::getenv("COFFER_HSM_BIN"); env != nullptr) {
    if (!Executable(env)) {
      return UsageError(absl::StrCat("$COFFER_HSM_BIN (", env,
                                     ") is not an executable file"));
    }
    return std::string(env);
  }
  std::error_code ec;
  const std::filesystem::path self =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const char* rel : {"coffer-hsm", "../node/coffer-hsm"}) {
      const std::string candidate = (self.parent_path() / rel).string();
      if (Executable(candidate)) return candidate;
    }
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':')) {
      const std::string candidate = absl::StrCat(dir, "/coffer-hsm");
      if (Executable(candidate)) return candidate;
    }
  }
  return UsageError(
      "cannot find coffer-hsm: set $COFFER_HSM_BIN, or install it next to "
      "coffer");
}

absl::StatusOr<pid_t> StartDetached(const std::vector<std::string>& argv,
                                    const std::string& log_file) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log =
      open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log < 0 || null < 0) {
    return UsageError(
        absl::StrCat("cannot open ", log_file, ": ", std::strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid == 0) {
    setsid();
    dup2(null, 0);
    dup2(log, 1);
    dup2(log, 2);
    close_range(3, ~0U, 0);
    execv(args[0], args.data());
    _exit(127);
  }
  close(log);
  close(null);
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  return pid;
}

absl::StatusOr<int> WaitForPortFile(pid_t pid, const std::string& port_file,
                                    const std::string& log_file,
                                    int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WithExitCode(absl::UnavailableError(absl::StrCat(
                              "coffer-hsm exited during start-up; its log (",
                              log_file, ") ends with:\n", LogTail(log_file))),
                          kExitUnreachable);
    }
    absl::StatusOr<std::string> text = ReadFile(port_file);
    int port = 0;
    if (text.ok() &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &port) &&
        port > 0) {
      return port;
    }
    usleep(20000);
  }
  return WithExitCode(absl::DeadlineExceededError(absl::StrCat(
                          "coffer-hsm did not start serving within ",
                          timeout_ms / 1000, " s; see ", log_file)),
                      kExitUnreachable);
}

bool ProcessRunning(pid_t pid, const std::string& marker) {
  if (!Alive(pid)) return false;
  std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"), std::ios::binary);
  std::string cmdline((std::istreambuf_iterator<char>(in)), {});
  for (char& c : cmdline) {
    if (c == '\0') c = ' ';
  }
  return cmdline.find(marker) != std::string::npos;
}

absl::Status StopProcess(pid_t pid, int timeout_ms) {
  if (!Alive(pid)) return absl::OkStatus();
  kill(pid, SIGTERM);
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    waitpid(pid, nullptr, WNOHANG);  // reaps it if it is our child
    if (!Alive(pid)) return absl::OkStatus();
    usleep(20000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, WNOHANG);
  return absl::DeadlineExceededError(
      absl::StrCat("process ", pid, " did not stop within ", timeout_ms / 1000,
                   " s of SIGTERM; killed it"));
}

}  // namespace coffer::cli
