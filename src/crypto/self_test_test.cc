#include "crypto/self_test.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace coffer::crypto {
namespace {

using ::coffer::testing::IsOk;

TEST(SelfTest, EveryKnownAnswerAndPairwiseTestPasses) {
  std::vector<SelfTestResult> results = RunSelfTests();
  EXPECT_GE(results.size(), 15u);
  for (const SelfTestResult& result : results) {
    EXPECT_THAT(result.status, IsOk()) << result.name;
  }
  EXPECT_THAT(SelfTestsPass(), IsOk());
}

}  // namespace
}  // namespace coffer::crypto
