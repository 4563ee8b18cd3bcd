// A progress line for long calls (an HSM being provisioned, a backup
// being made): "LABEL... 12 s" on stderr, redrawn every second until the
// call returns, then erased. Shown only for people: when stdout and stderr
// are terminals and the output is not JSON; scripts and pipes see nothing.
#ifndef COFFER_CLI_PROGRESS_H_
#define COFFER_CLI_PROGRESS_H_

#include <string>
#include <thread>
#include <utility>

#include "absl/synchronization/notification.h"
#include "cli/output.h"

namespace coffer::cli {

// True when progress is shown (see above).
bool ShowsProgress(const Output& out);

class ProgressLine {
 public:
  ProgressLine(const Output& out, std::string label);
  ~ProgressLine() { Finish(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Stops redrawing and erases the line. Idempotent.
  void Finish();

 private:
  void Run();

  const std::string label_;
  absl::Notification done_;
  std::thread thread_;
};

// Runs `call` (a long blocking call) with a ProgressLine labelled `label`.
template <typename Call>
auto WithProgress(const Output& out, std::string label, Call&& call) {
  ProgressLine line(out, std::move(label));
  return call();
}

}  // namespace coffer::cli

#endif  // COFFER_CLI_PROGRESS_H_
