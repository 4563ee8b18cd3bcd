#include "testing/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace coffer::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    Reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

bool MakePipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end = Fd(fds[0]);
  write_end = Fd(fds[1]);
  return true;
}

// Everything the child needs, prepared before fork() so the child calls
// only async-signal-safe functions.
struct ExecPlan {
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

ExecPlan MakePlan(const ProcessSpec& spec) {
  ExecPlan plan;
  if (spec.env) {
    plan.env_storage = *spec.env;
  } else {
    for (char** e = environ; *e != nullptr; ++e) plan.env_storage.push_back(*e);
  }
  for (const std::string& e : spec.extra_env) plan.env_storage.push_back(e);
  for (const std::string& a : spec.argv) {
    plan.argv.push_back(const_cast<char*>(a.c_str()));
  }
  plan.argv.push_back(nullptr);
  for (std::string& e : plan.env_storage) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
  return plan;
}

// Runs in the child: wire up fds 0-2, then exec. Reports errno on
// `error_fd` if exec fails.
[[noreturn]] void ExecChild(const ExecPlan& plan, const ProcessSpec& spec,
                            int in_fd, int out_fd, int err_fd, int error_fd) {
  setpgid(0, 0);
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  dup2(in_fd, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  if (!spec.working_dir.empty() && chdir(spec.working_dir.c_str()) != 0) {
    const int e = errno;
    (void)!write(error_fd, &e, sizeof(e));
    _exit(127);
  }
  execve(plan.argv[0], plan.argv.data(), plan.envp.data());
  const int e = errno;
  (void)!write(error_fd, &e, sizeof(e));
  _exit(127);
}

// Forks and execs; returns the pid, or -1 with `error` set.
pid_t Spawn(const ProcessSpec& spec, int in_fd, int out_fd, int err_fd,
            std::string* error) {
  if (spec.argv.empty()) {
    *error = "no argv";
    return -1;
  }
  static const bool sigpipe_ignored = [] {
    signal(SIGPIPE, SIG_IGN);  // writes to a dead child's stdin fail instead
    return true;
  }();
  (void)sigpipe_ignored;
  ExecPlan plan = MakePlan(spec);
  Fd error_read, error_write;
  if (!MakePipe(error_read, error_write)) {
    *error = absl::StrCat("pipe: ", std::strerror(errno));
    return -1;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    *error = absl::StrCat("fork: ", std::strerror(errno));
    return -1;
  }
  if (pid == 0) {
    ExecChild(plan, spec, in_fd, out_fd, err_fd, error_write.get());
  }
  setpgid(pid, pid);
  error_write.Reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(error_read.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n == sizeof(child_errno)) {
    waitpid(pid, nullptr, 0);
    *error = absl::StrCat("cannot run ", spec.argv[0], ": ",
                          std::strerror(child_errno));
    return -1;
  }
  return pid;
}

void DecodeWaitStatus(int status, int* exit_code, int* term_signal) {
  if (WIFEXITED(status)) {
    *exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    *exit_code = -1;
    *term_signal = WTERMSIG(status);
  }
}

// Reads what is available from `fd` into `out`; false at EOF or error.
bool Drain(int fd, std::string& out) {
  char buf[65536];
  const ssize_t n = read(fd, buf, sizeof(buf));
  if (n > 0) {
    out.append(buf, static_cast<size_t>(n));
    return true;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

}  // namespace

std::string ProcessResult::Describe() const {
  std::string status = !error.empty() ? absl::StrCat("failed to start: ", error)
                       : timed_out    ? std::string("timed out")
                       : term_signal
                           ? absl::StrCat("killed by signal ", term_signal)
                           : absl::StrCat("exit code ", exit_code);
  return absl::StrCat("$ ", command, "\n[", status, "]\n--- stdout ---\n",
                      stdout_data, "\n--- stderr ---\n", stderr_data);
}

namespace {

// The parent's ends of a running child's stdin/stdout/stderr pipes.
struct ChildPipes {
  Fd in, out, err;
};

// Feeds stdin and collects stdout/stderr until the child has exited and
// its pipes are closed, or the deadline (then the group is killed). A
// daemon started by the child may hold the pipes open: once the child is
// gone, its output gets a moment, then reading stops. Returns the wait
// status.
int Pump(pid_t pid, const ProcessSpec& spec, ChildPipes& pipes,
         ProcessResult& result) {
  const Clock::time_point deadline = Clock::now() + spec.timeout;
  size_t written = 0;
  if (spec.stdin_data.empty()) pipes.in.Reset();
  int wait_status = 0;
  bool exited = false, out_open = true, err_open = true;
  Clock::time_point exited_at;
  while (out_open || err_open || !exited) {
    if (!exited && waitpid(pid, &wait_status, WNOHANG) == pid) {
      exited = true;
      exited_at = Clock::now();
    }
    if (exited && Clock::now() - exited_at > std::chrono::milliseconds(300)) {
      break;
    }
    if (Clock::now() > deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      if (!exited) waitpid(pid, &wait_status, 0);
      result.timed_out = true;
      break;
    }
    std::vector<pollfd> fds;
    if (pipes.in.get() >= 0) fds.push_back({pipes.in.get(), POLLOUT, 0});
    if (out_open) fds.push_back({pipes.out.get(), POLLIN, 0});
    if (err_open) fds.push_back({pipes.err.get(), POLLIN, 0});
    poll(fds.data(), fds.size(), 20);
    for (const pollfd& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == pipes.in.get()) {
        const ssize_t n = write(p.fd, spec.stdin_data.data() + written,
                                spec.stdin_data.size() - written);
        if (n > 0) written += static_cast<size_t>(n);
        const bool failed = n < 0 && errno != EAGAIN && errno != EINTR;
        if (failed || written >= spec.stdin_data.size()) pipes.in.Reset();
      } else if (p.fd == pipes.out.get()) {
        out_open = Drain(p.fd, result.stdout_data);
      } else if (p.fd == pipes.err.get()) {
        err_open = Drain(p.fd, result.stderr_data);
      }
    }
  }
  return wait_status;
}

}  // namespace

ProcessResult RunProcess(const ProcessSpec& spec) {
  ProcessResult result;
  result.command = absl::StrJoin(spec.argv, " ");
  Fd in_r, out_w, err_w;
  ChildPipes pipes;
  if (!MakePipe(in_r, pipes.in) || !MakePipe(pipes.out, out_w) ||
      !MakePipe(pipes.err, err_w)) {
    result.error = absl::StrCat("pipe: ", std::strerror(errno));
    return result;
  }
  const pid_t pid =
      Spawn(spec, in_r.get(), out_w.get(), err_w.get(), &result.error);
  in_r.Reset();
  out_w.Reset();
  err_w.Reset();
  if (pid < 0) return result;
  for (int fd : {pipes.in.get(), pipes.out.get(), pipes.err.get()}) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  const int wait_status = Pump(pid, spec, pipes, result);
  DecodeWaitStatus(wait_status, &result.exit_code, &result.term_signal);
  if (result.timed_out) result.exit_code = -1;
  return result;
}

absl::StatusOr<BackgroundProcess> BackgroundProcess::Start(
    const ProcessSpec& spec, const std::string& log_file) {
  Fd null_in(open("/dev/null", O_RDONLY | O_CLOEXEC));
  Fd out(log_file.empty()
             ? open("/dev/null", O_WRONLY | O_CLOEXEC)
             : open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                    0600));
  if (null_in.get() < 0 || out.get() < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open ", log_file, ": ", std::strerror(errno)));
  }
  std::string error;
  const pid_t pid = Spawn(spec, null_in.get(), out.get(), out.get(), &error);
  if (pid < 0) return absl::InternalError(error);
  return BackgroundProcess(pid);
}

BackgroundProcess::BackgroundProcess(BackgroundProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(other.status_) {}

BackgroundProcess& BackgroundProcess::operator=(
    BackgroundProcess&& other) noexcept {
  if (this != &other) {
    Kill();
    pid_ = std::exchange(other.pid_, -1);
    status_ = other.status_;
  }
  return *this;
}

BackgroundProcess::~BackgroundProcess() { Kill(); }

bool BackgroundProcess::running() {
  if (pid_ < 0) return false;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void BackgroundProcess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int BackgroundProcess::Stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ > 0) {
    kill(pid_, sig);
    const Clock::time_point deadline = Clock::now() + timeout;
    while (running() && Clock::now() < deadline) {
      usleep(10000);
    }
    Kill();
  }
  int exit_code = -1, term_signal = 0;
  DecodeWaitStatus(status_, &exit_code, &term_signal);
  return exit_code;
}

void BackgroundProcess::Kill() {
  if (pid_ <= 0) return;
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

}  // namespace coffer::testing
