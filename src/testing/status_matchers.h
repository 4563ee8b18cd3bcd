// GoogleTest matchers for absl::Status and absl::StatusOr<T>.
//   EXPECT_THAT(DoIt(), IsOk());
//   EXPECT_THAT(Parse(x), StatusIs(absl::StatusCode::kInvalidArgument,
//                                  HasSubstr("offset")));
#ifndef COFFER_TESTING_STATUS_MATCHERS_H_
#define COFFER_TESTING_STATUS_MATCHERS_H_

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace coffer::testing {
namespace internal {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace internal

MATCHER(IsOk, "is OK") {
  const absl::Status& status = internal::GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

MATCHER_P(StatusIs, code, "has status code " + ::testing::PrintToString(code)) {
  const absl::Status& status = internal::GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + ::testing::PrintToString(code) +
               " and a matching message") {
  const absl::Status& status = internal::GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

}  // namespace coffer::testing

#endif  // COFFER_TESTING_STATUS_MATCHERS_H_
