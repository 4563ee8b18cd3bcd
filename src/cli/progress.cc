#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace coffer::cli {

bool ShowsProgress(const Output& out) {
  return !out.json() && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
}

ProgressLine::ProgressLine(const Output& out, std::string label)
    : label_(std::move(label)) {
  if (ShowsProgress(out)) {
    thread_ = std::thread(&ProgressLine::Run, this);
  } else {
    done_.Notify();
  }
}

void ProgressLine::Finish() {
  if (!done_.HasBeenNotified()) done_.Notify();
  if (thread_.joinable()) thread_.join();
}

void ProgressLine::Run() {
  const absl::Time start = absl::Now();
  do {
    const int64_t seconds = absl::ToInt64Seconds(absl::Now() - start);
    // \r and "erase to the end of the line": one line, redrawn in place.
    const std::string line =
        absl::StrCat("\r", label_, "... ", seconds, " s\033[K");
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  } while (!done_.WaitForNotificationWithTimeout(absl::Seconds(1)));
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
}

}  // namespace coffer::cli
