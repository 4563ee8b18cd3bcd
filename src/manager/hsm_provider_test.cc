// The local HSM provider against real coffer-hsm processes in a temp dir.
#include "manager/hsm_provider.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "base/process.h"
#include "client/hsm_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::manager {
namespace {

// Whether `pid` is a zombie (exited, not reaped). A pid number that is gone,
// or already reused by another process, is not.
bool IsZombie(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() &&
         stat[paren + 2] == 'Z';
}

namespace fs = std::filesystem;
namespace pb = ::coffer::hsm::v1;
using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::HasSubstr;

class HsmProviderTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  // Whatever a failed test left running is killed: the HSMs run in their
  // own sessions and would outlive the test otherwise.
  void TearDown() override {
    provider_.reset();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(Dir() + "/hsms", ec)) {
      const pid_t pid = PidOf(e.path().filename().string());
      if (pid > 0 && ProcessRunning(pid, e.path().string())) kill(pid, SIGKILL);
    }
  }

  std::string Dir() const { return tmp_.path() + "/provider"; }
  std::string HsmDir(const std::string& id) const {
    return Dir() + "/hsms/" + id;
  }

  LocalHsmProviderOptions Options() const {
    LocalHsmProviderOptions options;
    options.dir = Dir();
    options.hsm_binary = COFFER_TEST_HSM_PATH;
    return options;
  }

  void Reopen() {
    provider_.reset();
    absl::StatusOr<std::unique_ptr<HsmProvider>> opened =
        OpenLocalHsmProvider(Options());
    ASSERT_THAT(opened, IsOk());
    provider_ = std::move(*opened);
  }

  pid_t PidOf(const std::string& id) const {
    std::ifstream in(HsmDir(id) + "/pid");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    int pid = 0;
    return absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) ? pid : -1;
  }

  absl::StatusOr<ProvidedHsm> Provision(const std::string& id,
                                        ClusterMode mode) {
    return provider_->Provision({id, mode, {}});
  }

  // What the HSM at `endpoint` reports to the service.
  absl::StatusOr<pb::GetInfoResponse> GetInfo(const std::string& endpoint) {
    absl::StatusOr<client::HsmEndpoint> ep = client::ParseEndpoint(endpoint);
    if (!ep.ok()) return ep.status();
    net::TlsClientOptions tls;
    tls.credentials = provider_->service_identity().ClientCredentials();
    absl::StatusOr<client::HsmClient> hsm =
        client::HsmClient::Connect(*ep, tls);
    if (!hsm.ok()) return hsm.status();
    pb::Request request;
    request.mutable_get_info();
    absl::StatusOr<pb::Response> response = hsm->Call(request);
    if (!response.ok()) return response.status();
    return response->get_info();
  }

  ::coffer::testing::TempDir tmp_;
  std::unique_ptr<HsmProvider> provider_;
};

TEST_F(HsmProviderTest, ProvisionsCommissionedHsmsConcurrently) {
  absl::StatusOr<ProvidedHsm> fips, non_fips;
  std::thread a([&] { fips = Provision("hsm-a1", ClusterMode::kFips); });
  std::thread b([&] { non_fips = Provision("hsm-b2", ClusterMode::kNonFips); });
  a.join();
  b.join();
  ASSERT_THAT(fips, IsOk());
  ASSERT_THAT(non_fips, IsOk());
  EXPECT_EQ(fips->hsm_id, "hsm-a1");
  EXPECT_NE(fips->endpoint, non_fips->endpoint);
  EXPECT_NE(fips->serial, non_fips->serial);

  absl::StatusOr<pb::GetInfoResponse> info_a = GetInfo(fips->endpoint);
  absl::StatusOr<pb::GetInfoResponse> info_b = GetInfo(non_fips->endpoint);
  ASSERT_THAT(info_a, IsOk());
  ASSERT_THAT(info_b, IsOk());
  EXPECT_EQ(info_a->state(), pb::HSM_STATE_COMMISSIONED);
  EXPECT_EQ(info_b->state(), pb::HSM_STATE_COMMISSIONED);
  EXPECT_EQ(info_a->mode(), pb::MODE_FIPS);
  EXPECT_EQ(info_b->mode(), pb::MODE_NON_FIPS);
  EXPECT_EQ(info_a->serial(), fips->serial);
  EXPECT_EQ(info_b->serial(), non_fips->serial);
  EXPECT_EQ(info_a->manufacturer_id(), "coffer-dev");
  EXPECT_EQ(info_b->manufacturer_id(), info_a->manufacturer_id());
  EXPECT_TRUE(provider_->Alive("hsm-a1"));
  EXPECT_TRUE(provider_->Alive("hsm-b2"));
  EXPECT_FALSE(provider_->Alive("hsm-none"));

  EXPECT_THAT(Provision("hsm-a1", ClusterMode::kFips),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(Provision("../escape", ClusterMode::kFips),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(provider_->Destroy("hsm-a1"), IsOk());
  EXPECT_THAT(provider_->Destroy("hsm-b2"), IsOk());
}

TEST_F(HsmProviderTest, ResumesAfterRestartAndRestartsAKilledHsm) {
  absl::StatusOr<ProvidedHsm> made = Provision("hsm-r1", ClusterMode::kFips);
  ASSERT_THAT(made, IsOk());
  const std::string identity = provider_->service_identity().cert_chain_pem;
  const pid_t first_pid = PidOf("hsm-r1");

  // A second provider on the same directory is refused while one runs.
  EXPECT_THAT(OpenLocalHsmProvider(Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  Reopen();  // the manager restarts; the HSM keeps running
  ASSERT_NE(provider_, nullptr);
  EXPECT_EQ(provider_->service_identity().cert_chain_pem, identity);
  EXPECT_TRUE(provider_->Alive("hsm-r1"));
  absl::StatusOr<ProvidedHsm> resumed = provider_->Resume("hsm-r1", {});
  ASSERT_THAT(resumed, IsOk());
  EXPECT_EQ(resumed->endpoint, made->endpoint);
  EXPECT_EQ(resumed->serial, made->serial);
  EXPECT_EQ(PidOf("hsm-r1"), first_pid);

  ASSERT_EQ(kill(first_pid, SIGKILL), 0);
  for (int i = 0; i < 200 && provider_->Alive("hsm-r1"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(provider_->Alive("hsm-r1"));

  absl::StatusOr<ProvidedHsm> restarted = provider_->Resume("hsm-r1", {});
  ASSERT_THAT(restarted, IsOk());
  EXPECT_TRUE(provider_->Alive("hsm-r1"));
  EXPECT_NE(PidOf("hsm-r1"), first_pid);
  // The killed process was reaped, not left a zombie of the manager.
  EXPECT_FALSE(IsZombie(first_pid));
  EXPECT_EQ(restarted->serial, made->serial);
  absl::StatusOr<pb::GetInfoResponse> info = GetInfo(restarted->endpoint);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->serial(), made->serial);
  EXPECT_EQ(info->state(), pb::HSM_STATE_COMMISSIONED);
  EXPECT_EQ(info->mode(), pb::MODE_FIPS);

  // The HSMs made after a restart share the manufacturer and service.
  absl::StatusOr<ProvidedHsm> second = Provision("hsm-r2", ClusterMode::kFips);
  ASSERT_THAT(second, IsOk());
  absl::StatusOr<pb::GetInfoResponse> info2 = GetInfo(second->endpoint);
  ASSERT_THAT(info2, IsOk());
  EXPECT_EQ(info2->manufacturer_id(), info->manufacturer_id());
  EXPECT_THAT(provider_->Destroy("hsm-r1"), IsOk());
  EXPECT_THAT(provider_->Destroy("hsm-r2"), IsOk());
}

TEST_F(HsmProviderTest, DestroyStopsAndErases) {
  absl::StatusOr<ProvidedHsm> made = Provision("hsm-d1", ClusterMode::kFips);
  ASSERT_THAT(made, IsOk());
  const pid_t pid = PidOf("hsm-d1");
  ASSERT_GT(pid, 0);
  ASSERT_THAT(provider_->Destroy("hsm-d1"), IsOk());
  EXPECT_FALSE(ProcessRunning(pid, HsmDir("hsm-d1")));
  EXPECT_FALSE(fs::exists(HsmDir("hsm-d1")));
  EXPECT_FALSE(provider_->Alive("hsm-d1"));
  EXPECT_THAT(provider_->Resume("hsm-d1", {}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(provider_->Destroy("hsm-d1"), IsOk());
  EXPECT_THAT(provider_->Resume("hsm-never", {}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(HsmProviderTest, UnfinishedProvisioningIsReportedAndDestroyable) {
  // What a manager crash in the middle of Provision leaves: a directory
  // without hsm.json.
  ASSERT_TRUE(fs::create_directories(HsmDir("hsm-u1") + "/data"));
  EXPECT_THAT(
      provider_->Resume("hsm-u1", {}),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("Destroy")));
  EXPECT_THAT(provider_->Destroy("hsm-u1"), IsOk());
  EXPECT_FALSE(fs::exists(HsmDir("hsm-u1")));
}

TEST_F(HsmProviderTest, BadHsmBinaryIsAClearErrorAndLeavesNothing) {
  LocalHsmProviderOptions missing = Options();
  missing.dir = tmp_.path() + "/other";
  missing.hsm_binary = tmp_.path() + "/no-such-coffer-hsm";
  EXPECT_THAT(OpenLocalHsmProvider(missing),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no-such-coffer-hsm")));
  EXPECT_FALSE(fs::exists(missing.dir));

  // A program that runs but exits at once: the error carries its log.
  provider_.reset();
  LocalHsmProviderOptions failing = Options();
  failing.hsm_binary = "/bin/false";
  absl::StatusOr<std::unique_ptr<HsmProvider>> opened =
      OpenLocalHsmProvider(failing);
  ASSERT_THAT(opened, IsOk());
  EXPECT_THAT((*opened)->Provision({"hsm-x1", ClusterMode::kFips, {}}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("exited during start-up")));
  EXPECT_TRUE(fs::is_empty(Dir() + "/hsms"));
  EXPECT_FALSE((*opened)->Alive("hsm-x1"));
  opened->reset();

  // A binary that disappears after the provider opened.
  LocalHsmProviderOptions vanishing = Options();
  vanishing.hsm_binary = tmp_.path() + "/coffer-hsm-copy";
  fs::copy_file(COFFER_TEST_HSM_PATH, vanishing.hsm_binary);
  fs::permissions(vanishing.hsm_binary, fs::perms::owner_all);
  opened = OpenLocalHsmProvider(vanishing);
  ASSERT_THAT(opened, IsOk());
  fs::remove(vanishing.hsm_binary);
  EXPECT_THAT(
      (*opened)->Provision({"hsm-x2", ClusterMode::kFips, {}}),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot execute")));
  EXPECT_TRUE(fs::is_empty(Dir() + "/hsms"));
  opened->reset();

  // One that never serves: a timeout, with its log, and it is stopped.
  LocalHsmProviderOptions hanging = Options();
  hanging.hsm_binary = tmp_.path() + "/hanging-hsm";
  {
    std::ofstream script(hanging.hsm_binary);
    script << "#!/bin/sh\necho warming up slowly\nexec sleep 60\n";
  }
  fs::permissions(hanging.hsm_binary, fs::perms::owner_all);
  hanging.start_timeout_ms = 500;
  opened = OpenLocalHsmProvider(hanging);
  ASSERT_THAT(opened, IsOk());
  EXPECT_THAT((*opened)->Provision({"hsm-x3", ClusterMode::kFips, {}}),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("warming up slowly")));
  EXPECT_TRUE(fs::is_empty(Dir() + "/hsms"));
}

TEST_F(HsmProviderTest, SecretsArePrivate) {
  ASSERT_THAT(Provision("hsm-p1", ClusterMode::kNonFips), IsOk());
  auto mode_of = [](const fs::path& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
  };
  EXPECT_EQ(mode_of(Dir()), 0700u);
  EXPECT_EQ(mode_of(Dir() + "/hsms"), 0700u);
  int keys = 0;
  for (const std::string& root : {Dir() + "/dev", HsmDir("hsm-p1")}) {
    EXPECT_EQ(mode_of(root), 0700u) << root;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_directory()) {
        EXPECT_EQ(mode_of(e.path()), 0700u) << e.path();
      } else if (e.path().extension() == ".key") {
        EXPECT_EQ(mode_of(e.path()), 0600u) << e.path();
        ++keys;
      }
    }
  }
  // MKBK, device CA, service CA, service client, 2 components, root key.
  EXPECT_EQ(keys, 7);
  EXPECT_THAT(provider_->Destroy("hsm-p1"), IsOk());
}

}  // namespace
}  // namespace coffer::manager
