// The HSM core's lifecycle, sessions and user rules, over real SQLite
// stores in a temporary directory.
#include "hsm/hsm.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hsm/hsm_test_fixture.h"
#include "hsm/user_manager.h"
#include "provision/provision.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::hsm {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

TEST_F(HsmTest, LifecycleReachesActiveAndSurvivesRestart) {
  auto hsm = Manufactured();
  ASSERT_NE(hsm, nullptr);
  EXPECT_EQ(hsm->Info().state, HsmState::kUncommissioned);
  EXPECT_EQ(hsm->Info().serial, "HSM-1");
  EXPECT_THAT(hsm->Activate(Secret("admin-password")),
              StatusIs(Code::kFailedPrecondition, HasSubstr("UNCOMMISSIONED")));
  Commission(*hsm);
  HsmInfo info = hsm->Info();
  EXPECT_EQ(info.state, HsmState::kActive);
  EXPECT_EQ(info.mode, Mode::kFips);
  EXPECT_EQ(info.cluster_id, "cluster-1");
  auto creds = hsm->CurrentTlsCredentials();
  ASSERT_THAT(creds, IsOk());
  EXPECT_THAT(creds->cert_chain_pem, HasSubstr("BEGIN CERTIFICATE"));

  hsm.reset();
  hsm = Reopen(nullptr);
  ASSERT_NE(hsm, nullptr);
  EXPECT_EQ(hsm->Info().state, HsmState::kActive);
  EXPECT_EQ(hsm->Info().mode, Mode::kFips);
  Login(*hsm, "admin", "admin-password");
}

TEST_F(HsmTest, CommissioningNeedsEveryComponentWithItsKcv) {
  auto hsm = Manufactured();
  auto ceremony = provision::GenerateAkbk(3).value();
  EXPECT_THAT(hsm->BeginCommission(Mode::kNonFips, 1, "", ""),
              StatusIs(Code::kInvalidArgument, HasSubstr("2 to")));
  ASSERT_THAT(
      hsm->BeginCommission(Mode::kNonFips, 3, ceremony.combined_kcv_hex, ""),
      IsOk());
  // A component with the wrong KCV is refused.
  EXPECT_THAT(
      hsm->AddAkbkComponent("alice", ceremony.components[0].component.Clone(),
                            ceremony.components[1].kcv_hex),
      StatusIs(Code::kInvalidArgument, HasSubstr("key check value")));
  auto missing =
      hsm->AddAkbkComponent("alice", ceremony.components[0].component.Clone(),
                            ceremony.components[0].kcv_hex);
  ASSERT_THAT(missing, IsOk());
  EXPECT_EQ(*missing, 2u);
  // One custodian, one component.
  EXPECT_THAT(
      hsm->AddAkbkComponent("alice", ceremony.components[1].component.Clone(),
                            ceremony.components[1].kcv_hex),
      StatusIs(Code::kPermissionDenied));
  missing =
      hsm->AddAkbkComponent("bob", ceremony.components[1].component.Clone(),
                            ceremony.components[1].kcv_hex);
  ASSERT_THAT(missing, IsOk());
  EXPECT_EQ(*missing, 1u);
  // Fewer components than configured: still not commissioned.
  EXPECT_EQ(hsm->Info().state, HsmState::kUncommissioned);
  EXPECT_THAT(hsm->CreateClusterCsr("c"), StatusIs(Code::kFailedPrecondition));
  ASSERT_THAT(
      hsm->AddAkbkComponent("carol", ceremony.components[2].component.Clone(),
                            ceremony.components[2].kcv_hex),
      IsOk());
  EXPECT_EQ(hsm->Info().state, HsmState::kCommissioned);
}

TEST_F(HsmTest, ClusterCertificateMustMatchAndChain) {
  auto hsm = Manufactured();
  auto ceremony = provision::GenerateAkbk(2).value();
  ASSERT_THAT(
      hsm->BeginCommission(Mode::kNonFips, 2, ceremony.combined_kcv_hex, ""),
      IsOk());
  for (int i = 0; i < 2; ++i) {
    ASSERT_THAT(
        hsm->AddAkbkComponent(i == 0 ? "a" : "b",
                              std::move(ceremony.components[i].component),
                              ceremony.components[i].kcv_hex),
        IsOk());
  }
  auto csr = hsm->CreateClusterCsr("cluster-2");
  ASSERT_THAT(csr, IsOk());
  auto cert = provision::SignClusterCsr(*customer_ca_, *csr);
  ASSERT_THAT(cert, IsOk());
  auto other_ca = provision::CreateCa("other", "other").value();
  EXPECT_THAT(
      hsm->InstallClusterCertificate(cert->ToPem(), other_ca.cert.ToPem()),
      StatusIs(Code::kDataLoss));
  auto leaf = provision::IssueLeaf(*customer_ca_, "x",
                                   crypto::CertificateUsage::kTlsClient)
                  .value();
  EXPECT_THAT(hsm->InstallClusterCertificate(leaf.cert.ToPem(),
                                             customer_ca_->cert.ToPem()),
              StatusIs(Code::kInvalidArgument, HasSubstr("cluster's key")));
  EXPECT_EQ(hsm->Info().state, HsmState::kCommissioned);
}

TEST_F(HsmTest, UserRulesAndLockout) {
  auto hsm = Manufactured();
  Commission(*hsm);
  Caller admin = Login(*hsm, "admin", "admin-password");
  ASSERT_THAT(hsm->users().CreateUser(admin, "carol", Role::kCryptoUser,
                                      Secret("carol-password")),
              IsOk());
  EXPECT_THAT(hsm->users().CreateUser(admin, "carol", Role::kCryptoUser,
                                      Secret("carol-password")),
              StatusIs(Code::kAlreadyExists));
  EXPECT_THAT(hsm->users().CreateUser(admin, "Bad Name", Role::kCryptoUser,
                                      Secret("carol-password")),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(hsm->users().CreateUser(admin, "dave", Role::kCryptoUser,
                                      Secret("short")),
              StatusIs(Code::kInvalidArgument, HasSubstr("8 to")));

  Caller carol = Login(*hsm, "carol", "carol-password");
  EXPECT_THAT(hsm->users().CreateUser(carol, "eve", Role::kAdmin,
                                      Secret("eve-password")),
              StatusIs(Code::kPermissionDenied, HasSubstr("only an admin")));
  EXPECT_THAT(hsm->users().DeleteUser(carol, "admin"),
              StatusIs(Code::kPermissionDenied));
  EXPECT_THAT(hsm->users().DeleteUser(admin, "admin"),
              StatusIs(Code::kPermissionDenied, HasSubstr("yourself")));

  // Five wrong passwords lock carol, even against the right one.
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(hsm->Login("carol", Secret("wrong-password")),
                StatusIs(Code::kUnauthenticated));
  }
  EXPECT_THAT(hsm->Login("carol", Secret("carol-password")),
              StatusIs(Code::kPermissionDenied, HasSubstr("locked")));
  // The lockout survives a restart; an admin lifts it.
  hsm.reset();
  hsm = Reopen(nullptr);
  EXPECT_THAT(hsm->Login("carol", Secret("carol-password")),
              StatusIs(Code::kPermissionDenied));
  admin = Login(*hsm, "admin", "admin-password");
  ASSERT_THAT(hsm->users().UnlockUser(admin, "carol"), IsOk());
  carol = Login(*hsm, "carol", "carol-password");
  ASSERT_THAT(
      hsm->users().ChangePassword(carol, "carol", Secret("carol-password-2")),
      IsOk());
  EXPECT_THAT(
      hsm->users().ChangePassword(carol, "admin", Secret("hijacked-password")),
      StatusIs(Code::kPermissionDenied));
  Login(*hsm, "carol", "carol-password-2");
  ASSERT_THAT(hsm->users().DeleteUser(admin, "carol"), IsOk());
  EXPECT_THAT(hsm->Authenticate("not-a-token"),
              StatusIs(Code::kUnauthenticated));
  auto users = hsm->users().ListUsers(admin);
  ASSERT_THAT(users, IsOk());
  EXPECT_EQ(users->size(), 1u);
}

TEST_F(HsmTest, TamperedStateErasesSecretsAndRefusesService) {
  auto hsm = Manufactured();
  Commission(*hsm);
  hsm->TamperResponse("test signal");
  EXPECT_EQ(hsm->Info().state, HsmState::kTampered);
  EXPECT_EQ(hsm->Info().users, 0u);
  EXPECT_THAT(hsm->Login("admin", Secret("admin-password")),
              StatusIs(Code::kFailedPrecondition, HasSubstr("TAMPERED")));
  // The state survives a restart (regression: it used to come back
  // COMMISSIONED).
  hsm.reset();
  hsm = Reopen(nullptr);
  ASSERT_NE(hsm, nullptr);
  EXPECT_EQ(hsm->Info().state, HsmState::kTampered);
  EXPECT_EQ(hsm->Info().tamper_reason, "test signal");
  EXPECT_THAT(hsm->CreateClusterCsr("again"),
              StatusIs(Code::kFailedPrecondition));
}

}  // namespace
}  // namespace coffer::hsm
