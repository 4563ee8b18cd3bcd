#include "base/tlv.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace coffer {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using Code = absl::StatusCode;

TEST(TlvTest, RoundTripsEveryType) {
  ZeroizingBuffer encoded = TlvWriter()
                                .String(1, "alice")
                                .U64(2, 0x0102030405060708)
                                .Bool(3, true)
                                .Bytes(4, Bytes{0xde, 0xad})
                                .Bytes(5, {})
                                .Finish();
  auto reader = TlvReader::Parse(encoded);
  ASSERT_THAT(reader, IsOk());
  EXPECT_EQ(*reader->GetString(1), "alice");
  EXPECT_EQ(*reader->GetU64(2), 0x0102030405060708u);
  EXPECT_TRUE(*reader->GetBool(3));
  EXPECT_EQ(Bytes(reader->GetBytes(4)->begin(), reader->GetBytes(4)->end()),
            (Bytes{0xde, 0xad}));
  EXPECT_TRUE(reader->GetBytes(5)->empty());
  EXPECT_THAT(reader->GetU64(9), StatusIs(Code::kNotFound));
  EXPECT_EQ(reader->U64Or(9, 7), 7u);
}

TEST(TlvTest, EncodingIsExact) {
  EXPECT_EQ(HexEncode(TlvWriter().Bool(0x0102, false).view()),
            "01020000000100");
}

TEST(TlvTest, RejectsMalformedInput) {
  ZeroizingBuffer good = TlvWriter().String(1, "abc").Finish();
  Bytes truncated(good.begin(), good.end() - 1);
  EXPECT_THAT(TlvReader::Parse(truncated), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(TlvReader::Parse(Bytes{0, 1, 0}),
              StatusIs(Code::kInvalidArgument));
  ZeroizingBuffer twice = TlvWriter().U64(1, 1).U64(1, 2).Finish();
  EXPECT_THAT(TlvReader::Parse(twice), StatusIs(Code::kInvalidArgument));
  // The buffer must outlive the reader's views.
  const ZeroizingBuffer one_char = TlvWriter().String(1, "x").Finish();
  auto reader = TlvReader::Parse(one_char);
  ASSERT_THAT(reader, IsOk());
  EXPECT_THAT(reader->GetU64(1), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(reader->GetBool(1), StatusIs(Code::kInvalidArgument));
}

}  // namespace
}  // namespace coffer
