// The FIPS-mode policy table, checked rule by rule in both modes.
#include "hsm/policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace coffer::hsm {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

KeyAttributes Key(KeyType type, uint32_t bits = 0) {
  KeyAttributes a;
  a.key_type = type;
  a.bits = bits;
  return a;
}

MechanismParams Mech(Mechanism m,
                     crypto::HashAlg hash = crypto::HashAlg::kSha256) {
  MechanismParams p;
  p.mechanism = m;
  p.hash = hash;
  return p;
}

TEST(PolicyTest, NonFipsAllowsEverything) {
  EXPECT_THAT(CheckKeyGeneration(Mode::kNonFips, KeyType::kEd25519, 0), IsOk());
  EXPECT_THAT(CheckKeyImport(Mode::kNonFips, KeyType::kRsa, 1024), IsOk());
  EXPECT_THAT(CheckMechanism(Mode::kNonFips, Mech(Mechanism::kRsaPkcs),
                             Key(KeyType::kRsa, 2048), KeyUse::kEncrypt),
              IsOk());
  EXPECT_THAT(CheckMechanism(Mode::kNonFips,
                             Mech(Mechanism::kEcdsa, crypto::HashAlg::kSha1),
                             Key(KeyType::kEcP256), KeyUse::kSign),
              IsOk());
}

TEST(PolicyTest, FipsRefusesEd25519Everywhere) {
  const auto ed = StatusIs(Code::kPermissionDenied,
                           "FIPS mode: Ed25519 is not an approved algorithm");
  EXPECT_THAT(CheckKeyGeneration(Mode::kFips, KeyType::kEd25519, 0), ed);
  EXPECT_THAT(CheckKeyImport(Mode::kFips, KeyType::kEd25519, 0), ed);
  EXPECT_THAT(CheckMechanism(Mode::kFips, Mech(Mechanism::kEddsa),
                             Key(KeyType::kEd25519), KeyUse::kVerify),
              ed);
  EXPECT_THAT(CheckKeyGeneration(Mode::kFips, KeyType::kEcP384, 0), IsOk());
}

TEST(PolicyTest, FipsNeedsRsa2048) {
  EXPECT_THAT(CheckKeyGeneration(Mode::kFips, KeyType::kRsa, 1024),
              StatusIs(Code::kPermissionDenied, HasSubstr("at least 2048")));
  EXPECT_THAT(CheckKeyImport(Mode::kFips, KeyType::kRsa, 2047),
              StatusIs(Code::kPermissionDenied));
  EXPECT_THAT(CheckKeyGeneration(Mode::kFips, KeyType::kRsa, 2048), IsOk());
}

TEST(PolicyTest, FipsAllowsPkcs1SignaturesButNotEncryptionOrWrapping) {
  const KeyAttributes rsa = Key(KeyType::kRsa, 3072);
  for (KeyUse use :
       {KeyUse::kEncrypt, KeyUse::kDecrypt, KeyUse::kWrap, KeyUse::kUnwrap}) {
    EXPECT_THAT(
        CheckMechanism(Mode::kFips, Mech(Mechanism::kRsaPkcs), rsa, use),
        StatusIs(Code::kPermissionDenied,
                 HasSubstr("PKCS#1 v1.5 encryption and key wrapping")));
  }
  EXPECT_THAT(CheckMechanism(Mode::kFips, Mech(Mechanism::kRsaPkcs), rsa,
                             KeyUse::kSign),
              IsOk());
  EXPECT_THAT(CheckMechanism(Mode::kFips, Mech(Mechanism::kRsaPkcsOaep), rsa,
                             KeyUse::kWrap),
              IsOk());
}

TEST(PolicyTest, FipsRefusesSha1SigningOnly) {
  for (Mechanism m :
       {Mechanism::kRsaPkcs, Mechanism::kRsaPkcsPss, Mechanism::kEcdsa}) {
    const KeyAttributes key =
        Key(m == Mechanism::kEcdsa ? KeyType::kEcP256 : KeyType::kRsa, 2048);
    EXPECT_THAT(CheckMechanism(Mode::kFips, Mech(m, crypto::HashAlg::kSha1),
                               key, KeyUse::kSign),
                StatusIs(Code::kPermissionDenied,
                         HasSubstr("SHA-1 is not approved for signature")));
    // Verifying legacy signatures stays allowed (SP 800-131A).
    EXPECT_THAT(CheckMechanism(Mode::kFips, Mech(m, crypto::HashAlg::kSha1),
                               key, KeyUse::kVerify),
                IsOk());
  }
  EXPECT_THAT(CheckMechanism(Mode::kFips,
                             Mech(Mechanism::kHmac, crypto::HashAlg::kSha1),
                             Key(KeyType::kGenericSecret, 256), KeyUse::kSign),
              IsOk());
}

TEST(PolicyTest, FipsRefusesShortGcmTags) {
  MechanismParams gcm = Mech(Mechanism::kAesGcm);
  gcm.tag_bits = 64;
  EXPECT_THAT(CheckMechanism(Mode::kFips, gcm, Key(KeyType::kAes, 256),
                             KeyUse::kEncrypt),
              StatusIs(Code::kPermissionDenied, HasSubstr("96 bits")));
  gcm.tag_bits = 96;
  EXPECT_THAT(CheckMechanism(Mode::kFips, gcm, Key(KeyType::kAes, 256),
                             KeyUse::kEncrypt),
              IsOk());
}

TEST(PolicyTest, EveryRuleIsListedAndNamesFipsMode) {
  const std::vector<std::string> rules = FipsRules();
  EXPECT_EQ(rules.size(), 5u);
  for (const std::string& rule : rules) {
    EXPECT_THAT(rule, ::testing::StartsWith("FIPS mode: "));
  }
}

}  // namespace
}  // namespace coffer::hsm
