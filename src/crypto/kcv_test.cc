#include "crypto/kcv.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace coffer::crypto {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;

SecretBytes Counting(size_t n) {
  SecretBytes key(n);
  for (size_t i = 0; i < n; ++i) key.ExposeSecretMutable()[i] = uint8_t(i);
  return key;
}

// Expected values computed independently (Python `cryptography`'s CMAC over
// 16 zero bytes, first 5 bytes).
TEST(KcvTest, MatchesIndependentComputation) {
  EXPECT_EQ(KeyCheckValue(Counting(32)).value_or(""), "377822c093");
  EXPECT_EQ(KeyCheckValue(Counting(16)).value_or(""), "be7ed6ae78");
}

TEST(KcvTest, RejectsNonAesKeySizes) {
  EXPECT_THAT(KeyCheckValue(Counting(20)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(KeyCheckValue(Counting(24)), IsOk());
}

}  // namespace
}  // namespace coffer::crypto
