// Behaviour of the symmetric primitives beyond the official vectors: input
// validation, tamper detection and the exact SP 800-108 fixed-input format.
#include "absl/strings/str_cat.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "crypto/key_wrap.h"
#include "crypto/mac.h"
#include "crypto/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace coffer::crypto {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

SecretBytes Key(size_t n) { return RandomSecret(n).value(); }

TEST(KeyWrapTest, RejectsBadKekSizes) {
  EXPECT_THAT(AesKeyWrap::Create(KeyWrapMode::kKwp, Key(20)),
              StatusIs(Code::kInvalidArgument, HasSubstr("16, 24 or 32")));
}

TEST(KeyWrapTest, KwRejectsLengthsItCannotWrap) {
  auto kw = AesKeyWrap::Create(KeyWrapMode::kKw, Key(32));
  ASSERT_THAT(kw, IsOk());
  EXPECT_THAT(kw->Wrap(Bytes(8)), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(kw->Wrap(Bytes(17)), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(kw->Unwrap(Bytes(16)), StatusIs(Code::kInvalidArgument));
}

TEST(KeyWrapTest, KwpRoundTripsEveryLengthUpToTwoBlocksAndDetectsTamper) {
  auto kwp = AesKeyWrap::Create(KeyWrapMode::kKwp, Key(32));
  ASSERT_THAT(kwp, IsOk());
  EXPECT_THAT(kwp->Wrap({}), StatusIs(Code::kInvalidArgument));
  for (size_t n = 1; n <= 33; ++n) {
    Bytes plain = RandomBytes(n).value();
    auto wrapped = kwp->Wrap(plain);
    ASSERT_THAT(wrapped, IsOk());
    EXPECT_EQ(wrapped->size(), (n + 7) / 8 * 8 + 8);
    auto back = kwp->Unwrap(*wrapped);
    ASSERT_THAT(back, IsOk());
    EXPECT_TRUE(ConstantTimeEquals(back->ExposeSecret(), plain));
    Bytes tampered = *wrapped;
    tampered[n % tampered.size()] ^= 0x01;
    EXPECT_THAT(kwp->Unwrap(tampered),
                StatusIs(Code::kDataLoss, HasSubstr("integrity")));
  }
}

TEST(KeyWrapTest, WrongKekFailsIntegrity) {
  auto a = AesKeyWrap::Create(KeyWrapMode::kKwp, Key(32));
  auto b = AesKeyWrap::Create(KeyWrapMode::kKwp, Key(32));
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  auto wrapped = a->Wrap(Bytes(4096, 7));
  ASSERT_THAT(wrapped, IsOk());
  EXPECT_THAT(b->Unwrap(*wrapped), StatusIs(Code::kDataLoss));
  // Truncation and extension are integrity failures too.
  Bytes cut(wrapped->begin(), wrapped->end() - 8);
  EXPECT_THAT(a->Unwrap(cut), StatusIs(Code::kDataLoss));
}

// PRF(K, [1]_32 || label || 0x00 || context || [L]_32), computed with our
// own HMAC, must equal the KDF's output: this pins the documented format.
TEST(KbkdfTest, FixedInputIsLabelSeparatorContextLength) {
  SecretBytes key = Key(32);
  const Bytes label = {'P', 'B', 'K'};
  const Bytes context = {0xc0, 0xff, 0xee};
  auto derived = KbkdfCounter(key, label, context, 32);
  ASSERT_THAT(derived, IsOk());

  Bytes input = {0, 0, 0, 1};
  input.insert(input.end(), label.begin(), label.end());
  input.push_back(0x00);
  input.insert(input.end(), context.begin(), context.end());
  const Bytes length_bits = {0, 0, 1, 0};  // 256
  input.insert(input.end(), length_bits.begin(), length_bits.end());
  auto hmac = Hmac::Create(HashAlg::kSha256, key.Clone());
  ASSERT_THAT(hmac, IsOk());
  auto expected = hmac->Compute(input);
  ASSERT_THAT(expected, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(derived->ExposeSecret(), *expected));
}

TEST(KbkdfTest, OutputDependsOnEveryInputAndLength) {
  SecretBytes key = Key(32);
  const Bytes l = {1}, c = {2};
  auto base = KbkdfCounter(key, l, c, 32).value();
  EXPECT_FALSE(ConstantTimeEquals(base.ExposeSecret(),
                                  KbkdfCounter(key, c, l, 32)->ExposeSecret()));
  // [L] is part of the input: a shorter output is not a prefix.
  auto shorter = KbkdfCounter(key, l, c, 16).value();
  EXPECT_FALSE(ConstantTimeEquals(shorter.ExposeSecret(),
                                  base.ExposeSecret().first(16)));
  EXPECT_THAT(KbkdfCounter(key, l, c, 100), IsOk());  // several blocks
}

TEST(KbkdfTest, RejectsBadArguments) {
  EXPECT_THAT(KbkdfCounter(SecretBytes(), {}, {}, 32),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(KbkdfCounter(Key(32), {}, {}, 0),
              StatusIs(Code::kInvalidArgument));
  KbkdfOptions cmac;
  cmac.prf = KbkdfPrf::kCmacAes;
  EXPECT_THAT(KbkdfCounter(Key(20), {}, {}, 16, cmac),
              StatusIs(Code::kInvalidArgument, HasSubstr("CMAC")));
  EXPECT_THAT(KbkdfCounter(Key(16), {}, {}, 16, cmac), IsOk());
}

TEST(AesGcmTest, SealOpenRoundTripAndTamperDetection) {
  auto gcm = AesGcm::Create(Key(32));
  ASSERT_THAT(gcm, IsOk());
  const Bytes plain(4096, 0x42);
  const Bytes aad = {'i', 'd'};
  auto sealed = gcm->Seal(plain, aad);
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(sealed->size(), plain.size() + 28);
  auto opened = gcm->Open(*sealed, aad);
  ASSERT_THAT(opened, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(opened->ExposeSecret(), plain));

  EXPECT_THAT(gcm->Open(*sealed, Bytes{'x'}), StatusIs(Code::kDataLoss));
  for (size_t pos : {size_t{0}, size_t{20}, sealed->size() - 1}) {
    Bytes tampered = *sealed;
    tampered[pos] ^= 0x80;
    EXPECT_THAT(gcm->Open(tampered, aad), StatusIs(Code::kDataLoss))
        << "byte " << pos;
  }
  EXPECT_THAT(gcm->Open(Bytes(27), aad), StatusIs(Code::kInvalidArgument));
  // Two seals of the same plaintext differ (fresh IVs).
  EXPECT_NE(*sealed, *gcm->Seal(plain, aad));
}

TEST(AesGcmTest, ValidatesIvAndTagSizes) {
  auto gcm = AesGcm::Create(Key(16));
  ASSERT_THAT(gcm, IsOk());
  EXPECT_THAT(gcm->EncryptWithIv({}, Bytes(4), {}),
              StatusIs(Code::kInvalidArgument, HasSubstr("IV")));
  EXPECT_THAT(gcm->EncryptWithIv(Bytes(129), Bytes(4), {}),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(gcm->EncryptWithIv(Bytes(12), Bytes(4), {}, 10),
              StatusIs(Code::kInvalidArgument, HasSubstr("tag")));
  // A long IV and a short tag round-trip.
  auto ct = gcm->EncryptWithIv(Bytes(64, 1), Bytes(5, 2), {}, 8);
  ASSERT_THAT(ct, IsOk());
  EXPECT_EQ(ct->size(), 13u);
  EXPECT_THAT(gcm->DecryptWithIv(Bytes(64, 1), *ct, {}, 8), IsOk());
  EXPECT_THAT(AesGcm::Create(Key(8)), StatusIs(Code::kInvalidArgument));
}

TEST(HmacTest, VerifiesFullAndTruncatedTags) {
  auto mac = Hmac::Create(HashAlg::kSha384, Key(48));
  ASSERT_THAT(mac, IsOk());
  const Bytes data = {1, 2, 3};
  auto tag = mac->Compute(data);
  ASSERT_THAT(tag, IsOk());
  EXPECT_EQ(tag->size(), 48u);
  EXPECT_THAT(mac->Verify(data, *tag), IsOk());
  EXPECT_THAT(mac->Verify(data, ByteView(*tag).first(16)), IsOk());
  EXPECT_THAT(mac->Verify(data, ByteView(*tag).first(4)),
              StatusIs(Code::kInvalidArgument));
  Bytes bad = *tag;
  bad[47] ^= 1;
  EXPECT_THAT(mac->Verify(data, bad), StatusIs(Code::kDataLoss));
  EXPECT_THAT(Hmac::Create(HashAlg::kSha256, SecretBytes()),
              StatusIs(Code::kInvalidArgument));
}

TEST(HashTest, MultiPartEqualsOneShotForEveryAlgorithm) {
  const Bytes data(1000, 0x5a);
  for (HashAlg alg : {HashAlg::kSha1, HashAlg::kSha224, HashAlg::kSha256,
                      HashAlg::kSha384, HashAlg::kSha512}) {
    auto hasher = Hasher::Create(alg);
    ASSERT_THAT(hasher, IsOk());
    ASSERT_THAT(hasher->Update(ByteView(data).first(300)), IsOk());
    ASSERT_THAT(hasher->Update(ByteView(data).subspan(300)), IsOk());
    auto multi = hasher->Finish();
    ASSERT_THAT(multi, IsOk());
    EXPECT_EQ(multi->size(), HashSize(alg)) << HashName(alg);
    EXPECT_EQ(*multi, *Digest(alg, data)) << HashName(alg);
    EXPECT_THAT(hasher->Update(data), StatusIs(Code::kFailedPrecondition));
  }
}

}  // namespace
}  // namespace coffer::crypto
