// Helpers shared by the cluster log's tests.
#ifndef COFFER_LOG_LOG_TEST_UTIL_H_
#define COFFER_LOG_LOG_TEST_UTIL_H_

#include <string>

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "gmock/gmock.h"

namespace coffer::log {

// StatusOr<T> is OK and its value matches `matcher`. (The project's
// status_matchers.h has none yet; gmock's Optional needs operator bool.)
MATCHER_P(IsOkAndHolds, matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

inline Bytes Rec(const std::string& s) { return Bytes(s.begin(), s.end()); }

}  // namespace coffer::log

#endif  // COFFER_LOG_LOG_TEST_UTIL_H_
