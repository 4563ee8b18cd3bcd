// AES-CBC(-PAD) and AES-CTR: NIST SP 800-38A known answers (F.2.5/F.2.6,
// F.5.5/F.5.6) and behaviour beyond them.
#include "crypto/cipher.h"

#include <set>
#include <string>

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

Bytes Hex(std::string_view hex) { return HexDecode(hex).value(); }
SecretBytes SecretHex(std::string_view hex) {
  return SecretBytes::CopyOf(Hex(hex));
}
Bytes Plain(const SecretBytes& s) {
  return Bytes(s.ExposeSecret().begin(), s.ExposeSecret().end());
}

// NIST SP 800-38A, Appendix F: the AES-256 key and the four-block plaintext
// shared by every mode's example.
constexpr char kKey256[] =
    "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
constexpr char kPlaintext[] =
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
// F.2.5 CBC-AES256.Encrypt / F.2.6 CBC-AES256.Decrypt.
constexpr char kCbcIv[] = "000102030405060708090a0b0c0d0e0f";
constexpr char kCbcCiphertext[] =
    "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
    "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b";
// F.5.5 CTR-AES256.Encrypt / F.5.6 CTR-AES256.Decrypt.
constexpr char kCtrCounter[] = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
constexpr char kCtrCiphertext[] =
    "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
    "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6";

TEST(AesCbcTest, Sp800_38aF25EncryptAndF26Decrypt) {
  auto cbc = AesCbc::Create(SecretHex(kKey256), CbcPadding::kNone);
  ASSERT_THAT(cbc, IsOk());
  auto ct = cbc->Encrypt(Hex(kCbcIv), Hex(kPlaintext));
  ASSERT_THAT(ct, IsOk());
  EXPECT_EQ(HexEncode(*ct), kCbcCiphertext);
  auto pt = cbc->Decrypt(Hex(kCbcIv), Hex(kCbcCiphertext));
  ASSERT_THAT(pt, IsOk());
  EXPECT_EQ(HexEncode(pt->ExposeSecret()), kPlaintext);
}

TEST(AesCbcTest, PaddedEncryptionIsTheVectorPlusOnePaddingBlock) {
  // PKCS#7 adds a whole block of 0x10 to a block-aligned input; the first
  // four blocks are therefore NIST's, and the fifth is E(C4 xor 10..10).
  auto cbc = AesCbc::Create(SecretHex(kKey256));
  ASSERT_THAT(cbc, IsOk());
  auto ct = cbc->Encrypt(Hex(kCbcIv), Hex(kPlaintext));
  ASSERT_THAT(ct, IsOk());
  ASSERT_EQ(ct->size(), 80u);
  EXPECT_EQ(HexEncode(ByteView(*ct).first(64)), kCbcCiphertext);
  auto raw = AesCbc::Create(SecretHex(kKey256), CbcPadding::kNone);
  Bytes pad_block(16, 0x10);
  auto last = raw->Encrypt(ByteView(*ct).subspan(48, 16), pad_block);
  ASSERT_THAT(last, IsOk());
  EXPECT_EQ(*last, Bytes(ct->begin() + 64, ct->end()));
  auto pt = cbc->Decrypt(Hex(kCbcIv), *ct);
  ASSERT_THAT(pt, IsOk());
  EXPECT_EQ(HexEncode(pt->ExposeSecret()), kPlaintext);
}

TEST(AesCbcTest, PadRoundTripsEveryLengthAndKeySize) {
  for (size_t key_size : {16u, 24u, 32u}) {
    auto cbc = AesCbc::Create(RandomSecret(key_size).value());
    ASSERT_THAT(cbc, IsOk());
    const Bytes iv = RandomBytes(16).value();
    for (size_t n = 0; n <= 33; ++n) {
      const Bytes plain = RandomBytes(n).value();
      auto ct = cbc->Encrypt(iv, plain);
      ASSERT_THAT(ct, IsOk());
      EXPECT_EQ(ct->size(), (n / 16 + 1) * 16);
      auto back = cbc->Decrypt(iv, *ct);
      ASSERT_THAT(back, IsOk());
      EXPECT_EQ(Plain(*back), plain);
    }
  }
}

TEST(AesCbcTest, BadPaddingIsOneFixedDataLossMessage) {
  auto cbc = AesCbc::Create(RandomSecret(32).value());
  ASSERT_THAT(cbc, IsOk());
  const Bytes iv = RandomBytes(16).value();
  auto ct = cbc->Encrypt(iv, AsBytes("fifteen bytes!!"));
  ASSERT_THAT(ct, IsOk());
  // Flipping bits in the IV changes the decrypted padding byte directly:
  // every wrong padding value reads the same.
  std::set<std::string> messages;
  for (uint8_t delta : {0x01, 0x02, 0x10, 0x80}) {
    Bytes bad_iv = iv;
    bad_iv[15] ^= delta;
    absl::StatusOr<SecretBytes> r = cbc->Decrypt(bad_iv, *ct);
    ASSERT_THAT(r, StatusIs(Code::kDataLoss));
    messages.insert(std::string(r.status().message()));
  }
  auto other = AesCbc::Create(RandomSecret(32).value());
  absl::StatusOr<SecretBytes> wrong_key = other->Decrypt(iv, *ct);
  if (!wrong_key.ok())
    messages.insert(std::string(wrong_key.status().message()));
  EXPECT_EQ(messages.size(), 1u);
  EXPECT_THAT(*messages.begin(), HasSubstr("AES-CBC-PAD decryption failed"));
}

TEST(AesCbcTest, RejectsBadSizes) {
  EXPECT_THAT(AesCbc::Create(RandomSecret(20).value()),
              StatusIs(Code::kInvalidArgument, HasSubstr("16, 24 or 32")));
  auto cbc = AesCbc::Create(RandomSecret(16).value());
  auto raw = AesCbc::Create(RandomSecret(16).value(), CbcPadding::kNone);
  EXPECT_THAT(cbc->Encrypt(Bytes(12), Bytes(5)),
              StatusIs(Code::kInvalidArgument, HasSubstr("16 bytes")));
  EXPECT_THAT(cbc->Decrypt(Bytes(16), Bytes(17)),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(cbc->Decrypt(Bytes(16), {}), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(raw->Encrypt(Bytes(16), Bytes(17)),
              StatusIs(Code::kInvalidArgument, HasSubstr("CBC-PAD")));
  EXPECT_EQ(raw->padding(), CbcPadding::kNone);
}

TEST(AesCtrTest, Sp800_38aF55EncryptAndF56Decrypt) {
  auto ctr = AesCtr::Create(SecretHex(kKey256));
  ASSERT_THAT(ctr, IsOk());
  auto ct = ctr->Encrypt(Hex(kCtrCounter), Hex(kPlaintext));
  ASSERT_THAT(ct, IsOk());
  EXPECT_EQ(HexEncode(*ct), kCtrCiphertext);
  auto pt = ctr->Decrypt(Hex(kCtrCounter), Hex(kCtrCiphertext));
  ASSERT_THAT(pt, IsOk());
  EXPECT_EQ(HexEncode(pt->ExposeSecret()), kPlaintext);
  // A partial last block is just a shorter keystream.
  auto part =
      ctr->Encrypt(Hex(kCtrCounter), ByteView(Hex(kPlaintext)).first(21));
  ASSERT_THAT(part, IsOk());
  EXPECT_EQ(HexEncode(*part), std::string(kCtrCiphertext).substr(0, 42));
}

TEST(AesCtrTest, CounterCarriesAcrossAll128Bits) {
  // Starting at 2^64 - 1 in the low half, the second block's counter is
  // 1 || 0^64: the increment carries into the high half (ulCounterBits 128).
  auto ctr = AesCtr::Create(RandomSecret(16).value());
  ASSERT_THAT(ctr, IsOk());
  Bytes start = Hex("0000000000000000ffffffffffffffff");
  Bytes next = Hex("00000000000000010000000000000000");
  auto two = ctr->Encrypt(start, Bytes(32));
  auto second = ctr->Encrypt(next, Bytes(16));
  ASSERT_THAT(two, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(Bytes(two->begin() + 16, two->end()), *second);
}

TEST(AesCtrTest, RoundTripsAndRejectsBadSizes) {
  EXPECT_THAT(AesCtr::Create(RandomSecret(15).value()),
              StatusIs(Code::kInvalidArgument));
  auto ctr = AesCtr::Create(RandomSecret(24).value());
  ASSERT_THAT(ctr, IsOk());
  EXPECT_THAT(ctr->Encrypt(Bytes(8), Bytes(4)),
              StatusIs(Code::kInvalidArgument, HasSubstr("16 bytes")));
  const Bytes counter = RandomBytes(16).value();
  for (size_t n : {0u, 1u, 16u, 100u}) {
    const Bytes plain = RandomBytes(n).value();
    auto ct = ctr->Encrypt(counter, plain);
    ASSERT_THAT(ct, IsOk());
    EXPECT_EQ(ct->size(), n);
    auto back = ctr->Decrypt(counter, *ct);
    ASSERT_THAT(back, IsOk());
    EXPECT_EQ(Plain(*back), plain);
  }
}

}  // namespace
}  // namespace coffer::crypto
