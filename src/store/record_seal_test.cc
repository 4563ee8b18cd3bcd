// Pins the byte formats documented in docs/state-store.md.
#include "store/internal/record_seal.h"

#include <string>

#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/mac.h"
#include "crypto/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace coffer::store::internal {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

crypto::SecretBytes StorageKey() { return crypto::RandomSecret(32).value(); }

TEST(RecordAadTest, LayoutIsContextThenLengthPrefixedNamesThenCounters) {
  Bytes aad = RecordAad({"key", "k1", 0x0102, 0x0A0B0C});
  std::string expected = "coffer.store.record.v1";
  expected += std::string("\0\0\0\x03key", 7);
  expected += std::string("\0\0\0\x02k1", 6);
  expected += std::string("\0\0\0\0\0\0\x01\x02", 8);
  expected += std::string("\0\0\0\0\0\x0A\x0B\x0C", 8);
  EXPECT_EQ(std::string(aad.begin(), aad.end()), expected);
  // The length prefixes keep ("ab", "c") apart from ("a", "bc").
  EXPECT_NE(RecordAad({"ab", "c", 1, 1}), RecordAad({"a", "bc", 1, 1}));
}

TEST(RecordSealerTest, RejectsKeysThatAreNot32Bytes) {
  EXPECT_THAT(RecordSealer::Create(crypto::SecretBytes(16)),
              StatusIs(Code::kInvalidArgument, HasSubstr("32")));
}

TEST(RecordSealerTest, RecordsUseTheDerivedKeyAndTheirAad) {
  crypto::SecretBytes key = StorageKey();
  auto sealer = RecordSealer::Create(key);
  ASSERT_THAT(sealer, IsOk());
  const RecordRef ref{"user", "alice", 3, 7};
  auto sealed = sealer->SealRecord(ref, AsBytes("secret payload"));
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(sealed->size(), 12 + 14 + 16);

  // Recompute from the documented derivation, independently of the sealer.
  auto record_key = crypto::KbkdfCounter(key, AsBytes("coffer.store"),
                                         AsBytes("record-key.v1"), 32);
  ASSERT_THAT(record_key, IsOk());
  auto gcm = crypto::AesGcm::Create(*std::move(record_key));
  ASSERT_THAT(gcm, IsOk());
  auto plain = gcm->Open(*sealed, RecordAad(ref));
  ASSERT_THAT(plain, IsOk());
  EXPECT_TRUE(crypto::ConstantTimeEquals(plain->ExposeSecret(),
                                         AsBytes("secret payload")));

  auto opened = sealer->OpenRecord(ref, *sealed);
  ASSERT_THAT(opened, IsOk());
  for (const RecordRef& other :
       {RecordRef{"user", "alice", 2, 7}, RecordRef{"user", "alice", 3, 6},
        RecordRef{"user", "bob", 3, 7}, RecordRef{"key", "alice", 3, 7}}) {
    EXPECT_THAT(
        sealer->OpenRecord(other, *sealed),
        StatusIs(Code::kDataLoss, AllOf(HasSubstr(std::string(other.kind)),
                                        HasSubstr(std::string(other.id)))));
  }
  EXPECT_THAT(sealer->OpenRecord(ref, Bytes(5)), StatusIs(Code::kDataLoss));
}

TEST(RecordSealerTest, SetElementIsHmacUnderTheDerivedSetKey) {
  crypto::SecretBytes key = StorageKey();
  auto sealer = RecordSealer::Create(key);
  ASSERT_THAT(sealer, IsOk());
  const RecordRef ref{"cert", "root", 1, 1};
  auto element = sealer->SetElement(ref);
  ASSERT_THAT(element, IsOk());
  auto set_key = crypto::KbkdfCounter(key, AsBytes("coffer.store"),
                                      AsBytes("set-key.v1"), 32);
  ASSERT_THAT(set_key, IsOk());
  auto mac =
      crypto::Hmac::Create(crypto::HashAlg::kSha256, *std::move(set_key));
  ASSERT_THAT(mac, IsOk());
  auto tag = mac->Compute(RecordAad(ref));
  ASSERT_THAT(tag, IsOk());
  EXPECT_EQ(Bytes(element->begin(), element->end()), *tag);
}

TEST(RecordSealerTest, ManifestRoundTripsAndDetectsTampering) {
  auto sealer = RecordSealer::Create(StorageKey());
  ASSERT_THAT(sealer, IsOk());
  Manifest m;
  m.generation = 42;
  m.record_count = 7;
  m.set_digest.fill(0x5A);
  auto sealed = sealer->SealManifest(m);
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(sealed->size(), 12 + kManifestSize + 16);
  auto back = sealer->OpenManifest(*sealed);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->generation, 42u);
  EXPECT_EQ(back->record_count, 7u);
  EXPECT_EQ(back->set_digest, m.set_digest);
  (*sealed)[20] ^= 1;
  EXPECT_THAT(sealer->OpenManifest(*sealed),
              StatusIs(Code::kDataLoss, HasSubstr("manifest")));
  auto other = RecordSealer::Create(StorageKey());
  ASSERT_THAT(other, IsOk());
  (*sealed)[20] ^= 1;
  EXPECT_THAT(other->OpenManifest(*sealed), StatusIs(Code::kDataLoss));
}

}  // namespace
}  // namespace coffer::store::internal
