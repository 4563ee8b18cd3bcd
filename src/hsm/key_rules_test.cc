// Who may do what with a key, PKCS#11's attribute rules, FIPS refusals,
// session versus token objects, persistence, parallel use, and a scan of
// every file the HSM wrote for plaintext key bytes.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <thread>

#include "absl/strings/ascii.h"
#include "crypto/key_wrap.h"
#include "crypto/random.h"
#include "hsm/key_test_fixture.h"

namespace coffer::hsm {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

class KeyRulesTest : public KeyTest {
 protected:
  void SetUp() override { Start(Mode::kFips); }

  std::vector<ObjectHandle> Visible(const Caller& who) {
    std::vector<ObjectHandle> out;
    auto found = keys().Find(who, {});
    EXPECT_THAT(found, IsOk());
    if (found.ok()) {
      for (const KeyInfo& k : *found) out.push_back(k.handle);
    }
    return out;
  }
};

using ::testing::Contains;
using ::testing::Not;

TEST_F(KeyRulesTest, OnlyCryptoUsersCreateAndUseKeys) {
  EXPECT_THAT(keys().GenerateSecretKey(admin_, Aes()),
              StatusIs(Code::kPermissionDenied,
                       HasSubstr("only crypto users may create keys")));
  EXPECT_THAT(keys().GenerateKeyPair(sync_, Pair(KeyType::kEcP256)),
              StatusIs(Code::kPermissionDenied));
  const ObjectHandle key = NewAes(alice_);
  EXPECT_THAT(keys().Encrypt(admin_, key, Mech(Mechanism::kAesGcm), {}),
              StatusIs(Code::kPermissionDenied,
                       HasSubstr("only crypto users may use keys")));
  EXPECT_THAT(keys().Find(sync_, {}),
              StatusIs(Code::kPermissionDenied, HasSubstr("appliance")));
  EXPECT_THAT(keys().GetAttributes(sync_, key),
              StatusIs(Code::kPermissionDenied));
  EXPECT_THAT(keys().Destroy(admin_, key), StatusIs(Code::kPermissionDenied));
  // Admins see every key's attributes, never its material.
  EXPECT_THAT(Visible(admin_), Contains(key));
  auto info = keys().GetAttributes(admin_, key);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->attributes.owner, "alice");
  EXPECT_THAT(keys().GetAttributes(alice_, 12345), StatusIs(Code::kNotFound));
}

TEST_F(KeyRulesTest, OwnerSharesAndOnlyTheOwnerManages) {
  const KeyPairHandles pair = NewPair(alice_, Pair(KeyType::kEcP256));
  const ObjectHandle key = pair.private_key;
  const MechanismParams ecdsa = Mech(Mechanism::kEcdsa);
  EXPECT_THAT(Visible(bob_), Not(Contains(key)));
  EXPECT_THAT(
      keys().Sign(bob_, key, ecdsa, AsBytes("x")),
      StatusIs(Code::kPermissionDenied, HasSubstr("not shared with 'bob'")));
  EXPECT_THAT(keys().Share(bob_, key, "bob"),
              StatusIs(Code::kPermissionDenied));

  // Sharing only with crypto users that exist.
  for (const char* who : {"admin", "sync", "nobody"}) {
    EXPECT_THAT(
        keys().Share(alice_, key, who),
        StatusIs(Code::kPermissionDenied, HasSubstr("only with crypto users")));
  }
  ASSERT_THAT(keys().Share(alice_, key, "bob"), IsOk());
  ASSERT_THAT(keys().Share(alice_, key, "bob"), IsOk());  // idempotent
  EXPECT_THAT(Visible(bob_), Contains(key));
  EXPECT_THAT(Visible(carol_), Not(Contains(key)));
  EXPECT_THAT(keys().Sign(bob_, key, ecdsa, AsBytes("x")), IsOk());

  // A shared user uses; only the owner shares, unshares, wraps out,
  // changes or destroys.
  EXPECT_THAT(keys().Share(bob_, key, "carol"),
              StatusIs(Code::kPermissionDenied, HasSubstr("only the owner")));
  EXPECT_THAT(keys().Unshare(bob_, key, "bob"),
              StatusIs(Code::kPermissionDenied));
  EXPECT_THAT(
      keys().Destroy(bob_, key),
      StatusIs(Code::kPermissionDenied, HasSubstr("('alice') may destroy")));
  AttributeChange label;
  label.label = "mine now";
  EXPECT_THAT(keys().SetAttribute(bob_, key, label),
              StatusIs(Code::kPermissionDenied));
  KeyTemplate kek_spec = Aes();
  kek_spec.wrap = true;
  const ObjectHandle bob_kek = NewAes(bob_, kek_spec);
  EXPECT_THAT(keys().Wrap(bob_, bob_kek, key, Mech(Mechanism::kAesKeyWrapPad)),
              StatusIs(Code::kPermissionDenied, HasSubstr("may wrap out")));

  ASSERT_THAT(keys().Unshare(alice_, key, "bob"), IsOk());
  EXPECT_THAT(keys().Sign(bob_, key, ecdsa, AsBytes("x")),
              StatusIs(Code::kPermissionDenied));
  // The owner cannot be deleted while the key exists.
  EXPECT_THAT(hsm_->users().DeleteUser(admin_, "alice"),
              StatusIs(Code::kFailedPrecondition));
  ASSERT_THAT(keys().Destroy(alice_, key), IsOk());
  EXPECT_THAT(keys().GetAttributes(alice_, key), StatusIs(Code::kNotFound));
}

// Regression: deleting a user must drop their shares, or a new user given
// the same name would inherit access to other people's keys.
TEST_F(KeyRulesTest, DeletedUsersSharesDoNotPassToANewUserOfTheSameName) {
  const KeyPairHandles pair = NewPair(alice_, Pair(KeyType::kEcP256));
  ASSERT_THAT(keys().Share(alice_, pair.private_key, "bob"), IsOk());
  ASSERT_THAT(hsm_->users().DeleteUser(admin_, "bob"), IsOk());
  EXPECT_TRUE(keys()
                  .GetAttributes(alice_, pair.private_key)
                  ->attributes.shared_with.empty());
  ASSERT_THAT(hsm_->users().CreateUser(admin_, "bob", Role::kCryptoUser,
                                       Secret("bob-pw-123")),
              IsOk());
  Restart();
  if (HasFatalFailure()) return;
  EXPECT_THAT(keys().Sign(bob_, pair.private_key, Mech(Mechanism::kEcdsa),
                          AsBytes("x")),
              StatusIs(Code::kPermissionDenied));
  EXPECT_THAT(Visible(bob_), Not(Contains(pair.private_key)));
}

TEST_F(KeyRulesTest, AttributeRulesOfPkcs11) {
  KeyTemplate spec = Aes();
  spec.sensitive = false;
  spec.extractable = true;
  const ObjectHandle key = NewAes(alice_, spec);
  auto before = keys().GetAttributes(alice_, key);
  ASSERT_THAT(before, IsOk());
  EXPECT_FALSE(before->attributes.always_sensitive);
  EXPECT_FALSE(before->attributes.never_extractable);

  AttributeChange on;
  on.sensitive = true;
  ASSERT_THAT(keys().SetAttribute(alice_, key, on), IsOk());
  AttributeChange off;
  off.sensitive = false;
  EXPECT_THAT(keys().SetAttribute(alice_, key, off),
              StatusIs(Code::kPermissionDenied, HasSubstr("CKA_SENSITIVE")));
  AttributeChange lock;
  lock.extractable = false;
  ASSERT_THAT(keys().SetAttribute(alice_, key, lock), IsOk());
  AttributeChange unlock;
  unlock.extractable = true;
  EXPECT_THAT(keys().SetAttribute(alice_, key, unlock),
              StatusIs(Code::kPermissionDenied, HasSubstr("CKA_EXTRACTABLE")));
  auto after = keys().GetAttributes(alice_, key);
  // History stays: sensitive now, but not always; the same for extraction.
  EXPECT_TRUE(after->attributes.sensitive);
  EXPECT_FALSE(after->attributes.always_sensitive);
  EXPECT_FALSE(after->attributes.extractable);
  EXPECT_FALSE(after->attributes.never_extractable);

  // Only admins set CKA_TRUSTED, and nothing else.
  AttributeChange trust;
  trust.trusted = true;
  EXPECT_THAT(keys().SetAttribute(alice_, key, trust),
              StatusIs(Code::kPermissionDenied, HasSubstr("only an admin")));
  ASSERT_THAT(keys().SetAttribute(admin_, key, trust), IsOk());
  EXPECT_TRUE(keys().GetAttributes(alice_, key)->attributes.trusted);
  AttributeChange label;
  label.label = "renamed";
  EXPECT_THAT(keys().SetAttribute(admin_, key, label),
              StatusIs(Code::kPermissionDenied, HasSubstr("only CKA_TRUSTED")));
  EXPECT_THAT(keys().SetAttribute(alice_, key, AttributeChange{}),
              StatusIs(Code::kInvalidArgument));

  // The owner changes label, id and usage; usage is enforced at once.
  label.id = Bytes{7};
  label.encrypt = false;
  ASSERT_THAT(keys().SetAttribute(alice_, key, label), IsOk());
  EXPECT_THAT(keys().Encrypt(alice_, key, Mech(Mechanism::kAesGcm), {}),
              StatusIs(Code::kPermissionDenied,
                       "key " + std::to_string(key) +
                           " does not allow encryption (CKA_ENCRYPT is "
                           "false)"));
  KeyFilter by_label;
  by_label.label = "renamed";
  by_label.id = Bytes{7};
  auto found = keys().Find(alice_, by_label);
  ASSERT_THAT(found, IsOk());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].handle, key);

  // Refusals changed nothing, and the changes survive a restart.
  Restart();
  if (HasFatalFailure()) return;
  auto reloaded = keys().GetAttributes(alice_, key);
  ASSERT_THAT(reloaded, IsOk());
  EXPECT_EQ(reloaded->attributes.label, "renamed");
  EXPECT_TRUE(reloaded->attributes.sensitive && reloaded->attributes.trusted);
  EXPECT_FALSE(reloaded->attributes.extractable ||
               reloaded->attributes.encrypt);
}

TEST_F(KeyRulesTest, WrapRefusesWhatPkcs11Forbids) {
  KeyTemplate kek_spec = Aes();
  kek_spec.wrap = true;
  const ObjectHandle kek = NewAes(alice_, kek_spec);
  const ObjectHandle plain_kek = NewAes(alice_);  // CKA_WRAP false
  const MechanismParams kwp = Mech(Mechanism::kAesKeyWrapPad);
  const ObjectHandle locked = NewAes(alice_);  // not extractable
  EXPECT_THAT(
      keys().Wrap(alice_, kek, locked, kwp),
      StatusIs(Code::kPermissionDenied,
               HasSubstr("not extractable (CKA_EXTRACTABLE is false)")));
  KeyTemplate guarded_spec = Aes();
  guarded_spec.extractable = true;
  guarded_spec.wrap_with_trusted = true;
  const ObjectHandle guarded = NewAes(alice_, guarded_spec);
  EXPECT_THAT(
      keys().Wrap(alice_, plain_kek, guarded, kwp),
      StatusIs(Code::kPermissionDenied, HasSubstr("CKA_WRAP is false")));
  EXPECT_THAT(
      keys().Wrap(alice_, kek, guarded, kwp),
      StatusIs(Code::kPermissionDenied, HasSubstr("only by a trusted key")));
  AttributeChange untrap;
  untrap.wrap_with_trusted = false;
  EXPECT_THAT(keys().SetAttribute(alice_, guarded, untrap),
              StatusIs(Code::kPermissionDenied));
  AttributeChange trust;
  trust.trusted = true;
  ASSERT_THAT(keys().SetAttribute(admin_, kek, trust), IsOk());
  EXPECT_THAT(keys().Wrap(alice_, kek, guarded, kwp), IsOk());
  // Wrapping marks nothing.
  auto info = keys().GetAttributes(alice_, guarded);
  EXPECT_TRUE(info->attributes.extractable && info->attributes.sensitive);
  const KeyPairHandles pair = NewPair(alice_, Pair(KeyType::kEcP256));
  EXPECT_THAT(keys().Wrap(alice_, kek, pair.public_key, kwp),
              StatusIs(Code::kInvalidArgument, HasSubstr("public key")));
  EXPECT_THAT(keys().Unwrap(alice_, kek, kwp, Bytes(24, 1), Aes()),
              StatusIs(Code::kPermissionDenied, HasSubstr("CKA_UNWRAP")));
}

TEST_F(KeyRulesTest, FipsRefusalsNameTheRule) {
  EXPECT_THAT(keys().GenerateKeyPair(alice_, Pair(KeyType::kEd25519)),
              StatusIs(Code::kPermissionDenied,
                       "FIPS mode: Ed25519 is not an approved algorithm"));
  KeyTemplate rsa_spec = Pair(KeyType::kRsa, 2048);
  rsa_spec.wrap = true;
  const KeyPairHandles rsa = NewPair(alice_, rsa_spec);
  EXPECT_THAT(keys().Encrypt(alice_, rsa.public_key, Mech(Mechanism::kRsaPkcs),
                             AsBytes("x")),
              StatusIs(Code::kPermissionDenied,
                       HasSubstr("FIPS mode: RSA PKCS#1 v1.5 encryption")));
  EXPECT_THAT(keys().Sign(alice_, rsa.private_key,
                          Mech(Mechanism::kRsaPkcs, crypto::HashAlg::kSha1),
                          AsBytes("x")),
              StatusIs(Code::kPermissionDenied,
                       HasSubstr("FIPS mode: SHA-1 is not approved")));
  EXPECT_THAT(keys().Sign(alice_, rsa.private_key, Mech(Mechanism::kRsaPkcs),
                          AsBytes("x")),
              IsOk());
  EXPECT_EQ(hsm_->Info().keys, 2u);  // refusals created nothing
}

TEST_F(KeyRulesTest, SessionObjectsVanishAtLogout) {
  auto token = hsm_->Login("alice", Secret("alice-pw-123"));
  ASSERT_THAT(token, IsOk());
  const Caller session = *hsm_->Authenticate(*token);
  KeyTemplate spec = Pair(KeyType::kEcP256);
  spec.token = false;
  const KeyPairHandles pair = NewPair(session, spec);
  EXPECT_EQ(hsm_->Info().keys, 0u);  // nothing persisted
  EXPECT_THAT(Visible(session), Contains(pair.private_key));
  EXPECT_THAT(keys().Sign(session, pair.private_key, Mech(Mechanism::kEcdsa),
                          AsBytes("x")),
              IsOk());
  EXPECT_THAT(keys().Share(session, pair.private_key, "bob"),
              StatusIs(Code::kFailedPrecondition, HasSubstr("session object")));
  // Other sessions, even the same user's, do not see them.
  EXPECT_THAT(Visible(alice_), Not(Contains(pair.private_key)));
  EXPECT_THAT(Visible(admin_), Not(Contains(pair.private_key)));
  EXPECT_THAT(keys().GetAttributes(alice_, pair.private_key),
              StatusIs(Code::kNotFound));
  KeyTemplate aes = Aes();
  aes.token = false;
  const ObjectHandle destroyed = NewAes(session, aes);
  ASSERT_THAT(keys().Destroy(session, destroyed), IsOk());
  EXPECT_THAT(keys().GetAttributes(session, destroyed),
              StatusIs(Code::kNotFound));

  ASSERT_THAT(hsm_->Logout(*token), IsOk());
  EXPECT_THAT(keys().Find(session, {}), StatusIs(Code::kUnauthenticated));
  const Caller again = Login(*hsm_, "alice", "alice-pw-123");
  EXPECT_THAT(Visible(again), Not(Contains(pair.private_key)));
  EXPECT_THAT(keys().Sign(again, pair.private_key, Mech(Mechanism::kEcdsa),
                          AsBytes("x")),
              StatusIs(Code::kNotFound));
}

TEST_F(KeyRulesTest, TokenKeysSurviveRestartAndDestroyIsDurable) {
  const KeyPairHandles kept = NewPair(alice_, Pair(KeyType::kEcP384));
  const KeyPairHandles gone = NewPair(alice_, Pair(KeyType::kEcP256));
  ASSERT_THAT(keys().Share(alice_, kept.private_key, "bob"), IsOk());
  ASSERT_THAT(keys().Destroy(alice_, gone.private_key), IsOk());
  Restart();
  if (HasFatalFailure()) return;
  auto sig = keys().Sign(bob_, kept.private_key,
                         Mech(Mechanism::kEcdsa, crypto::HashAlg::kSha384),
                         AsBytes("after restart"));
  ASSERT_THAT(sig, IsOk());
  EXPECT_THAT(PublicOf(alice_, kept.public_key)
                  .Verify({crypto::SignatureAlgorithm::kEcdsaP1363,
                           crypto::HashAlg::kSha384},
                          AsBytes("after restart"), *sig),
              IsOk());
  EXPECT_THAT(keys().GetAttributes(alice_, gone.private_key),
              StatusIs(Code::kNotFound));
  EXPECT_THAT(keys().GetAttributes(alice_, gone.public_key), IsOk());
  EXPECT_EQ(hsm_->Info().keys, 3u);
}

TEST_F(KeyRulesTest, OperationsRunInParallelWithChanges) {
  const KeyPairHandles pair = NewPair(alice_, Pair(KeyType::kEcP256));
  const crypto::PublicKey pub = PublicOf(alice_, pair.public_key);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto sig = keys().Sign(alice_, pair.private_key,
                               Mech(Mechanism::kEcdsa), AsBytes("parallel"));
        if (!sig.ok() || !pub.Verify({crypto::SignatureAlgorithm::kEcdsaP1363},
                                     AsBytes("parallel"), *sig)
                              .ok()) {
          failures++;
        }
      }
    });
  }
  // Writers meanwhile: new keys, and attribute changes that drop the
  // private key from the parsed-key cache, so signers race to refill it.
  for (int i = 0; i < 10; ++i) {
    ObjectHandle h = NewAes(bob_);
    EXPECT_THAT(keys().Destroy(bob_, h), IsOk());
    AttributeChange label;
    label.label = "round " + std::to_string(i);
    EXPECT_THAT(keys().SetAttribute(alice_, pair.private_key, label), IsOk());
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// Every byte string a reader of the data directory must never find.
bool FoundIn(const std::string& haystack, ByteView needle) {
  const std::string raw(needle.begin(), needle.end());
  const std::string hex = HexEncode(needle);
  return haystack.find(raw) != std::string::npos ||
         haystack.find(hex) != std::string::npos ||
         haystack.find(absl::AsciiStrToUpper(hex)) != std::string::npos;
}

TEST_F(KeyRulesTest, NoPlaintextKeyBytesInAnyFile) {
  // A KEK and a data key whose bytes the test knows, brought in by RSA-OAEP
  // and AES-KWP, plus an EC private key and an HSM-generated key learnt by
  // wrapping it out under the known KEK.
  const crypto::SecretBytes kek = crypto::RandomSecret(32).value();
  const crypto::SecretBytes data_key = crypto::RandomSecret(32).value();
  KeyTemplate rsa_spec = Pair(KeyType::kRsa, 2048);
  rsa_spec.unwrap = true;
  const KeyPairHandles rsa = NewPair(alice_, rsa_spec);
  const Bytes to_hsm =
      PublicOf(alice_, rsa.public_key)
          .EncryptOaep(crypto::HashAlg::kSha256, kek.ExposeSecret())
          .value();
  KeyTemplate kek_spec = Aes();
  kek_spec.wrap = kek_spec.unwrap = true;
  auto hsm_kek = keys().Unwrap(alice_, rsa.private_key,
                               Mech(Mechanism::kRsaPkcsOaep), to_hsm, kek_spec);
  ASSERT_THAT(hsm_kek, IsOk());
  auto kwp = crypto::AesKeyWrap::Create(crypto::KeyWrapMode::kKwp, kek.Clone())
                 .value();
  auto hsm_data =
      keys().Unwrap(alice_, *hsm_kek, Mech(Mechanism::kAesKeyWrapPad),
                    kwp.Wrap(data_key.ExposeSecret()).value(), Aes());
  ASSERT_THAT(hsm_data, IsOk());
  const crypto::PrivateKey ec =
      crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEcP256).value();
  const crypto::SecretBytes ec_pkcs8 = ec.ToPkcs8Der().value();
  auto hsm_ec = keys().Unwrap(alice_, *hsm_kek, Mech(Mechanism::kAesKeyWrapPad),
                              kwp.Wrap(ec_pkcs8.ExposeSecret()).value(),
                              Pair(KeyType::kEcP256));
  ASSERT_THAT(hsm_ec, IsOk());
  KeyTemplate gen_spec = Aes();
  gen_spec.extractable = true;
  const ObjectHandle generated = NewAes(alice_, gen_spec);
  auto out =
      keys().Wrap(alice_, *hsm_kek, generated, Mech(Mechanism::kAesKeyWrapPad));
  ASSERT_THAT(out, IsOk());
  const crypto::SecretBytes generated_key = kwp.Unwrap(*out).value();
  ASSERT_THAT(keys().Encrypt(alice_, *hsm_data, Mech(Mechanism::kAesGcm),
                             AsBytes("use it")),
              IsOk());

  // The EC private scalar: the OCTET STRING after ECPrivateKey's version.
  const ByteView der = ec_pkcs8.ExposeSecret();
  const Bytes marker = {0x02, 0x01, 0x01, 0x04, 0x20};
  auto at = std::search(der.begin(), der.end(), marker.begin(), marker.end());
  ASSERT_NE(at, der.end());
  const ByteView scalar(&*(at + marker.size()), 32);

  const std::vector<ByteView> secrets = {kek.ExposeSecret(),
                                         data_key.ExposeSecret(), scalar,
                                         generated_key.ExposeSecret()};
  auto scan = [&](const char* when) {
    const std::vector<std::string> files = dir_.ListFiles();
    // The scan must cover the state store, whose payloads hold the keys.
    EXPECT_THAT(files, Contains(::testing::EndsWith("/state.db")));
    for (const std::string& file : files) {
      std::ifstream in(file, std::ios::binary);
      const std::string content((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
      for (size_t i = 0; i < secrets.size(); ++i) {
        EXPECT_FALSE(FoundIn(content, secrets[i]))
            << "secret " << i << " in " << file << " (" << when << ")";
      }
    }
  };
  // The scanner itself finds what it looks for.
  EXPECT_TRUE(
      FoundIn("x" + HexEncode(kek.ExposeSecret()) + "y", kek.ExposeSecret()));
  scan("while open");
  hsm_.reset();
  scan("after close");
}

}  // namespace
}  // namespace coffer::hsm
