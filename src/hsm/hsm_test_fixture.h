// A test fixture that manufactures, commissions and activates a real HSM
// core over SQLite stores in a fresh temporary directory.
#ifndef COFFER_HSM_HSM_TEST_FIXTURE_H_
#define COFFER_HSM_HSM_TEST_FIXTURE_H_

#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hsm/hsm.h"
#include "provision/provision.h"
#include "store/sealed_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::hsm {

inline crypto::SecretBytes Secret(std::string_view s) {
  return crypto::SecretBytes::CopyOf(AsBytes(s));
}

class HsmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    factory_ = new provision::Factory(provision::CreateFactory("acme").value());
    customer_ca_ = new provision::CertificateAuthority(
        provision::CreateCa("customer root", "customer").value());
  }
  static void TearDownTestSuite() {
    delete factory_;
    delete customer_ca_;
  }

  std::unique_ptr<store::SealedStore> OpenStore(const std::string& name) {
    return store::OpenSqliteSealedStore(dir_.File(name),
                                        crypto::SecretBytes(32))
        .value();
  }

  // A manufactured HSM, opened.
  std::unique_ptr<Hsm> Manufactured() {
    auto device = OpenStore("device.db");
    EXPECT_THAT(
        Hsm::Manufacture(
            *device,
            provision::ManufactureDevice(*factory_, "HSM-1", "1.0.0").value()),
        ::coffer::testing::IsOk());
    return Reopen(std::move(device));
  }

  std::unique_ptr<Hsm> Reopen(std::unique_ptr<store::SealedStore> device) {
    HsmOptions options;
    options.password_params.n = 1 << 10;  // fast hashes for tests
    options.now = [this] {
      return static_cast<int64_t>(std::time(nullptr)) + clock_offset_;
    };
    auto hsm = Hsm::Open(device ? std::move(device) : OpenStore("device.db"),
                         OpenStore("state.db"), options);
    EXPECT_THAT(hsm, ::coffer::testing::IsOk());
    return hsm.ok() ? *std::move(hsm) : nullptr;
  }

  // Takes an HSM from manufactured to ACTIVE with admin password
  // "admin-password".
  void Commission(Hsm& hsm, Mode mode = Mode::kFips) {
    auto ceremony = provision::GenerateAkbk(2).value();
    ASSERT_THAT(hsm.BeginCommission(mode, 2, ceremony.combined_kcv_hex,
                                    customer_ca_->cert.ToPem()),
                ::coffer::testing::IsOk());
    ASSERT_THAT(hsm.AddAkbkComponent(
                    "alice", std::move(ceremony.components[0].component),
                    ceremony.components[0].kcv_hex),
                ::coffer::testing::IsOk());
    ASSERT_THAT(
        hsm.AddAkbkComponent("bob", std::move(ceremony.components[1].component),
                             ceremony.components[1].kcv_hex),
        ::coffer::testing::IsOk());
    auto csr = hsm.CreateClusterCsr("cluster-1");
    ASSERT_THAT(csr, ::coffer::testing::IsOk());
    auto cert = provision::SignClusterCsr(*customer_ca_, *csr);
    ASSERT_THAT(cert, ::coffer::testing::IsOk());
    ASSERT_THAT(hsm.InstallClusterCertificate(cert->ToPem(),
                                              customer_ca_->cert.ToPem()),
                ::coffer::testing::IsOk());
    ASSERT_THAT(hsm.Activate(Secret("admin-password")),
                ::coffer::testing::IsOk());
  }

  Caller Login(Hsm& hsm, std::string_view user, std::string_view password) {
    auto token = hsm.Login(user, Secret(password));
    EXPECT_THAT(token, ::coffer::testing::IsOk());
    auto caller = hsm.Authenticate(token.value_or(""));
    EXPECT_THAT(caller, ::coffer::testing::IsOk());
    return caller.value_or(Caller{});
  }

  // Seconds added to the HSM's clock, to test expiry.
  int64_t clock_offset_ = 0;
  static inline provision::Factory* factory_ = nullptr;
  static inline provision::CertificateAuthority* customer_ca_ = nullptr;
  testing::TempDir dir_;
};

}  // namespace coffer::hsm

#endif  // COFFER_HSM_HSM_TEST_FIXTURE_H_
