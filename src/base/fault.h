// Named fault points: places in the code where a test can make the process
// die (as a crash or power cut would) or make an operation fail, so that
// invariants can be checked after the fault (CONVENTIONS.md, "Fault points").
//
//   absl::Status Store::Commit(...) {
//     ...
//     COFFER_FAULT_POINT("store.commit.before_commit");
//     ...
//   }
//
// A point is armed either by the environment, read once at the first hit:
//   COFFER_FAULT=<name>[:exit|:error][@<n>]
// (default action exit, default n 1), or by a test calling Arm(). When the
// armed point is reached for the n-th time (and every time after that):
//   exit:  the process ends at once with _exit(kFaultExitCode); no
//          destructors, atexit handlers or stdio flushes run.
//   error: COFFER_FAULT_POINT returns absl::InternalError("injected fault
//          at <name>") from the enclosing function, which must return
//          absl::Status or absl::StatusOr<T>.
// At most one point is armed at a time.
//
// Compiled in only when the CMake option COFFER_FAULT_INJECTION is on (the
// default for every build type except Release); otherwise the macro is an
// empty statement and kFaultInjectionEnabled is false. Thread-safe; an
// unarmed point costs one relaxed atomic load.
#ifndef COFFER_BASE_FAULT_H_
#define COFFER_BASE_FAULT_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "base/status.h"

namespace coffer::fault {

enum class FaultAction { kExit, kError };

inline constexpr int kFaultExitCode = 99;

#ifdef COFFER_FAULT_INJECTION
inline constexpr bool kFaultInjectionEnabled = true;
#else
inline constexpr bool kFaultInjectionEnabled = false;
#endif

// Arms `name` (replacing any armed point) to fire from its `nth` hit on,
// counting from this call. nth 0 is treated as 1.
void Arm(std::string_view name, FaultAction action, uint64_t nth = 1);
// Parses the COFFER_FAULT syntax above and arms it. InvalidArgument for a
// malformed spec (nothing is armed then).
absl::Status ArmFromSpec(std::string_view spec);
// Disarms whatever is armed (also an environment spec).
void Disarm();

// The work behind COFFER_FAULT_POINT; call it directly only from tests.
absl::Status Hit(std::string_view name);

}  // namespace coffer::fault

#ifdef COFFER_FAULT_INJECTION
#define COFFER_FAULT_POINT(name) \
  COFFER_RETURN_IF_ERROR(::coffer::fault::Hit(name))
#else
#define COFFER_FAULT_POINT(name) \
  do {                           \
  } while (false)
#endif

#endif  // COFFER_BASE_FAULT_H_
