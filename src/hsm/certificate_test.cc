// Certificate objects (CKO_CERTIFICATE, X.509): import, find, attributes,
// the match with an HSM-generated key pair, ownership and trust rules,
// refusal by every operation, persistence and session lifetime.
#include <ctime>

#include "crypto/x509.h"
#include "hsm/key_test_fixture.h"
#include "hsm/records.h"

namespace coffer::hsm {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Code = absl::StatusCode;

constexpr char kNotAKey[] = "is a certificate, not a key";

crypto::CertificateSpec LeafSpec(const std::string& common_name) {
  crypto::CertificateSpec spec;
  spec.common_name = common_name;
  spec.usage = crypto::CertificateUsage::kSigning;
  spec.not_before_unix = static_cast<int64_t>(std::time(nullptr)) - 60;
  spec.not_after_unix = spec.not_before_unix + 86400 * 365;
  return spec;
}

class CertificateTest : public KeyTest {
 protected:
  void SetUp() override {
    Start(Mode::kFips);
    if (HasFatalFailure()) return;
    auto leaf = provision::IssueLeaf(*customer_ca_, "signer",
                                     crypto::CertificateUsage::kSigning);
    ASSERT_THAT(leaf, IsOk());
    leaf_der_ = leaf->cert.ToDer();
    leaf_public_der_ = leaf->key.public_key().ToDer().value();
  }

  ObjectHandle Import(const Caller& who, const Bytes& der,
                      const std::string& label = "cert", Bytes id = {7},
                      bool token = true) {
    auto h = keys().ImportCertificate(who, der, label, id, token);
    EXPECT_THAT(h, IsOk());
    return h.value_or(0);
  }

  std::vector<ObjectHandle> Found(const Caller& who, const KeyFilter& f) {
    std::vector<ObjectHandle> out;
    auto found = keys().Find(who, f);
    EXPECT_THAT(found, IsOk());
    if (found.ok()) {
      for (const KeyInfo& k : *found) out.push_back(k.handle);
    }
    return out;
  }

  // A certificate for the HSM key pair's public key, issued by the test CA.
  Bytes CertFor(const KeyPairHandles& pair, const std::string& name) {
    auto cert =
        crypto::Issue(customer_ca_->key, customer_ca_->cert,
                      PublicOf(alice_, pair.public_key), LeafSpec(name));
    EXPECT_THAT(cert, IsOk());
    return cert.ok() ? cert->ToDer() : Bytes();
  }

  Bytes leaf_der_, leaf_public_der_;
};

TEST_F(CertificateTest, ImportsFindsAndDescribesACertificate) {
  const ObjectHandle cert = Import(alice_, leaf_der_, "signer cert", {1, 2});
  auto info = keys().GetAttributes(alice_, cert);
  ASSERT_THAT(info, IsOk());
  const KeyAttributes& a = info->attributes;
  EXPECT_EQ(a.object_class, ObjectClass::kCertificate);
  EXPECT_EQ(a.key_type, KeyType::kEcP256);  // the subject key's type
  EXPECT_EQ(a.bits, 256u);
  EXPECT_EQ(a.label, "signer cert");
  EXPECT_EQ(a.id, (Bytes{1, 2}));
  EXPECT_EQ(a.owner, "alice");
  EXPECT_TRUE(a.token && a.extractable);
  EXPECT_FALSE(a.sensitive || a.encrypt || a.decrypt || a.sign || a.verify ||
               a.wrap || a.unwrap || a.derive || a.trusted ||
               a.wrap_with_trusted || a.local || a.always_sensitive ||
               a.never_extractable);
  EXPECT_EQ(info->certificate_der, leaf_der_);
  EXPECT_EQ(info->public_der, leaf_public_der_);

  const ObjectHandle key = NewAes(alice_);
  KeyFilter by_class;
  by_class.object_class = ObjectClass::kCertificate;
  EXPECT_THAT(Found(alice_, by_class), ElementsAre(cert));
  KeyFilter by_label;
  by_label.label = "signer cert";
  EXPECT_THAT(Found(alice_, by_label), ElementsAre(cert));
  KeyFilter by_id;
  by_id.id = Bytes{1, 2};
  EXPECT_THAT(Found(alice_, by_id), ElementsAre(cert));
  // Certificates have no CKA_KEY_TYPE: a key type filter finds keys only.
  KeyFilter by_type;
  by_type.key_type = KeyType::kEcP256;
  EXPECT_THAT(Found(alice_, by_type), IsEmpty());
  by_type.key_type = KeyType::kAes;
  EXPECT_THAT(Found(alice_, by_type), ElementsAre(key));
  // Keys carry no certificate.
  EXPECT_THAT(keys().GetAttributes(alice_, key)->certificate_der, IsEmpty());
  // Visibility as for keys: the owner and admins, not other CUs.
  EXPECT_THAT(Found(admin_, by_class), ElementsAre(cert));
  EXPECT_THAT(Found(bob_, by_class), IsEmpty());
  EXPECT_THAT(keys().GetAttributes(bob_, cert),
              StatusIs(Code::kPermissionDenied));
  EXPECT_THAT(keys().Find(sync_, by_class), StatusIs(Code::kPermissionDenied));
}

TEST_F(CertificateTest, PublicDerMatchesTheHsmGeneratedKeyPair) {
  for (const KeyTemplate& spec :
       {Pair(KeyType::kEcP256), Pair(KeyType::kEcP384),
        Pair(KeyType::kRsa, 2048)}) {
    const KeyPairHandles pair = NewPair(alice_, spec);
    const Bytes der = CertFor(pair, "hsm key");
    const ObjectHandle cert = Import(alice_, der);
    auto cert_info = keys().GetAttributes(alice_, cert);
    auto pub_info = keys().GetAttributes(alice_, pair.public_key);
    auto priv_info = keys().GetAttributes(alice_, pair.private_key);
    ASSERT_THAT(cert_info, IsOk());
    ASSERT_THAT(pub_info, IsOk());
    ASSERT_THAT(priv_info, IsOk());
    EXPECT_FALSE(cert_info->public_der.empty());
    EXPECT_EQ(cert_info->public_der, pub_info->public_der);
    EXPECT_EQ(cert_info->public_der, priv_info->public_der);
    EXPECT_EQ(cert_info->certificate_der, der);
    EXPECT_EQ(cert_info->attributes.key_type, spec.key_type);
    EXPECT_EQ(cert_info->attributes.bits, pub_info->attributes.bits);
  }
  // A self-signed certificate, and an Ed25519 subject key: storing a
  // certificate uses no algorithm, so FIPS mode stores it too.
  auto ed = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEd25519);
  ASSERT_THAT(ed, IsOk());
  auto self_signed = crypto::SelfSign(*ed, LeafSpec("ed25519"));
  ASSERT_THAT(self_signed, IsOk());
  const ObjectHandle ed_cert = Import(alice_, self_signed->ToDer());
  auto info = keys().GetAttributes(alice_, ed_cert);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->attributes.key_type, KeyType::kEd25519);
  EXPECT_EQ(info->public_der, ed->public_key().ToDer().value());
}

TEST_F(CertificateTest, OnlyCryptoUsersImport) {
  EXPECT_THAT(keys().ImportCertificate(admin_, leaf_der_, "x", {}, true),
              StatusIs(Code::kPermissionDenied,
                       HasSubstr("only crypto users may import certificates")));
  EXPECT_THAT(keys().ImportCertificate(sync_, leaf_der_, "x", {}, true),
              StatusIs(Code::kPermissionDenied));
  EXPECT_EQ(hsm_->Info().keys, 0u);
}

TEST_F(CertificateTest, MalformedDerIsRefused) {
  Bytes truncated(leaf_der_.begin(), leaf_der_.end() - 10);
  Bytes trailing = leaf_der_;
  trailing.push_back(0);
  Bytes corrupted = leaf_der_;
  corrupted[0] ^= 0xff;
  const std::string pem = crypto::Certificate::FromDer(leaf_der_)->ToPem();
  const Bytes pem_bytes(pem.begin(), pem.end());
  for (const Bytes& bad : {Bytes(), Bytes{0x30, 0x00}, truncated, trailing,
                           corrupted, pem_bytes, leaf_public_der_}) {
    EXPECT_THAT(keys().ImportCertificate(alice_, bad, "bad", {}, true),
                StatusIs(Code::kInvalidArgument,
                         HasSubstr("not an X.509 certificate")));
  }
  const Bytes huge(kMaxCertificateSize + 1, 0x30);
  EXPECT_THAT(keys().ImportCertificate(alice_, huge, "bad", {}, true),
              StatusIs(Code::kInvalidArgument, HasSubstr("at most")));
  EXPECT_EQ(hsm_->Info().keys, 0u);  // refusals created nothing
}

TEST_F(CertificateTest, OnlyTheOwnerManagesAndSharingWorksAsForKeys) {
  const ObjectHandle cert = Import(alice_, leaf_der_);
  EXPECT_THAT(keys().Destroy(bob_, cert), StatusIs(Code::kPermissionDenied));
  EXPECT_THAT(keys().Destroy(admin_, cert), StatusIs(Code::kPermissionDenied));
  ASSERT_THAT(keys().Share(alice_, cert, "bob"), IsOk());
  auto shared = keys().GetAttributes(bob_, cert);
  ASSERT_THAT(shared, IsOk());
  EXPECT_EQ(shared->certificate_der, leaf_der_);
  EXPECT_THAT(shared->attributes.shared_with, ElementsAre("bob"));
  // Shared is not owned: bob may read it, not change, share or destroy it.
  AttributeChange label;
  label.label = "mine now";
  EXPECT_THAT(keys().SetAttribute(bob_, cert, label),
              StatusIs(Code::kPermissionDenied, HasSubstr("only the owner")));
  EXPECT_THAT(keys().Share(bob_, cert, "carol"),
              StatusIs(Code::kPermissionDenied));
  EXPECT_THAT(
      keys().Destroy(bob_, cert),
      StatusIs(Code::kPermissionDenied, HasSubstr("only the owner of key")));
  ASSERT_THAT(keys().Unshare(alice_, cert, "bob"), IsOk());
  EXPECT_THAT(keys().GetAttributes(bob_, cert),
              StatusIs(Code::kPermissionDenied));
  ASSERT_THAT(keys().Destroy(alice_, cert), IsOk());
  EXPECT_THAT(keys().GetAttributes(alice_, cert), StatusIs(Code::kNotFound));
  EXPECT_EQ(hsm_->Info().keys, 0u);
}

TEST_F(CertificateTest, AttributeRules) {
  const ObjectHandle cert = Import(alice_, leaf_der_);
  AttributeChange trusted;
  trusted.trusted = true;
  EXPECT_THAT(keys().SetAttribute(alice_, cert, trusted),
              StatusIs(Code::kPermissionDenied,
                       HasSubstr("only an admin may set CKA_TRUSTED")));
  ASSERT_THAT(keys().SetAttribute(admin_, cert, trusted), IsOk());
  EXPECT_TRUE(keys().GetAttributes(alice_, cert)->attributes.trusted);

  AttributeChange label;
  label.label = "renamed";
  EXPECT_THAT(keys().SetAttribute(admin_, cert, label),
              StatusIs(Code::kPermissionDenied));
  ASSERT_THAT(keys().SetAttribute(alice_, cert, label), IsOk());
  AttributeChange id;
  id.id = Bytes{9};
  ASSERT_THAT(keys().SetAttribute(alice_, cert, id), IsOk());
  auto info = keys().GetAttributes(alice_, cert);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->attributes.label, "renamed");
  EXPECT_EQ(info->attributes.id, Bytes{9});

  // No key attributes on a certificate, even ones that would be no-ops.
  std::vector<AttributeChange> refused(5);
  refused[0].sign = true;
  refused[1].verify = false;
  refused[2].sensitive = true;
  refused[3].extractable = false;
  refused[4].wrap_with_trusted = true;
  for (const AttributeChange& change : refused) {
    EXPECT_THAT(keys().SetAttribute(alice_, cert, change),
                StatusIs(Code::kInvalidArgument,
                         HasSubstr("certificates take only CKA_LABEL")));
  }
  info = keys().GetAttributes(alice_, cert);
  ASSERT_THAT(info, IsOk());
  EXPECT_FALSE(info->attributes.sign || info->attributes.sensitive);
  EXPECT_TRUE(info->attributes.extractable);
}

TEST_F(CertificateTest, EveryOperationRefusesACertificate) {
  const KeyPairHandles rsa = NewPair(alice_, Pair(KeyType::kRsa, 2048));
  const ObjectHandle cert = Import(alice_, CertFor(rsa, "rsa"));
  KeyTemplate wrapper = Aes();
  wrapper.wrap = true;
  const ObjectHandle aes = NewAes(alice_, wrapper);
  const MechanismParams pss = Mech(Mechanism::kRsaPkcsPss);
  const MechanismParams oaep = Mech(Mechanism::kRsaPkcsOaep);
  const auto refused = StatusIs(Code::kInvalidArgument, HasSubstr(kNotAKey));
  EXPECT_THAT(keys().Sign(alice_, cert, pss, AsBytes("x")), refused);
  EXPECT_THAT(keys().Verify(alice_, cert, pss, AsBytes("x"), AsBytes("sig")),
              refused);
  EXPECT_THAT(keys().Encrypt(alice_, cert, oaep, AsBytes("x")), refused);
  EXPECT_THAT(keys().Decrypt(alice_, cert, oaep, AsBytes("x")), refused);
  // Neither as the wrapping key nor as the key wrapped out.
  EXPECT_THAT(keys().Wrap(alice_, cert, aes, oaep), refused);
  EXPECT_THAT(keys().Wrap(alice_, aes, cert, Mech(Mechanism::kAesKeyWrapPad)),
              refused);
  EXPECT_THAT(keys().Unwrap(alice_, cert, oaep, AsBytes("wrapped"), Aes()),
              refused);
  EXPECT_THAT(keys().DeriveEcdh(alice_, cert, {}, Aes()), refused);
  EXPECT_EQ(hsm_->Info().keys, 4u);  // refusals created nothing
}

TEST_F(CertificateTest, TokenCertificatesSurviveRestart) {
  const ObjectHandle cert = Import(alice_, leaf_der_, "kept", {3});
  ASSERT_THAT(keys().Share(alice_, cert, "bob"), IsOk());
  AttributeChange trusted;
  trusted.trusted = true;
  ASSERT_THAT(keys().SetAttribute(admin_, cert, trusted), IsOk());
  Restart();
  if (HasFatalFailure()) return;
  auto info = keys().GetAttributes(bob_, cert);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->attributes.object_class, ObjectClass::kCertificate);
  EXPECT_EQ(info->attributes.label, "kept");
  EXPECT_EQ(info->attributes.id, Bytes{3});
  EXPECT_TRUE(info->attributes.trusted);
  EXPECT_EQ(info->certificate_der, leaf_der_);
  EXPECT_EQ(info->public_der, leaf_public_der_);
  ASSERT_THAT(keys().Destroy(alice_, cert), IsOk());
  Restart();
  if (HasFatalFailure()) return;
  EXPECT_THAT(keys().GetAttributes(alice_, cert), StatusIs(Code::kNotFound));
}

TEST_F(CertificateTest, SessionCertificatesLiveInTheirSession) {
  auto token = hsm_->Login("alice", Secret("alice-pw-123"));
  ASSERT_THAT(token, IsOk());
  const Caller session = *hsm_->Authenticate(*token);
  const ObjectHandle cert = Import(session, leaf_der_, "temp", {}, false);
  EXPECT_EQ(hsm_->Info().keys, 0u);  // nothing persisted
  auto info = keys().GetAttributes(session, cert);
  ASSERT_THAT(info, IsOk());
  EXPECT_FALSE(info->attributes.token);
  EXPECT_EQ(info->certificate_der, leaf_der_);
  EXPECT_THAT(keys().Share(session, cert, "bob"),
              StatusIs(Code::kFailedPrecondition, HasSubstr("session object")));
  // Other sessions, even the same user's, do not see it.
  EXPECT_THAT(keys().GetAttributes(alice_, cert), StatusIs(Code::kNotFound));
  KeyFilter certs;
  certs.object_class = ObjectClass::kCertificate;
  EXPECT_THAT(Found(session, certs), ElementsAre(cert));
  EXPECT_THAT(Found(alice_, certs), IsEmpty());

  ASSERT_THAT(hsm_->Logout(*token), IsOk());
  const Caller again = Login(*hsm_, "alice", "alice-pw-123");
  EXPECT_THAT(Found(again, certs), IsEmpty());
  EXPECT_THAT(keys().GetAttributes(again, cert), StatusIs(Code::kNotFound));
}

TEST(CertificateRecordTest, RoundTripsAndNeedsItsDer) {
  KeyObject k;
  k.handle = 42;
  k.attributes.object_class = ObjectClass::kCertificate;
  k.attributes.key_type = KeyType::kRsa;
  k.attributes.bits = 2048;
  k.attributes.label = "cert";
  k.attributes.sensitive = false;
  k.attributes.extractable = true;
  k.attributes.trusted = true;
  k.attributes.owner = "alice";
  k.public_der = {1, 2, 3};
  k.certificate_der = {4, 5, 6, 7};
  auto back = DecodeKey(Encode(k));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->attributes.object_class, ObjectClass::kCertificate);
  EXPECT_EQ(back->certificate_der, k.certificate_der);
  EXPECT_EQ(back->public_der, k.public_der);
  EXPECT_TRUE(back->attributes.trusted);
  EXPECT_FALSE(back->attributes.sensitive);

  k.certificate_der.clear();
  EXPECT_THAT(DecodeKey(Encode(k)),
              StatusIs(Code::kInvalidArgument, HasSubstr("certificate")));
  k.attributes.object_class = ObjectClass::kPublicKey;
  k.certificate_der = {4};
  EXPECT_THAT(DecodeKey(Encode(k)), StatusIs(Code::kInvalidArgument));
  k.certificate_der.clear();
  EXPECT_THAT(DecodeKey(Encode(k)), IsOk());
}

}  // namespace
}  // namespace coffer::hsm
