#include "crypto/password.h"

#include <chrono>
#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace coffer::crypto {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;
using Code = absl::StatusCode;

constexpr PasswordHashParams kFast = {uint64_t{1} << 10, 8, 1};

SecretBytes Password(std::string_view text) {
  return SecretBytes::CopyOf(AsBytes(text));
}

TEST(PasswordTest, RoundTripsWithTheDocumentedEncoding) {
  auto encoded = HashPassword(Password("correct horse"), kFast);
  ASSERT_THAT(encoded, IsOk());
  // 16-byte salt: 22 base64 characters; 32-byte hash: 43; no padding.
  EXPECT_THAT(*encoded,
              MatchesRegex(R"(\$scrypt\$v=1\$ln=10,r=8,p=1\$)"
                           R"([A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43})"));
  EXPECT_THAT(VerifyPassword(Password("correct horse"), *encoded), IsOk());
}

TEST(PasswordTest, DefaultParametersAndTheirCost) {
  const auto start = std::chrono::steady_clock::now();
  auto encoded = HashPassword(Password("pw"));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_THAT(encoded, IsOk());
  EXPECT_THAT(*encoded, StartsWith("$scrypt$v=1$ln=15,r=8,p=1$"));
  EXPECT_THAT(VerifyPassword(Password("pw"), *encoded), IsOk());
  std::printf("[cost] scrypt n=2^15 r=8 p=1: %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(elapsed)
                      .count()));
}

// Computed independently with Python's hashlib.scrypt and base64.
TEST(PasswordTest, VerifiesAKnownEncoding) {
  constexpr std::string_view kEncoded =
      "$scrypt$v=1$ln=10,r=8,p=2$AAECAwQFBgcICQoLDA0ODw$"
      "wk79EttC618m617oirShLZuxJkXcX6rXHrrS9rQQ/44";
  EXPECT_THAT(
      VerifyPassword(Password("correct horse battery staple"), kEncoded),
      IsOk());
  EXPECT_THAT(VerifyPassword(Password("correct horse battery stapl"), kEncoded),
              StatusIs(Code::kDataLoss, "wrong password"));
}

TEST(PasswordTest, WrongPasswordIsDataLoss) {
  auto encoded = HashPassword(Password("hunter2"), kFast);
  ASSERT_THAT(encoded, IsOk());
  EXPECT_THAT(VerifyPassword(Password("hunter3"), *encoded),
              StatusIs(Code::kDataLoss, "wrong password"));
  EXPECT_THAT(VerifyPassword(Password("hunter2 "), *encoded),
              StatusIs(Code::kDataLoss));
  // A changed hash character (not the last: its low bits are unused).
  std::string tampered = *encoded;
  char& c = tampered[tampered.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  EXPECT_THAT(VerifyPassword(Password("hunter2"), tampered),
              StatusIs(Code::kDataLoss));
}

TEST(PasswordTest, SaltMakesEveryHashDifferent) {
  auto a = HashPassword(Password("same"), kFast);
  auto b = HashPassword(Password("same"), kFast);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(*a, *b);
  EXPECT_NE(a->substr(0, a->rfind('$')), b->substr(0, b->rfind('$')));
}

TEST(PasswordTest, EncodingDoesNotContainThePassword) {
  const std::string pw = "averyrecognisablepassword";
  auto encoded = HashPassword(Password(pw), kFast);
  ASSERT_THAT(encoded, IsOk());
  EXPECT_FALSE(absl::StrContains(*encoded, pw));
  EXPECT_FALSE(absl::StrContains(*encoded, "recognisable"));
}

TEST(PasswordTest, RefusesEmptyPasswordsAndBadParameters) {
  EXPECT_THAT(HashPassword(SecretBytes(), kFast),
              StatusIs(Code::kInvalidArgument, HasSubstr("empty")));
  auto encoded = HashPassword(Password("x"), kFast);
  ASSERT_THAT(encoded, IsOk());
  EXPECT_THAT(VerifyPassword(SecretBytes(), *encoded),
              StatusIs(Code::kInvalidArgument));
  for (const PasswordHashParams& bad :
       std::initializer_list<PasswordHashParams>{
           {1000, 8, 1},                // not a power of two
           {uint64_t{1} << 9, 8, 1},    // too cheap
           {uint64_t{1} << 21, 1, 1},   // n too large
           {uint64_t{1} << 15, 0, 1},   // r zero
           {uint64_t{1} << 15, 8, 0},   // p zero
           {uint64_t{1} << 15, 33, 1},  // r too large
           {uint64_t{1} << 15, 8, 17},  // p too large
           {uint64_t{1} << 20, 8, 1},   // 1 GiB of memory
           {uint64_t{1} << 18, 8, 4},   // too much work
       }) {
    EXPECT_THAT(HashPassword(Password("x"), bad),
                StatusIs(Code::kInvalidArgument))
        << "n=" << bad.n << " r=" << bad.r << " p=" << bad.p;
  }
}

TEST(PasswordTest, RefusesMalformedEncodings) {
  auto encoded = HashPassword(Password("pw"), kFast);
  ASSERT_THAT(encoded, IsOk());
  const std::string& good = *encoded;
  const std::string salt_and_hash = good.substr(good.find("$", 20));
  // The last character's two low bits are unused and must be zero.
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string last_bits_set = good;
  last_bits_set.back() = kAlphabet[kAlphabet.find(good.back()) ^ 1];
  const std::string cases[] = {
      "",
      "$scrypt$",
      "scrypt$v=1$ln=10,r=8,p=1" + salt_and_hash,
      "$argon2id$v=1$ln=10,r=8,p=1" + salt_and_hash,
      "$scrypt$v=2$ln=10,r=8,p=1" + salt_and_hash,
      "$scrypt$ln=10,r=8,p=1" + salt_and_hash,
      "$scrypt$v=1$ln=abc,r=8,p=1" + salt_and_hash,
      "$scrypt$v=1$ln=+10,r=8,p=1" + salt_and_hash,
      "$scrypt$v=1$ln=010,r=8,p=1" + salt_and_hash,
      "$scrypt$v=1$ln=10,p=1,r=8" + salt_and_hash,
      "$scrypt$v=1$ln=10,r=8" + salt_and_hash,
      "$scrypt$v=1$ln=9,r=8,p=1" + salt_and_hash,
      "$scrypt$v=1$ln=64,r=8,p=1" + salt_and_hash,
      "$scrypt$v=1$ln=99999999999,r=8,p=1" + salt_and_hash,
      "$scrypt$v=1$ln=20,r=32,p=1" + salt_and_hash,  // 4 GiB: refused
      "$scrypt$v=1$ln=18,r=8,p=16" + salt_and_hash,  // too slow: refused
      "$scrypt$v=1$ln=10,r=0,p=1" + salt_and_hash,
      "$scrypt$v=1$ln=10,r=8,p=0" + salt_and_hash,
      good + "$",
      good + "=",
      good + "AA",
      good.substr(0, good.size() - 4),  // 29-byte hash
      absl::StrReplaceAll(good, {{"$ln=10,r=8,p=1$", "$ln=10,r=8,p=1$!!"}}),
      "$scrypt$v=1$ln=10,r=8,p=1$AAAA" + good.substr(good.rfind('$')),
      last_bits_set,
  };
  for (const std::string& bad : cases) {
    EXPECT_THAT(VerifyPassword(Password("pw"), bad),
                StatusIs(Code::kInvalidArgument))
        << bad;
  }
}

}  // namespace
}  // namespace coffer::crypto
