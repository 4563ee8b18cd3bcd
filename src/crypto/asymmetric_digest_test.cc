// Signatures over a caller's digest (SignDigest/VerifyDigest) and legacy RSA
// PKCS#1 v1.5 encryption.
#include <set>
#include <string>
#include <vector>

#include "crypto/asymmetric.h"
#include "crypto/hash.h"
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

// One key of each kind for the whole suite: RSA generation is slow.
class DigestSignatureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new PrivateKey(PrivateKey::Generate(KeyAlgorithm::kRsa).value());
    p256_ = new PrivateKey(PrivateKey::Generate(KeyAlgorithm::kEcP256).value());
    p384_ = new PrivateKey(PrivateKey::Generate(KeyAlgorithm::kEcP384).value());
    ed_ = new PrivateKey(PrivateKey::Generate(KeyAlgorithm::kEd25519).value());
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete p256_;
    delete p384_;
    delete ed_;
  }
  static inline PrivateKey* rsa_ = nullptr;
  static inline PrivateKey* p256_ = nullptr;
  static inline PrivateKey* p384_ = nullptr;
  static inline PrivateKey* ed_ = nullptr;
};

// Prehashed and hashing forms are interchangeable: a signature made one way
// verifies the other way.
TEST_F(DigestSignatureTest, InteroperatesWithMessageSignatures) {
  const Bytes message = RandomBytes(333).value();
  struct Case {
    const PrivateKey* key;
    SignatureParams params;
  };
  const Case cases[] = {
      {rsa_, {SignatureAlgorithm::kRsaPkcs1v15, HashAlg::kSha256}},
      {rsa_, {SignatureAlgorithm::kRsaPkcs1v15, HashAlg::kSha512}},
      {rsa_, {SignatureAlgorithm::kRsaPss, HashAlg::kSha256}},
      {rsa_, {SignatureAlgorithm::kRsaPss, HashAlg::kSha384, 0}},
      {p256_, {SignatureAlgorithm::kEcdsaP1363, HashAlg::kSha256}},
      {p256_, {SignatureAlgorithm::kEcdsaDer, HashAlg::kSha384}},
      {p384_, {SignatureAlgorithm::kEcdsaP1363, HashAlg::kSha384}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.params.algorithm));
    const Bytes digest = Digest(c.params.hash, message).value();
    const PublicKey pub = c.key->public_key();
    auto from_digest = c.key->SignDigest(c.params, digest);
    ASSERT_THAT(from_digest, IsOk());
    EXPECT_THAT(pub.Verify(c.params, message, *from_digest), IsOk());
    EXPECT_THAT(pub.VerifyDigest(c.params, digest, *from_digest), IsOk());
    auto from_message = c.key->Sign(c.params, message);
    ASSERT_THAT(from_message, IsOk());
    EXPECT_THAT(pub.VerifyDigest(c.params, digest, *from_message), IsOk());
    Bytes other = digest;
    other[0] ^= 1;
    EXPECT_THAT(pub.VerifyDigest(c.params, other, *from_digest),
                StatusIs(Code::kDataLoss));
    Bytes bad = *from_digest;
    bad[bad.size() / 2] ^= 1;
    EXPECT_THAT(pub.VerifyDigest(c.params, digest, bad),
                StatusIs(Code::kDataLoss));
  }
}

TEST_F(DigestSignatureTest, Pkcs1v15DigestAndRawDigestInfoGiveTheSameBytes) {
  // PKCS#1 v1.5 signing is deterministic: the HSM-built DigestInfo, the
  // caller-built one (raw, CKM_RSA_PKCS) and the hashing form must agree.
  const std::string text = "the quick brown fox";
  const Bytes message(text.begin(), text.end());
  const SignatureParams pkcs1{SignatureAlgorithm::kRsaPkcs1v15,
                              HashAlg::kSha256};
  const SignatureParams raw{SignatureAlgorithm::kRsaPkcs1v15Raw};
  const Bytes digest = Digest(HashAlg::kSha256, message).value();
  // RFC 8017 §9.2 note 1: the DER prefix of a SHA-256 DigestInfo.
  Bytes digest_info =
      HexDecode("3031300d060960864801650304020105000420").value();
  digest_info.insert(digest_info.end(), digest.begin(), digest.end());

  auto a = rsa_->Sign(pkcs1, message);
  auto b = rsa_->SignDigest(pkcs1, digest);
  auto c = rsa_->SignDigest(raw, digest_info);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, *c);
  EXPECT_THAT(rsa_->public_key().VerifyDigest(raw, digest_info, *a), IsOk());
  EXPECT_THAT(rsa_->public_key().VerifyDigest(raw, digest, *a),
              StatusIs(Code::kDataLoss));
  // Raw input may be anything up to k - 11 bytes.
  EXPECT_THAT(rsa_->SignDigest(raw, Bytes(256 - 11, 7)), IsOk());
  EXPECT_THAT(rsa_->SignDigest(raw, Bytes(256 - 10, 7)),
              StatusIs(Code::kInvalidArgument, HasSubstr("245")));
  // Raw is only for caller digests.
  EXPECT_THAT(rsa_->Sign(raw, message),
              StatusIs(Code::kInvalidArgument, HasSubstr("SignDigest")));
}

TEST_F(DigestSignatureTest, RefusesWrongLengthsAndSchemes) {
  const SignatureParams ecdsa{SignatureAlgorithm::kEcdsaP1363,
                              HashAlg::kSha256};
  EXPECT_THAT(p256_->SignDigest(ecdsa, Bytes(31)),
              StatusIs(Code::kInvalidArgument, HasSubstr("32 bytes")));
  EXPECT_THAT(p256_->public_key().VerifyDigest(ecdsa, Bytes(48), Bytes(64)),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(ed_->SignDigest({SignatureAlgorithm::kEd25519}, Bytes(32)),
              StatusIs(Code::kInvalidArgument, HasSubstr("Ed25519ph")));
  EXPECT_THAT(rsa_->SignDigest(ecdsa, Bytes(32)),
              StatusIs(Code::kInvalidArgument, HasSubstr("does not match")));
  EXPECT_THAT(
      p256_->SignDigest({SignatureAlgorithm::kRsaPkcs1v15Raw}, Bytes(32)),
      StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(p256_->public_key().VerifyDigest(ecdsa, Bytes(32), Bytes(63)),
              StatusIs(Code::kDataLoss));
}

TEST_F(DigestSignatureTest, Pkcs1EncryptionRoundTripsAndFailsUniformly) {
  const PublicKey pub = rsa_->public_key();
  for (size_t n : {0u, 1u, 32u, 245u}) {
    const Bytes plain = RandomBytes(n).value();
    auto ct = pub.EncryptPkcs1(plain);
    ASSERT_THAT(ct, IsOk());
    EXPECT_EQ(ct->size(), 256u);
    auto back = rsa_->DecryptPkcs1(*ct);
    ASSERT_THAT(back, IsOk());
    EXPECT_EQ(Bytes(back->ExposeSecret().begin(), back->ExposeSecret().end()),
              plain);
  }
  // Randomised padding: two encryptions differ.
  EXPECT_NE(pub.EncryptPkcs1(Bytes(16)).value(),
            pub.EncryptPkcs1(Bytes(16)).value());
  EXPECT_THAT(pub.EncryptPkcs1(Bytes(246)),
              StatusIs(Code::kInvalidArgument, HasSubstr("245")));

  // Every failure reads the same: tampered, truncated, wrong key, garbage.
  const Bytes ct = pub.EncryptPkcs1(Bytes(16, 1)).value();
  Bytes tampered = ct;
  tampered[5] ^= 0x40;
  const PrivateKey other = PrivateKey::Generate(KeyAlgorithm::kRsa).value();
  std::vector<absl::StatusOr<SecretBytes>> results;
  results.push_back(rsa_->DecryptPkcs1(tampered));
  results.push_back(rsa_->DecryptPkcs1(Bytes(ct.begin(), ct.end() - 1)));
  results.push_back(other.DecryptPkcs1(ct));
  results.push_back(rsa_->DecryptPkcs1(Bytes(256, 0xff)));
  results.push_back(rsa_->DecryptPkcs1({}));
  std::set<std::string> messages;
  for (const absl::StatusOr<SecretBytes>& r : results) {
    ASSERT_THAT(r, StatusIs(Code::kDataLoss));
    messages.insert(std::string(r.status().message()));
  }
  EXPECT_EQ(messages.size(), 1u);
  EXPECT_THAT(p256_->public_key().EncryptPkcs1(Bytes(1)),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(p256_->DecryptPkcs1(Bytes(64)), StatusIs(Code::kInvalidArgument));
}

}  // namespace
}  // namespace coffer::crypto
