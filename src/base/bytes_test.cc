#include "base/bytes.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace coffer {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;

TEST(HexTest, RoundTrips) {
  Bytes in = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(in), "0001abff");
  auto out = HexDecode("0001ABff");
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(*out, in);
}

TEST(HexTest, RejectsOddLengthAndBadDigits) {
  EXPECT_THAT(HexDecode("abc"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(HexDecode("0g"), StatusIs(absl::StatusCode::kInvalidArgument,
                                        ::testing::HasSubstr("offset 1")));
}

TEST(HexTest, EmptyIsEmpty) {
  EXPECT_EQ(HexEncode({}), "");
  EXPECT_THAT(HexDecode(""), IsOk());
}

}  // namespace
}  // namespace coffer
