#include "base/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/files.h"

namespace coffer {
namespace {

constexpr int kPollMs = 20;

std::string Duration(int ms) {
  return ms % 1000 == 0 ? absl::StrCat(ms / 1000, " s")
                        : absl::StrCat(ms, " ms");
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

bool ReadWhole(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), {});
  return true;
}

}  // namespace

absl::StatusOr<std::string> FindSiblingBinary(const std::string& name,
                                              const std::string& env,
                                              const std::string& build_tree) {
  auto executable = [](const std::string& path) {
    return !path.empty() && access(path.c_str(), X_OK) == 0;
  };
  if (const char* value = std::getenv(env.c_str()); value != nullptr) {
    if (!executable(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("$", env, " (", value, ") is not an executable file"));
    }
    return std::string(value);
  }
  std::error_code ec;
  const std::filesystem::path self =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const std::string& rel : {name, build_tree}) {
      const std::string candidate = (self.parent_path() / rel).string();
      if (executable(candidate)) return candidate;
    }
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':')) {
      const std::string candidate = absl::StrCat(dir, "/", name);
      if (executable(candidate)) return candidate;
    }
  }
  return absl::NotFoundError(
      absl::StrCat("cannot find ", name, ": set $", env,
                   ", or install it beside this program"));
}

absl::StatusOr<pid_t> StartDetached(const std::vector<std::string>& argv,
                                    const std::string& log_file) {
  if (argv.empty()) return absl::InvalidArgumentError("no program to start");
  // Built before fork: the child may only make async-signal-safe calls
  // (the parent may be multi-threaded).
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  const int log =
      open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) return ErrnoError(errno, "cannot open", log_file);
  const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0) {
    const int err = errno;
    close(log);
    return ErrnoError(err, "cannot open", "/dev/null");
  }
  const std::string exec_failed =
      absl::StrCat("cannot execute ", argv[0], "\n");
  const pid_t pid = fork();
  if (pid == 0) {
    setsid();
    dup2(null, 0);
    dup2(log, 1);
    dup2(log, 2);
    close_range(3, ~0U, 0);
    execv(args[0], args.data());
    // Only async-signal-safe calls here: say why in the log, then exit.
    (void)!write(2, exec_failed.data(), exec_failed.size());
    _exit(127);
  }
  const int fork_errno = errno;
  close(log);
  close(null);
  if (pid < 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("fork: ", std::strerror(fork_errno)));
  }
  return pid;
}

std::string LogTail(const std::string& log_file, size_t max_bytes) {
  std::string text;
  if (!ReadWhole(log_file, &text)) return "";
  return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
}

absl::StatusOr<int> WaitForPortFile(pid_t pid, const std::string& port_file,
                                    const std::string& log_file,
                                    int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += kPollMs) {
    int status = 0;
    // waitpid sees our own children exit; Alive() covers a daemon that is
    // not our child (or was reaped by someone else).
    bool reaped = waitpid(pid, &status, WNOHANG) == pid;
    const bool exited = reaped || !Alive(pid);
    // It may have exited just after the first waitpid: reap it now.
    if (exited && !reaped) reaped = waitpid(pid, &status, WNOHANG) == pid;
    if (exited) {
      std::string how;
      if (reaped && WIFEXITED(status)) {
        how = absl::StrCat(" with status ", WEXITSTATUS(status));
      } else if (reaped && WIFSIGNALED(status)) {
        how = absl::StrCat(" on signal ", WTERMSIG(status));
      }
      const std::string tail = LogTail(log_file);
      return absl::UnavailableError(absl::StrCat(
          "the program exited during start-up", how, "; its log (", log_file,
          ") ", tail.empty() ? "is empty" : "ends with:\n", tail));
    }
    std::string text;
    int port = 0;
    if (ReadWhole(port_file, &text) &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port) && port > 0) {
      return port;
    }
    usleep(kPollMs * 1000);
  }
  const std::string tail = LogTail(log_file);
  return absl::DeadlineExceededError(
      absl::StrCat("the program did not start serving within ",
                   Duration(timeout_ms), "; its log (", log_file, ") ",
                   tail.empty() ? "is empty" : "ends with:\n", tail));
}

bool ProcessRunning(pid_t pid, const std::string& marker) {
  if (!Alive(pid)) return false;
  std::string cmdline;
  if (!ReadWhole(absl::StrCat("/proc/", pid, "/cmdline"), &cmdline)) {
    return false;
  }
  for (char& c : cmdline) {
    if (c == '\0') c = ' ';
  }
  return cmdline.find(marker) != std::string::npos;
}

absl::Status StopProcess(pid_t pid, int timeout_ms) {
  if (!Alive(pid)) {
    waitpid(pid, nullptr, WNOHANG);  // a zombie child of ours
    return absl::OkStatus();
  }
  kill(pid, SIGTERM);
  for (int waited = 0; waited < timeout_ms; waited += kPollMs) {
    waitpid(pid, nullptr, WNOHANG);  // reaps it if it is our child
    if (!Alive(pid)) return absl::OkStatus();
    usleep(kPollMs * 1000);
  }
  kill(pid, SIGKILL);
  for (int waited = 0; waited < 2000 && Alive(pid); waited += kPollMs) {
    waitpid(pid, nullptr, WNOHANG);
    usleep(kPollMs * 1000);
  }
  waitpid(pid, nullptr, WNOHANG);
  return absl::DeadlineExceededError(
      absl::StrCat("process ", pid, " did not stop within ",
                   Duration(timeout_ms), " of SIGTERM; killed it"));
}

}  // namespace coffer
