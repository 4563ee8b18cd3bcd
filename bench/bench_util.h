// Helpers every benchmark binary shares: a benchmark's set-up either works
// or the run is meaningless, so failures end the process with the reason.
#ifndef COFFER_BENCH_BENCH_UTIL_H_
#define COFFER_BENCH_BENCH_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace coffer::bench {

// The program's name for messages; each benchmark sets it in main().
inline const char* program_name = "bench";

[[noreturn]] inline void Die(const std::string& what,
                             const absl::Status& status) {
  std::fprintf(stderr, "%s: %s: %s\n", program_name, what.c_str(),
               status.ToString().c_str());
  std::exit(1);
}

template <typename T>
T Must(absl::StatusOr<T> value, const std::string& what) {
  if (!value.ok()) Die(what, value.status());
  return *std::move(value);
}

inline void Must(const absl::Status& status, const std::string& what) {
  if (!status.ok()) Die(what, status);
}

}  // namespace coffer::bench

#endif  // COFFER_BENCH_BENCH_UTIL_H_
