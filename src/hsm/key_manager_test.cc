// Key generation and every mechanism, in FIPS and non-FIPS mode: round
// trips inside the HSM, and signatures checked outside it with the crypto
// module and the key's public_der.
#include <set>

#include "crypto/hash.h"
#include "crypto/key_wrap.h"
#include "crypto/random.h"
#include "hsm/key_test_fixture.h"

namespace coffer::hsm {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;
using crypto::HashAlg;

class KeyModeTest : public KeyTest, public ::testing::WithParamInterface<Mode> {
 protected:
  void SetUp() override { Start(GetParam()); }
  bool fips() const { return GetParam() == Mode::kFips; }
};

INSTANTIATE_TEST_SUITE_P(Modes, KeyModeTest,
                         ::testing::Values(Mode::kFips, Mode::kNonFips),
                         [](const ::testing::TestParamInfo<Mode>& p) {
                           return p.param == Mode::kFips ? "Fips" : "NonFips";
                         });

TEST_P(KeyModeTest, GeneratesEverySecretKeySize) {
  for (uint32_t bits : {128u, 192u, 256u}) {
    ObjectHandle h = NewAes(alice_, Aes(bits));
    auto info = keys().GetAttributes(alice_, h);
    ASSERT_THAT(info, IsOk());
    const KeyAttributes& a = info->attributes;
    EXPECT_EQ(a.object_class, ObjectClass::kSecretKey);
    EXPECT_EQ(a.bits, bits);
    EXPECT_EQ(a.owner, "alice");
    EXPECT_TRUE(a.encrypt && a.decrypt && a.sensitive && a.local &&
                a.always_sensitive && a.never_extractable);
    EXPECT_FALSE(a.extractable || a.wrap || a.unwrap || a.sign);
    EXPECT_NE(h, 0u);
    EXPECT_LT(h, uint64_t{1} << 62);
  }
  KeyTemplate generic = Aes(64);
  generic.key_type = KeyType::kGenericSecret;
  EXPECT_THAT(keys().GenerateSecretKey(alice_, generic), IsOk());
  generic.bits = 4096;
  auto big = keys().GenerateSecretKey(alice_, generic);
  ASSERT_THAT(big, IsOk());
  EXPECT_TRUE(keys().GetAttributes(alice_, *big)->attributes.sign);
  for (uint32_t bad : {56u, 4104u, 100u}) {
    generic.bits = bad;
    EXPECT_THAT(keys().GenerateSecretKey(alice_, generic),
                StatusIs(Code::kInvalidArgument, HasSubstr("64 to 4096")));
  }
  EXPECT_THAT(keys().GenerateSecretKey(alice_, Aes(512)),
              StatusIs(Code::kInvalidArgument, HasSubstr("128, 192 or 256")));
  EXPECT_THAT(keys().GenerateSecretKey(alice_, Pair(KeyType::kRsa, 2048)),
              StatusIs(Code::kInvalidArgument, HasSubstr("GenerateKeyPair")));
  EXPECT_THAT(keys().GenerateKeyPair(alice_, Aes()),
              StatusIs(Code::kInvalidArgument, HasSubstr("GenerateSecretKey")));
}

TEST_P(KeyModeTest, GeneratesEveryKeyPairType) {
  struct Case {
    KeyType type;
    uint32_t bits;
    crypto::KeyAlgorithm algorithm;
  };
  std::vector<Case> cases = {
      {KeyType::kRsa, 2048, crypto::KeyAlgorithm::kRsa},
      {KeyType::kRsa, 3072, crypto::KeyAlgorithm::kRsa},
      {KeyType::kEcP256, 0, crypto::KeyAlgorithm::kEcP256},
      {KeyType::kEcP384, 0, crypto::KeyAlgorithm::kEcP384},
  };
  if (!fips()) {
    cases.push_back({KeyType::kEd25519, 0, crypto::KeyAlgorithm::kEd25519});
    cases.push_back({KeyType::kRsa, 4096, crypto::KeyAlgorithm::kRsa});
  }
  std::set<ObjectHandle> handles;
  for (const Case& c : cases) {
    KeyPairHandles pair = NewPair(alice_, Pair(c.type, c.bits));
    auto pub = keys().GetAttributes(alice_, pair.public_key);
    auto priv = keys().GetAttributes(alice_, pair.private_key);
    ASSERT_THAT(pub, IsOk());
    ASSERT_THAT(priv, IsOk());
    EXPECT_EQ(pub->attributes.object_class, ObjectClass::kPublicKey);
    EXPECT_EQ(priv->attributes.object_class, ObjectClass::kPrivateKey);
    EXPECT_TRUE(pub->attributes.verify);
    EXPECT_FALSE(pub->attributes.sign || pub->attributes.sensitive);
    EXPECT_TRUE(priv->attributes.sign && priv->attributes.sensitive);
    EXPECT_FALSE(priv->attributes.verify || priv->attributes.extractable);
    EXPECT_EQ(pub->public_der, priv->public_der);
    auto key = crypto::PublicKey::FromDer(pub->public_der);
    ASSERT_THAT(key, IsOk());
    EXPECT_EQ(key->algorithm(), c.algorithm);
    if (c.bits != 0) {
      EXPECT_EQ(pub->attributes.bits, c.bits);
    }
    EXPECT_EQ(priv->attributes.bits, pub->attributes.bits);
    handles.insert(pair.public_key);
    handles.insert(pair.private_key);
  }
  EXPECT_EQ(handles.size(), 2 * cases.size());  // all distinct
  EXPECT_THAT(keys().GenerateKeyPair(alice_, Pair(KeyType::kRsa, 0)),
              StatusIs(Code::kInvalidArgument, HasSubstr("modulus size")));
  if (fips()) {
    EXPECT_THAT(keys().GenerateKeyPair(alice_, Pair(KeyType::kEd25519)),
                StatusIs(Code::kPermissionDenied,
                         "FIPS mode: Ed25519 is not an approved algorithm"));
    EXPECT_THAT(keys().GenerateKeyPair(alice_, Pair(KeyType::kRsa, 1024)),
                StatusIs(Code::kPermissionDenied,
                         HasSubstr("FIPS mode: RSA keys must have at least")));
  } else {
    EXPECT_THAT(keys().GenerateKeyPair(alice_, Pair(KeyType::kRsa, 1024)),
                StatusIs(Code::kInvalidArgument));
  }
}

TEST_P(KeyModeTest, SignsAndVerifiesWithEveryMechanism) {
  const Bytes message = crypto::RandomBytes(200).value();
  const KeyPairHandles rsa = NewPair(alice_, Pair(KeyType::kRsa, 2048));
  const KeyPairHandles p256 = NewPair(alice_, Pair(KeyType::kEcP256));
  const KeyPairHandles p384 = NewPair(alice_, Pair(KeyType::kEcP384));
  struct Case {
    KeyPairHandles key;
    Mechanism mechanism;
    HashAlg hash;
    crypto::SignatureAlgorithm algorithm;
    size_t fixed_size;  // 0 if it varies
  };
  std::vector<Case> cases = {
      {rsa, Mechanism::kRsaPkcs, HashAlg::kSha256,
       crypto::SignatureAlgorithm::kRsaPkcs1v15, 256},
      {rsa, Mechanism::kRsaPkcs, HashAlg::kSha512,
       crypto::SignatureAlgorithm::kRsaPkcs1v15, 256},
      {rsa, Mechanism::kRsaPkcsPss, HashAlg::kSha384,
       crypto::SignatureAlgorithm::kRsaPss, 256},
      {p256, Mechanism::kEcdsa, HashAlg::kSha256,
       crypto::SignatureAlgorithm::kEcdsaP1363, 64},
      {p384, Mechanism::kEcdsa, HashAlg::kSha384,
       crypto::SignatureAlgorithm::kEcdsaP1363, 96},
  };
  if (!fips()) {
    cases.push_back({NewPair(alice_, Pair(KeyType::kEd25519)),
                     Mechanism::kEddsa, HashAlg::kSha256,
                     crypto::SignatureAlgorithm::kEd25519, 64});
  }
  for (const Case& c : cases) {
    for (bool prehashed : {false, true}) {
      if (prehashed && c.mechanism == Mechanism::kEddsa) continue;
      SCOPED_TRACE(::testing::Message() << static_cast<int>(c.mechanism)
                                        << " prehashed=" << prehashed);
      MechanismParams mech = Mech(c.mechanism, c.hash);
      mech.prehashed = prehashed;
      const Bytes input =
          prehashed ? crypto::Digest(c.hash, message).value() : message;
      auto sig = keys().Sign(alice_, c.key.private_key, mech, input);
      ASSERT_THAT(sig, IsOk());
      if (c.fixed_size != 0) {
        EXPECT_EQ(sig->size(), c.fixed_size);
      }
      EXPECT_THAT(keys().Verify(alice_, c.key.public_key, mech, input, *sig),
                  IsOk());
      // Outside the HSM, always over the whole message.
      const crypto::SignatureParams params{c.algorithm, c.hash};
      EXPECT_THAT(
          PublicOf(alice_, c.key.public_key).Verify(params, message, *sig),
          IsOk());
      Bytes bad = *sig;
      bad[bad.size() / 2] ^= 1;
      EXPECT_THAT(keys().Verify(alice_, c.key.public_key, mech, input, bad),
                  StatusIs(Code::kDataLoss));
    }
  }
  // Mechanisms must fit the key and the half.
  EXPECT_THAT(
      keys().Sign(alice_, rsa.private_key, Mech(Mechanism::kEcdsa), message),
      StatusIs(Code::kInvalidArgument, HasSubstr("CKM_ECDSA")));
  MechanismParams ecdsa = Mech(Mechanism::kEcdsa);
  ecdsa.prehashed = true;
  EXPECT_THAT(keys().Sign(alice_, p256.private_key, ecdsa, Bytes(20)),
              StatusIs(Code::kInvalidArgument, HasSubstr("32 bytes")));
}

TEST_P(KeyModeTest, HmacOnGenericSecretKeys) {
  KeyTemplate t = Aes(256);
  t.key_type = KeyType::kGenericSecret;
  const ObjectHandle key = *keys().GenerateSecretKey(alice_, t);
  const Bytes data = crypto::RandomBytes(77).value();
  for (HashAlg hash : {HashAlg::kSha1, HashAlg::kSha256, HashAlg::kSha512}) {
    const MechanismParams mech = Mech(Mechanism::kHmac, hash);
    auto tag = keys().Sign(alice_, key, mech, data);
    ASSERT_THAT(tag, IsOk());
    EXPECT_EQ(tag->size(), crypto::HashSize(hash));
    EXPECT_THAT(keys().Verify(alice_, key, mech, data, *tag), IsOk());
    Bytes bad = *tag;
    bad[0] ^= 1;
    EXPECT_THAT(keys().Verify(alice_, key, mech, data, bad),
                StatusIs(Code::kDataLoss));
  }
  EXPECT_THAT(keys().Sign(alice_, NewAes(alice_), Mech(Mechanism::kHmac), data),
              StatusIs(Code::kPermissionDenied, HasSubstr("CKA_SIGN")));
}

TEST_P(KeyModeTest, SymmetricEncryptionRoundTrips) {
  const ObjectHandle key = NewAes(alice_);
  const Bytes plain = crypto::RandomBytes(1000).value();
  MechanismParams gcm = Mech(Mechanism::kAesGcm);
  gcm.aad = {1, 2, 3};
  auto a = keys().Encrypt(alice_, key, gcm, plain);
  auto b = keys().Encrypt(alice_, key, gcm, plain);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->iv.size(), 12u);
  EXPECT_NE(a->iv, b->iv);  // the HSM draws a fresh IV every time
  EXPECT_NE(a->ciphertext, b->ciphertext);
  EXPECT_EQ(a->ciphertext.size(), plain.size() + 16);
  MechanismParams open = gcm;
  open.iv = a->iv;
  auto back = keys().Decrypt(alice_, key, open, a->ciphertext);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(ToBytes(*back), plain);
  open.aad = {1, 2, 4};
  EXPECT_THAT(keys().Decrypt(alice_, key, open, a->ciphertext),
              StatusIs(Code::kDataLoss));
  EXPECT_THAT(keys().Encrypt(alice_, key, open, plain),
              StatusIs(Code::kInvalidArgument, HasSubstr("leave the IV")));

  for (Mechanism m : {Mechanism::kAesCbcPad, Mechanism::kAesCtr}) {
    MechanismParams mech = Mech(m);
    mech.iv = crypto::RandomBytes(16).value();
    auto ct = keys().Encrypt(alice_, key, mech, plain);
    ASSERT_THAT(ct, IsOk());
    EXPECT_TRUE(ct->iv.empty());
    EXPECT_EQ(ct->ciphertext.size(),
              m == Mechanism::kAesCtr ? plain.size() : 1008u);
    auto pt = keys().Decrypt(alice_, key, mech, ct->ciphertext);
    ASSERT_THAT(pt, IsOk());
    EXPECT_EQ(ToBytes(*pt), plain);
  }
  MechanismParams cbc = Mech(Mechanism::kAesCbcPad);
  cbc.iv = Bytes(16);
  Bytes garbage(32, 0x5a);
  EXPECT_THAT(keys().Decrypt(alice_, key, cbc, garbage),
              StatusIs(Code::kDataLoss, HasSubstr("AES-CBC-PAD")));
}

TEST_P(KeyModeTest, RsaEncryptionRoundTripsAndPkcs1IsNonFipsOnly) {
  const KeyPairHandles rsa = NewPair(alice_, Pair(KeyType::kRsa, 2048));
  const Bytes plain = crypto::RandomBytes(40).value();
  MechanismParams oaep = Mech(Mechanism::kRsaPkcsOaep);
  oaep.oaep_label = {9, 9};
  auto ct = keys().Encrypt(alice_, rsa.public_key, oaep, plain);
  ASSERT_THAT(ct, IsOk());
  auto pt = keys().Decrypt(alice_, rsa.private_key, oaep, ct->ciphertext);
  ASSERT_THAT(pt, IsOk());
  EXPECT_EQ(ToBytes(*pt), plain);
  // Encrypted outside with the exported public key, decrypted inside.
  auto outside = PublicOf(alice_, rsa.public_key)
                     .EncryptOaep(HashAlg::kSha256, plain, oaep.oaep_label);
  ASSERT_THAT(outside, IsOk());
  EXPECT_THAT(keys().Decrypt(alice_, rsa.private_key, oaep, *outside), IsOk());
  EXPECT_THAT(keys().Decrypt(alice_, rsa.public_key, oaep, *outside),
              StatusIs(Code::kPermissionDenied, HasSubstr("CKA_DECRYPT")));

  const MechanismParams pkcs1 = Mech(Mechanism::kRsaPkcs);
  auto legacy = keys().Encrypt(alice_, rsa.public_key, pkcs1, plain);
  if (fips()) {
    EXPECT_THAT(legacy, StatusIs(Code::kPermissionDenied,
                                 HasSubstr("FIPS mode: RSA PKCS#1 v1.5 "
                                           "encryption and key wrapping")));
    return;
  }
  ASSERT_THAT(legacy, IsOk());
  auto legacy_pt =
      keys().Decrypt(alice_, rsa.private_key, pkcs1, legacy->ciphertext);
  ASSERT_THAT(legacy_pt, IsOk());
  EXPECT_EQ(ToBytes(*legacy_pt), plain);
  Bytes bad = legacy->ciphertext;
  bad[10] ^= 1;
  EXPECT_THAT(keys().Decrypt(alice_, rsa.private_key, pkcs1, bad),
              StatusIs(Code::kDataLoss, "RSA PKCS#1 v1.5 decryption failed"));
}

TEST_P(KeyModeTest, WrapAndUnwrapRoundTripsThenTheNewKeyWorks) {
  KeyTemplate kek_spec = Aes();
  kek_spec.wrap = kek_spec.unwrap = true;
  const ObjectHandle kek = NewAes(alice_, kek_spec);
  KeyTemplate data_spec = Aes(128);
  data_spec.extractable = true;
  const ObjectHandle data = NewAes(alice_, data_spec);
  auto sealed =
      keys().Encrypt(alice_, data, Mech(Mechanism::kAesGcm), AsBytes("hello"));
  ASSERT_THAT(sealed, IsOk());
  MechanismParams open = Mech(Mechanism::kAesGcm);
  open.iv = sealed->iv;

  // AES-KW and AES-KWP of a secret key.
  for (Mechanism m : {Mechanism::kAesKeyWrap, Mechanism::kAesKeyWrapPad}) {
    auto wrapped = keys().Wrap(alice_, kek, data, Mech(m));
    ASSERT_THAT(wrapped, IsOk());
    EXPECT_EQ(wrapped->size(), 24u);
    auto copy = keys().Unwrap(alice_, kek, Mech(m), *wrapped, Aes(128));
    ASSERT_THAT(copy, IsOk());
    auto info = keys().GetAttributes(alice_, *copy);
    ASSERT_THAT(info, IsOk());
    EXPECT_FALSE(info->attributes.local || info->attributes.always_sensitive ||
                 info->attributes.never_extractable);
    EXPECT_EQ(info->attributes.owner, "alice");
    EXPECT_EQ(info->attributes.bits, 128u);
    auto back = keys().Decrypt(alice_, *copy, open, sealed->ciphertext);
    ASSERT_THAT(back, IsOk());
    EXPECT_EQ(ToBytes(*back),
              Bytes(AsBytes("hello").begin(), AsBytes("hello").end()));
  }

  // AES-KWP of a private key; the unwrapped key signs for the old public key.
  KeyTemplate pair_spec = Pair(KeyType::kEcP256);
  pair_spec.extractable = true;
  const KeyPairHandles ec = NewPair(alice_, pair_spec);
  auto wrapped_ec =
      keys().Wrap(alice_, kek, ec.private_key, Mech(Mechanism::kAesKeyWrapPad));
  ASSERT_THAT(wrapped_ec, IsOk());
  auto ec_copy = keys().Unwrap(alice_, kek, Mech(Mechanism::kAesKeyWrapPad),
                               *wrapped_ec, Pair(KeyType::kEcP256));
  ASSERT_THAT(ec_copy, IsOk());
  auto sig =
      keys().Sign(alice_, *ec_copy, Mech(Mechanism::kEcdsa), AsBytes("msg"));
  ASSERT_THAT(sig, IsOk());
  EXPECT_THAT(keys().Verify(alice_, ec.public_key, Mech(Mechanism::kEcdsa),
                            AsBytes("msg"), *sig),
              IsOk());
  EXPECT_THAT(keys().Unwrap(alice_, kek, Mech(Mechanism::kAesKeyWrapPad),
                            *wrapped_ec, Pair(KeyType::kEcP384)),
              StatusIs(Code::kInvalidArgument, HasSubstr("template")));

  // RSA-OAEP transports secret keys (and, outside FIPS, PKCS#1 v1.5 too).
  KeyTemplate rsa_spec = Pair(KeyType::kRsa, 2048);
  rsa_spec.wrap = rsa_spec.unwrap = true;
  const KeyPairHandles rsa = NewPair(alice_, rsa_spec);
  for (Mechanism m : {Mechanism::kRsaPkcsOaep, Mechanism::kRsaPkcs}) {
    auto wrapped = keys().Wrap(alice_, rsa.public_key, data, Mech(m));
    if (fips() && m == Mechanism::kRsaPkcs) {
      EXPECT_THAT(wrapped, StatusIs(Code::kPermissionDenied,
                                    HasSubstr("FIPS mode: RSA PKCS#1 v1.5")));
      continue;
    }
    ASSERT_THAT(wrapped, IsOk());
    auto copy = keys().Unwrap(alice_, rsa.private_key, Mech(m), *wrapped,
                              Aes(0));  // 0: take the size from the key
    ASSERT_THAT(copy, IsOk());
    EXPECT_THAT(keys().Decrypt(alice_, *copy, open, sealed->ciphertext),
                IsOk());
  }
  EXPECT_THAT(keys().Wrap(alice_, rsa.public_key, ec.private_key,
                          Mech(Mechanism::kRsaPkcsOaep)),
              StatusIs(Code::kInvalidArgument, HasSubstr("secret keys only")));
}

TEST_P(KeyModeTest, EcdhGivesBothSidesTheSameKey) {
  KeyTemplate spec = Pair(KeyType::kEcP256);
  spec.derive = true;
  const KeyPairHandles a = NewPair(alice_, spec);
  const KeyPairHandles b = NewPair(alice_, spec);
  const Bytes a_pub = keys().GetAttributes(alice_, a.public_key)->public_der;
  const Bytes b_pub = keys().GetAttributes(alice_, b.public_key)->public_der;
  auto ka = keys().DeriveEcdh(alice_, a.private_key, b_pub, Aes(256));
  auto kb = keys().DeriveEcdh(alice_, b.private_key, a_pub, Aes(256));
  ASSERT_THAT(ka, IsOk());
  ASSERT_THAT(kb, IsOk());
  auto ct =
      keys().Encrypt(alice_, *ka, Mech(Mechanism::kAesGcm), AsBytes("agreed"));
  ASSERT_THAT(ct, IsOk());
  MechanismParams open = Mech(Mechanism::kAesGcm);
  open.iv = ct->iv;
  EXPECT_THAT(keys().Decrypt(alice_, *kb, open, ct->ciphertext), IsOk());
  auto info = keys().GetAttributes(alice_, *ka);
  EXPECT_FALSE(info->attributes.local);
  EXPECT_TRUE(info->attributes.always_sensitive &&
              info->attributes.never_extractable);

  KeyTemplate generic = Aes(384);
  generic.key_type = KeyType::kGenericSecret;
  EXPECT_THAT(keys().DeriveEcdh(alice_, a.private_key, b_pub, generic),
              StatusIs(Code::kInvalidArgument, HasSubstr("too few")));
  const KeyPairHandles c = NewPair(alice_, Pair(KeyType::kEcP384));
  const Bytes c_pub = keys().GetAttributes(alice_, c.public_key)->public_der;
  EXPECT_THAT(keys().DeriveEcdh(alice_, a.private_key, c_pub, Aes()),
              StatusIs(Code::kInvalidArgument, HasSubstr("same curve")));
  EXPECT_THAT(keys().DeriveEcdh(alice_, c.private_key, a_pub, Aes()),
              StatusIs(Code::kPermissionDenied, HasSubstr("CKA_DERIVE")));
  EXPECT_THAT(keys().DeriveEcdh(alice_, a.private_key, Bytes{1, 2}, Aes()),
              StatusIs(Code::kInvalidArgument));
}

}  // namespace
}  // namespace coffer::hsm
