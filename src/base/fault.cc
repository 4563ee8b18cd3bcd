#include "base/fault.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace coffer::fault {
namespace {

struct State {
  std::once_flag env_once;
  std::atomic<bool> armed{false};
  std::mutex mu;
  std::string name;  // guarded by mu, as are the fields below
  FaultAction action = FaultAction::kExit;
  uint64_t nth = 1;
  uint64_t hits = 0;
};

State& GetState() {
  static State* const state = new State();
  return *state;
}

void ArmLocked(State& s, std::string_view name, FaultAction action,
               uint64_t nth) {
  s.name = std::string(name);
  s.action = action;
  s.nth = nth == 0 ? 1 : nth;
  s.hits = 0;
  s.armed.store(true, std::memory_order_release);
}

absl::Status ArmFromSpecNoEnv(std::string_view spec) {
  std::string_view name = spec;
  uint64_t nth = 1;
  FaultAction action = FaultAction::kExit;
  if (size_t at = name.rfind('@'); at != std::string_view::npos) {
    if (!absl::SimpleAtoi(std::string(name.substr(at + 1)), &nth) || nth == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("fault spec '", std::string(spec),
                       "': the count after '@' must be >= 1"));
    }
    name = name.substr(0, at);
  }
  if (size_t colon = name.rfind(':'); colon != std::string_view::npos) {
    std::string_view what = name.substr(colon + 1);
    if (what == "exit") {
      action = FaultAction::kExit;
    } else if (what == "error") {
      action = FaultAction::kError;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("fault spec '", std::string(spec),
                       "': the action must be 'exit' or 'error'"));
    }
    name = name.substr(0, colon);
  }
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fault spec '", std::string(spec), "' names no fault point"));
  }
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  ArmLocked(s, name, action, nth);
  return absl::OkStatus();
}

void LoadFromEnv() {
  const char* spec = std::getenv("COFFER_FAULT");
  if (spec == nullptr || *spec == '\0') return;
  if (absl::Status s = ArmFromSpecNoEnv(spec); !s.ok()) {
    // A test that sets a bad spec must not silently run without its fault.
    std::string msg = absl::StrCat("COFFER_FAULT ignored: ", s.message(), "\n");
    (void)!write(STDERR_FILENO, msg.data(), msg.size());
  }
}

void EnsureEnvLoaded() {
  State& s = GetState();
  std::call_once(s.env_once, LoadFromEnv);
}

}  // namespace

void Arm(std::string_view name, FaultAction action, uint64_t nth) {
  EnsureEnvLoaded();
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  ArmLocked(s, name, action, nth);
}

absl::Status ArmFromSpec(std::string_view spec) {
  EnsureEnvLoaded();
  return ArmFromSpecNoEnv(spec);
}

void Disarm() {
  EnsureEnvLoaded();
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.armed.store(false, std::memory_order_release);
  s.name.clear();
}

absl::Status Hit(std::string_view name) {
  EnsureEnvLoaded();
  State& s = GetState();
  if (!s.armed.load(std::memory_order_acquire)) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.armed.load(std::memory_order_relaxed) || s.name != name ||
      ++s.hits < s.nth) {
    return absl::OkStatus();
  }
  if (s.action == FaultAction::kExit) {
    std::string msg = absl::StrCat("fault point ", std::string(name),
                                   ": exiting with ", kFaultExitCode, "\n");
    (void)!write(STDERR_FILENO, msg.data(), msg.size());
    _exit(kFaultExitCode);
  }
  return absl::InternalError(
      absl::StrCat("injected fault at ", std::string(name)));
}

}  // namespace coffer::fault
