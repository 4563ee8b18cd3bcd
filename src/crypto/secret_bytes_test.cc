#include "crypto/secret_bytes.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <type_traits>
#include <vector>

#include "crypto/asymmetric.h"
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

// Regression: SecretBytes once filled OpenSSL's whole secure heap, after
// which OpenSSL's own secure allocations (private-key numbers, DRBG
// reseeds) failed for good. They keep to half of it now.
TEST(SecretBytesTest, LeavesHalfTheSecureHeapToOpenSsl) {
  (void)InitSecureMemory(1 << 16);
  if (CRYPTO_secure_malloc_initialized() == 0) GTEST_SKIP() << "no heap";
  std::vector<SecretBytes> many;
  for (int i = 0; i < 1000; ++i) many.emplace_back(256);  // 4x the heap
  EXPECT_LE(CRYPTO_secure_used(), size_t{(1 << 16) / 2 + 256});
  // OpenSSL can still parse private keys (secure BIGNUMs) and reseed.
  auto key = PrivateKey::Generate(KeyAlgorithm::kRsa);
  ASSERT_THAT(key, IsOk());
  auto der = key->ToPkcs8Der();
  ASSERT_THAT(der, IsOk());
  EXPECT_THAT(PrivateKey::FromPkcs8Der(*der), IsOk());
  EXPECT_EQ(RAND_bytes(nullptr, 0), 1);
  EXPECT_EQ(
      EVP_RAND_reseed(RAND_get0_primary(nullptr), 0, nullptr, 0, nullptr, 0),
      1);
  EXPECT_THAT(RandomBytes(32), IsOk());
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
