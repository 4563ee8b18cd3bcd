// Runs fn(0) .. fn(n - 1) on `threads` threads (the caller's among them),
// item i on thread i % threads, and returns the first error by index.
#ifndef COFFER_BACKUP_INTERNAL_PARALLEL_H_
#define COFFER_BACKUP_INTERNAL_PARALLEL_H_

#include <algorithm>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace coffer::backup::internal {

inline absl::Status ParallelFor(size_t n, int threads,
                                const std::function<absl::Status(size_t)>& fn) {
  const size_t lanes =
      std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(threads), n));
  std::vector<absl::Status> results(n);
  auto lane = [&](size_t first) {
    for (size_t i = first; i < n; i += lanes) results[i] = fn(i);
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < lanes; ++t) helpers.emplace_back(lane, t);
  lane(0);
  for (std::thread& t : helpers) t.join();
  for (absl::Status& s : results) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace coffer::backup::internal

#endif  // COFFER_BACKUP_INTERNAL_PARALLEL_H_
