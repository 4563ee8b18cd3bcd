// Child processes for integration tests: run a program to completion and
// capture its output, or keep one running in the background for as long as
// a handle lives.
//
//   ProcessResult r = RunProcess({.argv = {cli, "hsm-info"}});
//   EXPECT_EQ(r.exit_code, 0) << r.Describe();
//
//   absl::StatusOr<BackgroundProcess> daemon = BackgroundProcess::Start(
//       {.argv = {hsm_bin, "--data-dir", dir}}, log_file);
//   // ... killed (SIGKILL) and reaped when `daemon` goes out of scope.
//
// The child gets exactly `env` when it is set (else this process's
// environment plus `extra_env`), its stdin from `stdin_data`, and runs in
// its own process group, so a timeout or destructor kills it and anything
// it started in that group. Nothing here aborts the test binary.
#ifndef COFFER_TESTING_SUBPROCESS_H_
#define COFFER_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace coffer::testing {

struct ProcessSpec {
  std::vector<std::string> argv;                // argv[0] is the program's path
  std::vector<std::string> extra_env;           // "NAME=value", added to ours
  std::optional<std::vector<std::string>> env;  // replaces ours when set
  std::string stdin_data;   // written to the child's stdin, then closed
  std::string working_dir;  // empty: ours
  std::chrono::milliseconds timeout{60000};  // RunProcess only
};

struct ProcessResult {
  int exit_code = -1;      // -1 if killed by a signal or never started
  int term_signal = 0;     // the signal that ended it, if any
  bool timed_out = false;  // killed after spec.timeout
  std::string stdout_data;
  std::string stderr_data;
  std::string error;    // why the process could not be started
  std::string command;  // argv joined with spaces
  // The command, exit status and output, for test failure messages.
  std::string Describe() const;
};

// Runs `spec` to completion (or its timeout, then SIGKILL to its group).
// Stops reading output once the child has exited and its pipes are quiet
// for a moment, so a daemon it left behind holding the pipes cannot hang
// the caller.
ProcessResult RunProcess(const ProcessSpec& spec);

class BackgroundProcess {
 public:
  // Starts `spec` with stdout and stderr appended to `log_file` (or
  // discarded when empty), stdin from /dev/null.
  static absl::StatusOr<BackgroundProcess> Start(const ProcessSpec& spec,
                                                 const std::string& log_file);
  BackgroundProcess(BackgroundProcess&& other) noexcept;
  BackgroundProcess& operator=(BackgroundProcess&& other) noexcept;
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  ~BackgroundProcess();  // Kill()

  pid_t pid() const { return pid_; }
  bool running();  // false once it has exited (and been reaped)
  void Signal(int sig);
  // Sends `sig` and waits up to `timeout` for the exit; SIGKILL after that.
  // Returns the exit code (-1 when killed by a signal).
  int Stop(int sig, std::chrono::milliseconds timeout);
  // SIGKILL to the process group, then reap. Idempotent.
  void Kill();

 private:
  explicit BackgroundProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  int status_ = 0;
};

}  // namespace coffer::testing

#endif  // COFFER_TESTING_SUBPROCESS_H_
