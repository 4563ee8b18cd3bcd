#include "crypto/asymmetric.h"

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

struct SchemeCase {
  KeyAlgorithm key;
  int rsa_bits;
  SignatureParams params;
  size_t fixed_sig_size;  // 0 when the size varies (DER)
};

class SignatureTest : public ::testing::TestWithParam<SchemeCase> {};

TEST_P(SignatureTest, SignsVerifiesAndRejectsChanges) {
  const SchemeCase& c = GetParam();
  auto key = PrivateKey::Generate(c.key, c.rsa_bits);
  ASSERT_THAT(key, IsOk());
  const Bytes message = RandomBytes(100).value();
  auto sig = key->Sign(c.params, message);
  ASSERT_THAT(sig, IsOk());
  if (c.fixed_sig_size != 0) {
    EXPECT_EQ(sig->size(), c.fixed_sig_size);
  }

  PublicKey pub = key->public_key();
  EXPECT_THAT(pub.Verify(c.params, message, *sig), IsOk());
  Bytes changed = message;
  changed[0] ^= 1;
  EXPECT_THAT(pub.Verify(c.params, changed, *sig), StatusIs(Code::kDataLoss));
  Bytes bad_sig = *sig;
  bad_sig.back() ^= 1;
  EXPECT_THAT(pub.Verify(c.params, message, bad_sig),
              StatusIs(Code::kDataLoss));
  EXPECT_THAT(pub.Verify(c.params, message, {}), StatusIs(Code::kDataLoss));

  // The public key survives a DER and a PEM round trip.
  auto der = pub.ToDer();
  ASSERT_THAT(der, IsOk());
  auto from_der = PublicKey::FromDer(*der);
  ASSERT_THAT(from_der, IsOk());
  EXPECT_THAT(from_der->Verify(c.params, message, *sig), IsOk());
  auto pem = pub.ToPem();
  ASSERT_THAT(pem, IsOk());
  EXPECT_THAT(*pem, HasSubstr("-----BEGIN PUBLIC KEY-----"));
  auto from_pem = PublicKey::FromPem(*pem);
  ASSERT_THAT(from_pem, IsOk());
  EXPECT_EQ(from_pem->algorithm(), c.key);

  // So does the private key, as PKCS#8.
  auto pkcs8 = key->ToPkcs8Der();
  ASSERT_THAT(pkcs8, IsOk());
  auto again = PrivateKey::FromPkcs8Der(*pkcs8);
  ASSERT_THAT(again, IsOk());
  auto sig2 = again->Sign(c.params, message);
  ASSERT_THAT(sig2, IsOk());
  EXPECT_THAT(pub.Verify(c.params, message, *sig2), IsOk());
}

INSTANTIATE_TEST_SUITE_P(
    Schemes, SignatureTest,
    ::testing::Values(
        SchemeCase{KeyAlgorithm::kRsa,
                   2048,
                   {SignatureAlgorithm::kRsaPkcs1v15, HashAlg::kSha256},
                   256},
        SchemeCase{KeyAlgorithm::kRsa,
                   3072,
                   {SignatureAlgorithm::kRsaPss, HashAlg::kSha384},
                   384},
        SchemeCase{KeyAlgorithm::kEcP256,
                   0,
                   {SignatureAlgorithm::kEcdsaDer, HashAlg::kSha256},
                   0},
        SchemeCase{KeyAlgorithm::kEcP256,
                   0,
                   {SignatureAlgorithm::kEcdsaP1363, HashAlg::kSha256},
                   64},
        SchemeCase{KeyAlgorithm::kEcP384,
                   0,
                   {SignatureAlgorithm::kEcdsaP1363, HashAlg::kSha384},
                   96},
        SchemeCase{
            KeyAlgorithm::kEd25519, 0, {SignatureAlgorithm::kEd25519}, 64}));

TEST(AsymmetricTest, SchemeMustMatchKey) {
  auto ec = PrivateKey::Generate(KeyAlgorithm::kEcP256);
  ASSERT_THAT(ec, IsOk());
  EXPECT_THAT(ec->Sign({SignatureAlgorithm::kRsaPss}, Bytes{1}),
              StatusIs(Code::kInvalidArgument, HasSubstr("does not match")));
}

TEST(AsymmetricTest, RsaSizesAreChecked) {
  EXPECT_THAT(PrivateKey::Generate(KeyAlgorithm::kRsa, 1024),
              StatusIs(Code::kInvalidArgument, HasSubstr("2048")));
  EXPECT_THAT(PrivateKey::Generate(KeyAlgorithm::kRsa, 8192),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(PrivateKey::Generate(KeyAlgorithm::kRsa, 2049),
              StatusIs(Code::kInvalidArgument));
}

TEST(AsymmetricTest, OaepRoundTripsWithLabelAndRejectsWrongLabel) {
  auto key = PrivateKey::Generate(KeyAlgorithm::kRsa, 2048);
  ASSERT_THAT(key, IsOk());
  const Bytes secret = RandomBytes(32).value();
  const Bytes label = {'l', 'b', 'l'};
  auto ct = key->public_key().EncryptOaep(HashAlg::kSha256, secret, label);
  ASSERT_THAT(ct, IsOk());
  EXPECT_EQ(ct->size(), 256u);
  auto back = key->DecryptOaep(HashAlg::kSha256, *ct, label);
  ASSERT_THAT(back, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(back->ExposeSecret(), secret));
  EXPECT_THAT(key->DecryptOaep(HashAlg::kSha256, *ct, {}),
              StatusIs(Code::kDataLoss));
  EXPECT_THAT(key->public_key().EncryptOaep(HashAlg::kSha256, Bytes(300)),
              StatusIs(Code::kInvalidArgument));
  auto ec = PrivateKey::Generate(KeyAlgorithm::kEcP256);
  EXPECT_THAT(ec->public_key().EncryptOaep(HashAlg::kSha256, secret),
              StatusIs(Code::kInvalidArgument));
}

TEST(AsymmetricTest, EcdhAgreesAndRefusesMixedCurves) {
  auto a = PrivateKey::Generate(KeyAlgorithm::kEcP384);
  auto b = PrivateKey::Generate(KeyAlgorithm::kEcP384);
  auto c = PrivateKey::Generate(KeyAlgorithm::kEcP256);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(c, IsOk());
  auto ab = a->DeriveEcdh(b->public_key());
  auto ba = b->DeriveEcdh(a->public_key());
  ASSERT_THAT(ab, IsOk());
  ASSERT_THAT(ba, IsOk());
  EXPECT_EQ(ab->size(), 48u);
  EXPECT_TRUE(ConstantTimeEquals(ab->ExposeSecret(), ba->ExposeSecret()));
  EXPECT_THAT(a->DeriveEcdh(c->public_key()),
              StatusIs(Code::kInvalidArgument, HasSubstr("curve")));
}

TEST(AsymmetricTest, MalformedKeysAreRejected) {
  EXPECT_THAT(PublicKey::FromDer(Bytes{0x30, 0x03, 0x02, 0x01, 0x00}),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(PublicKey::FromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n"),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(PrivateKey::FromPkcs8Der(SecretBytes::CopyOf(Bytes{1, 2, 3})),
              StatusIs(Code::kInvalidArgument));
  auto key = PrivateKey::Generate(KeyAlgorithm::kEd25519);
  ASSERT_THAT(key, IsOk());
  Bytes der = key->public_key().ToDer().value();
  der.push_back(0);  // trailing garbage
  EXPECT_THAT(PublicKey::FromDer(der), StatusIs(Code::kInvalidArgument));
}

TEST(AsymmetricTest, PemPrivateKeyImports) {
  static constexpr char kPem[] =
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
      "-----END PRIVATE KEY-----\n";
  auto key = PrivateKey::FromPem(SecretBytes::CopyOf(AsBytes(kPem)));
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->algorithm(), KeyAlgorithm::kEd25519);
}

}  // namespace
}  // namespace coffer::crypto
