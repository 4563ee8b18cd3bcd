// An ACTIVE HSM with one user of every role, for the key tests:
// admin "admin", crypto users "alice", "bob" and "carol", appliance user
// "sync".
#ifndef COFFER_HSM_KEY_TEST_FIXTURE_H_
#define COFFER_HSM_KEY_TEST_FIXTURE_H_

#include <memory>
#include <string>

#include "crypto/asymmetric.h"
#include "hsm/hsm_test_fixture.h"
#include "hsm/key_manager.h"
#include "hsm/user_manager.h"

namespace coffer::hsm {

class KeyTest : public HsmTest {
 protected:
  // Brings up the HSM in `mode`; check HasFatalFailure() afterwards.
  void Start(Mode mode) {
    hsm_ = Manufactured();
    ASSERT_NE(hsm_, nullptr);
    Commission(*hsm_, mode);
    if (HasFatalFailure()) return;
    admin_ = Login(*hsm_, "admin", "admin-password");
    for (const char* cu : {"alice", "bob", "carol"}) {
      ASSERT_THAT(hsm_->users().CreateUser(admin_, cu, Role::kCryptoUser,
                                           Secret(std::string(cu) + "-pw-123")),
                  ::coffer::testing::IsOk());
    }
    ASSERT_THAT(hsm_->users().CreateUser(admin_, "sync", Role::kApplianceUser,
                                         Secret("sync-pw-123")),
                ::coffer::testing::IsOk());
    LoginAll();
  }

  // After a restart: every session is gone.
  void LoginAll() {
    admin_ = Login(*hsm_, "admin", "admin-password");
    alice_ = Login(*hsm_, "alice", "alice-pw-123");
    bob_ = Login(*hsm_, "bob", "bob-pw-123");
    carol_ = Login(*hsm_, "carol", "carol-pw-123");
    sync_ = Login(*hsm_, "sync", "sync-pw-123");
  }

  void Restart() {
    hsm_.reset();
    hsm_ = Reopen(nullptr);
    ASSERT_NE(hsm_, nullptr);
    LoginAll();
  }

  KeyManager& keys() { return hsm_->keys(); }

  static KeyTemplate Aes(uint32_t bits = 256) {
    KeyTemplate t;
    t.key_type = KeyType::kAes;
    t.bits = bits;
    return t;
  }
  static KeyTemplate Pair(KeyType type, uint32_t bits = 0) {
    KeyTemplate t;
    t.key_type = type;
    t.bits = bits;
    return t;
  }
  static MechanismParams Mech(Mechanism m,
                              crypto::HashAlg hash = crypto::HashAlg::kSha256) {
    MechanismParams p;
    p.mechanism = m;
    p.hash = hash;
    return p;
  }

  ObjectHandle NewAes(const Caller& who, KeyTemplate t = Aes()) {
    auto h = keys().GenerateSecretKey(who, t);
    EXPECT_THAT(h, ::coffer::testing::IsOk());
    return h.value_or(0);
  }
  KeyPairHandles NewPair(const Caller& who, KeyTemplate t) {
    auto h = keys().GenerateKeyPair(who, t);
    EXPECT_THAT(h, ::coffer::testing::IsOk());
    return h.value_or(KeyPairHandles{});
  }
  // The public half as the crypto module sees it.
  crypto::PublicKey PublicOf(const Caller& who, ObjectHandle handle) {
    auto info = keys().GetAttributes(who, handle);
    EXPECT_THAT(info, ::coffer::testing::IsOk());
    auto key =
        crypto::PublicKey::FromDer(info.ok() ? info->public_der : Bytes());
    EXPECT_THAT(key, ::coffer::testing::IsOk());
    return *std::move(key);
  }

  std::unique_ptr<Hsm> hsm_;
  Caller admin_, alice_, bob_, carol_, sync_;
};

inline Bytes ToBytes(const crypto::SecretBytes& s) {
  return Bytes(s.ExposeSecret().begin(), s.ExposeSecret().end());
}

}  // namespace coffer::hsm

#endif  // COFFER_HSM_KEY_TEST_FIXTURE_H_
