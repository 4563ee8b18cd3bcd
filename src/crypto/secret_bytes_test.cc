#include "crypto/secret_bytes.h"

#include <type_traits>

#include "crypto/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace coffer::crypto {
namespace {

using ::coffer::testing::IsOk;

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);

TEST(SecretBytesTest, StartsZeroedAndCopiesExplicitly) {
  SecretBytes zero(16);
  EXPECT_EQ(zero.size(), 16u);
  for (uint8_t b : zero.ExposeSecret()) EXPECT_EQ(b, 0);

  const Bytes data = {1, 2, 3};
  SecretBytes a = SecretBytes::CopyOf(data);
  SecretBytes b = a.Clone();
  EXPECT_TRUE(ConstantTimeEquals(a.ExposeSecret(), b.ExposeSecret()));
  b.ExposeSecretMutable()[0] = 9;
  EXPECT_EQ(a.ExposeSecret()[0], 1);  // a clone is independent
}

TEST(SecretBytesTest, MoveLeavesSourceEmpty) {
  SecretBytes a = SecretBytes::CopyOf(Bytes{1, 2, 3});
  SecretBytes b = std::move(a);
  EXPECT_EQ(b.size(), 3u);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented
  a = std::move(b);
  EXPECT_EQ(a.size(), 3u);
}

TEST(SecretBytesTest, TruncateKeepsPrefix) {
  SecretBytes a = SecretBytes::CopyOf(Bytes{1, 2, 3, 4});
  a.Truncate(2);
  EXPECT_EQ(a.size(), 2u);
  EXPECT_TRUE(ConstantTimeEquals(a.ExposeSecret(), Bytes{1, 2}));
  a.Truncate(5);  // growing is a no-op
  EXPECT_EQ(a.size(), 2u);
}

TEST(SecretBytesTest, SecureHeapIsUsedOnceInitialised) {
  // Locking may be refused by RLIMIT_MEMLOCK in some sandboxes; the heap is
  // still used then, which is what this test checks.
  (void)InitSecureMemory(1 << 16);
  auto secret = RandomSecret(32);
  ASSERT_THAT(secret, IsOk());
  EXPECT_EQ(secret->size(), 32u);
}

TEST(ConstantTimeEqualsTest, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals(Bytes{}, Bytes{}));
  EXPECT_TRUE(ConstantTimeEquals(Bytes{1, 2}, Bytes{1, 2}));
  EXPECT_FALSE(ConstantTimeEquals(Bytes{1, 2}, Bytes{1, 3}));
  EXPECT_FALSE(ConstantTimeEquals(Bytes{1, 2}, Bytes{1, 2, 3}));
}

TEST(RandomTest, DrawsDistinctValues) {
  auto a = RandomBytes(32);
  auto b = RandomBytes(32);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(*a, *b);
  auto empty = RandomBytes(0);
  ASSERT_THAT(empty, IsOk());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace coffer::crypto
