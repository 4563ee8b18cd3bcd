// Quorum (M of N) authentication over a real HSM core.
#include "hsm/quorum.h"

#include "crypto/asymmetric.h"
#include "hsm/hsm_test_fixture.h"
#include "hsm/key_manager.h"
#include "hsm/user_manager.h"

namespace coffer::hsm {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

class QuorumTest : public HsmTest {
 protected:
  void SetUp() override {
    hsm_ = Manufactured();
    ASSERT_NE(hsm_, nullptr);
    Commission(*hsm_);
    admin_ = Login(*hsm_, "admin", "admin-password");
    ASSERT_THAT(hsm_->users().CreateUser(admin_, "admin2", Role::kAdmin,
                                         Secret("admin2-password")),
                IsOk());
    admin2_ = Login(*hsm_, "admin2", "admin2-password");
    key1_ = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEcP256).value();
    key2_ = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEcP256).value();
    ASSERT_THAT(
        quorum().RegisterKey(admin_, key1_->public_key().ToDer().value()),
        IsOk());
    ASSERT_THAT(
        quorum().RegisterKey(admin2_, key2_->public_key().ToDer().value()),
        IsOk());
  }

  QuorumManager& quorum() { return hsm_->quorum(); }

  Bytes SignChallenge(const crypto::PrivateKey& key, const QuorumToken& t) {
    return key
        .Sign({crypto::SignatureAlgorithm::kEcdsaDer, crypto::HashAlg::kSha256},
              t.challenge)
        .value();
  }

  // A token for `service`, approved by both admins.
  std::string ApprovedToken(const Caller& requester, QuorumService service) {
    auto token = quorum().CreateToken(requester, service);
    EXPECT_THAT(token, IsOk());
    EXPECT_THAT(
        quorum().Approve(token->id, "admin", SignChallenge(*key1_, *token)),
        IsOk());
    EXPECT_THAT(
        quorum().Approve(token->id, "admin2", SignChallenge(*key2_, *token)),
        IsOk());
    return token->id;
  }

  std::unique_ptr<Hsm> hsm_;
  Caller admin_, admin2_;
  std::optional<crypto::PrivateKey> key1_, key2_;
};

TEST_F(QuorumTest, UserManagementNeedsAnApprovedTokenOncePerOperation) {
  ASSERT_THAT(quorum().SetQuorum(admin_, QuorumService::kUserManagement, 2),
              IsOk());
  EXPECT_EQ(quorum().Quorum(QuorumService::kUserManagement), 2u);
  EXPECT_THAT(hsm_->users().CreateUser(admin_, "carol", Role::kCryptoUser,
                                       Secret("carol-password")),
              StatusIs(Code::kPermissionDenied, HasSubstr("quorum")));

  // One approval is not enough.
  auto token = quorum().CreateToken(admin_, QuorumService::kUserManagement);
  ASSERT_THAT(token, IsOk());
  ASSERT_THAT(
      quorum().Approve(token->id, "admin", SignChallenge(*key1_, *token)),
      IsOk());
  Caller with_token = admin_;
  with_token.quorum_token = token->id;
  EXPECT_THAT(hsm_->users().CreateUser(with_token, "carol", Role::kCryptoUser,
                                       Secret("carol-password")),
              StatusIs(Code::kPermissionDenied, HasSubstr("1 of the 2")));
  // A signature by the wrong key is refused.
  EXPECT_THAT(
      quorum().Approve(token->id, "admin2", SignChallenge(*key1_, *token)),
      StatusIs(Code::kDataLoss));
  ASSERT_THAT(
      quorum().Approve(token->id, "admin2", SignChallenge(*key2_, *token)),
      IsOk());
  ASSERT_THAT(hsm_->users().CreateUser(with_token, "carol", Role::kCryptoUser,
                                       Secret("carol-password")),
              IsOk());
  // The token was consumed.
  EXPECT_THAT(hsm_->users().CreateUser(with_token, "dave", Role::kCryptoUser,
                                       Secret("dave-password")),
              StatusIs(Code::kPermissionDenied, HasSubstr("unknown, expired")));
}

TEST_F(QuorumTest, TokensExpireAfterTenMinutesAndBindTheirService) {
  ASSERT_THAT(quorum().SetQuorum(admin_, QuorumService::kUserManagement, 2),
              IsOk());
  Caller caller = admin_;
  caller.quorum_token = ApprovedToken(admin_, QuorumService::kKeyUse);
  EXPECT_THAT(hsm_->users().CreateUser(caller, "carol", Role::kCryptoUser,
                                       Secret("carol-password")),
              StatusIs(Code::kPermissionDenied, HasSubstr("not for")));
  caller.quorum_token = ApprovedToken(admin_, QuorumService::kUserManagement);
  clock_offset_ = kQuorumTokenLifetimeSeconds + 1;
  EXPECT_THAT(hsm_->users().CreateUser(caller, "carol", Role::kCryptoUser,
                                       Secret("carol-password")),
              StatusIs(Code::kPermissionDenied));
}

TEST_F(QuorumTest, QuorumChangesAndLimits) {
  EXPECT_THAT(quorum().SetQuorum(admin_, QuorumService::kQuorumChanges, 3),
              StatusIs(Code::kFailedPrecondition, HasSubstr("3 admins")));
  ASSERT_THAT(quorum().SetQuorum(admin_, QuorumService::kQuorumChanges, 2),
              IsOk());
  // Lowering it again needs the quorum itself.
  EXPECT_THAT(quorum().SetQuorum(admin_, QuorumService::kQuorumChanges, 1),
              StatusIs(Code::kPermissionDenied));
  Caller caller = admin_;
  caller.quorum_token = ApprovedToken(admin_, QuorumService::kQuorumChanges);
  EXPECT_THAT(quorum().SetQuorum(caller, QuorumService::kQuorumChanges, 1),
              IsOk());
  // Only admins take part; keys must be EC P-256.
  ASSERT_THAT(hsm_->users().CreateUser(admin_, "carol", Role::kCryptoUser,
                                       Secret("carol-password")),
              IsOk());
  Caller carol = Login(*hsm_, "carol", "carol-password");
  EXPECT_THAT(quorum().SetQuorum(carol, QuorumService::kKeyUse, 1),
              StatusIs(Code::kPermissionDenied));
  auto rsa = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kRsa, 2048);
  EXPECT_THAT(quorum().RegisterKey(admin_, rsa->public_key().ToDer().value()),
              StatusIs(Code::kInvalidArgument, HasSubstr("P-256")));
}

TEST_F(QuorumTest, KeyUseUnderQuorumServesItsRequesterUntilExpiry) {
  ASSERT_THAT(hsm_->users().CreateUser(admin_, "carol", Role::kCryptoUser,
                                       Secret("carol-password")),
              IsOk());
  Caller carol = Login(*hsm_, "carol", "carol-password");
  KeyTemplate t;
  t.key_type = KeyType::kEcP256;
  auto pair = hsm_->keys().GenerateKeyPair(carol, t);
  ASSERT_THAT(pair, IsOk());
  ASSERT_THAT(quorum().SetQuorum(admin_, QuorumService::kKeyUse, 2), IsOk());
  MechanismParams ecdsa;
  ecdsa.mechanism = Mechanism::kEcdsa;
  EXPECT_THAT(hsm_->keys().Sign(carol, pair->private_key, ecdsa, Bytes{1}),
              StatusIs(Code::kPermissionDenied, HasSubstr("key-use")));
  carol.quorum_token = ApprovedToken(carol, QuorumService::kKeyUse);
  EXPECT_THAT(hsm_->keys().Sign(carol, pair->private_key, ecdsa, Bytes{1}),
              IsOk());
  EXPECT_THAT(hsm_->keys().Sign(carol, pair->private_key, ecdsa, Bytes{2}),
              IsOk());
  Caller admin_with_token = admin_;
  admin_with_token.quorum_token = carol.quorum_token;
  EXPECT_THAT(
      hsm_->keys().Sign(admin_with_token, pair->private_key, ecdsa, Bytes{1}),
      StatusIs(Code::kPermissionDenied));
}

}  // namespace
}  // namespace coffer::hsm
