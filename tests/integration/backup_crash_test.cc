// A restore cut short by a crash: coffer-hsm dies at a named fault point
// (COFFER_FAULT, src/base/fault.h) or by a real SIGKILL at a random
// moment, then restarts on the same data directory. The key set must be
// exactly the old one or exactly the backup's, never a mix, and the HSM
// must serve logins. Random choices come from COFFER_TEST_SEED (else a
// random seed), printed on failure so a run can be replayed.
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/hsm_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/dev_hsm_fixture.h"

namespace coffer::integration {
namespace {

namespace pb = ::coffer::hsm::v1;
using KeySet = std::set<std::string>;  // "handle label"

uint64_t Seed() {
  uint64_t seed = 0;
  const char* env = std::getenv("COFFER_TEST_SEED");
  if (env != nullptr && absl::SimpleAtoi(env, &seed)) return seed;
  return std::random_device()();
}

ProcessResult Restore(const DevHsm& hsm, const std::string& file,
                      bool as_service) {
  if (as_service) {
    return hsm.Service({"hsm", "restore", "--in", file, "--force"});
  }
  ProcessResult login = hsm.Login("admin", hsm.AdminPassword(), "admin");
  if (login.exit_code != 0) return login;
  return hsm.Coffer({"hsm", "restore", "--in", file, "--force"}, "", "admin");
}

// Starts coffer-hsm on the dev HSM's data directory on a fresh port, with
// `extra_env`, and points later commands at it.
absl::StatusOr<testing::BackgroundProcess> StartHsm(
    DevHsm& hsm, const std::vector<std::string>& extra_env, int* port) {
  const std::string port_file = hsm.File("crash.port");
  std::remove(port_file.c_str());
  testing::ProcessSpec spec;
  spec.argv = {HsmBin(),      "--data-dir",  hsm.File("hsm"), "--listen",
               "127.0.0.1:0", "--port-file", port_file};
  spec.env = ChildEnv(extra_env);
  absl::StatusOr<testing::BackgroundProcess> daemon =
      testing::BackgroundProcess::Start(spec, hsm.File("crash.log"));
  if (!daemon.ok()) return daemon.status();
  for (int i = 0; i < 1000; ++i) {
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadAll(port_file)),
                         port) &&
        *port > 0) {
      hsm.set_hsm_override(absl::StrCat("127.0.0.1:", *port));
      return daemon;
    }
    if (!daemon->running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::InternalError(absl::StrCat("coffer-hsm did not start:\n",
                                          ReadAll(hsm.File("crash.log"))));
}

// The process's exit code once it has ended by itself (-1: still running
// after `limit`, or killed by a signal).
int WaitForExit(testing::BackgroundProcess& daemon,
                std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (daemon.running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return daemon.Stop(SIGKILL, std::chrono::milliseconds(0));
}

// Many keys, quickly, over one connection: a backup that takes a while.
void GenerateMany(const DevHsm& hsm, int port, int count) {
  net::TlsClientOptions tls;
  tls.credentials.certificate_chain_pem = ReadAll(hsm.File("client.pem"));
  tls.credentials.private_key_pem =
      crypto::SecretBytes::CopyOf(AsBytes(ReadAll(hsm.File("client.key"))));
  tls.credentials.trust_anchors_pem = ReadAll(hsm.File("trust.pem"));
  absl::StatusOr<client::HsmClient> c = client::HsmClient::Connect(
      {"127.0.0.1", static_cast<uint16_t>(port)}, tls);
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string pw = hsm.CuPassword();
  ASSERT_TRUE(
      c->Login(hsm.CuUser(), crypto::SecretBytes::CopyOf(AsBytes(pw))).ok());
  for (int i = 0; i < count; ++i) {
    pb::Request request;
    pb::KeyTemplate* t = request.mutable_generate_key()->mutable_template_();
    t->set_key_type(pb::KEY_TYPE_AES);
    t->set_bits(256);
    t->set_label(absl::StrCat("bulk-", i));
    ASSERT_TRUE(c->Call(request).ok());
  }
}

class BackupCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = Seed();
    rng_.seed(seed_);
    absl::StatusOr<std::unique_ptr<DevHsm>> up = DevHsm::Up();
    ASSERT_TRUE(up.ok()) << up.status();
    hsm_ = *std::move(up);
    ASSERT_TRUE(hsm_->LogInCu());
    for (const char* label : {"a", "b", "c"}) {
      ASSERT_EQ(hsm_->Coffer({"key", "generate-symmetric", "--label", label})
                    .exit_code,
                0);
    }
    ASSERT_EQ(hsm_->Login("admin", hsm_->AdminPassword(), "admin").exit_code,
              0);
    backup_ = hsm_->File("small.backup");
    ProcessResult r =
        hsm_->Coffer({"hsm", "backup", "--out", backup_}, "", "admin");
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    backup_keys_ = hsm_->KeyList();
    Json doc = Json::parse(
        RunCoffer({"backup", "inspect", backup_, "--output", "json"})
            .stdout_data,
        nullptr, false);
    ASSERT_TRUE(doc.is_object());
    records_ = doc["records"]["total"].get<uint64_t>();
    ASSERT_GT(records_, 3u);
    // From here on, coffer-hsm runs under this test's control.
    ASSERT_EQ(RunCoffer({"dev-hsm", "down", "--dir", hsm_->dir()}).exit_code,
              0);
  }

  // One crash: starts the HSM with `fault` (may be empty), optionally
  // tampers it, adds a key so the old state differs from the backup's,
  // restores `file` and crashes it (`kill_after` >= 0: SIGKILL after that
  // many ms; else the fault must end it with exit 99). Then restarts it
  // and checks the all-or-nothing outcome.
  void Crash(const std::string& fault, bool tamper, const std::string& file,
             const KeySet& new_keys, int kill_after_ms) {
    SCOPED_TRACE(absl::StrCat("fault '", fault, "' tamper ", tamper,
                              " kill_after_ms ", kill_after_ms));
    int port = 0;
    std::vector<std::string> env;
    if (!fault.empty()) env.push_back("COFFER_FAULT=" + fault);
    absl::StatusOr<testing::BackgroundProcess> daemon =
        StartHsm(*hsm_, env, &port);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    ASSERT_TRUE(hsm_->LogInCu());
    ASSERT_EQ(hsm_->Coffer({"key", "generate-symmetric", "--label",
                            absl::StrCat("extra-", ++extra_)})
                  .exit_code,
              0);
    const KeySet old_keys = hsm_->KeyList();
    ASSERT_NE(old_keys, new_keys);
    if (tamper) {
      daemon->Signal(SIGUSR1);
      for (int i = 0; i < 100 && hsm_->StateName() != "TAMPERED"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      ASSERT_EQ(hsm_->StateName(), "TAMPERED");
    }
    std::future<ProcessResult> restore = std::async(
        std::launch::async, [&] { return Restore(*hsm_, file, tamper); });
    if (kill_after_ms >= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
      daemon->Kill();
    } else {
      EXPECT_EQ(WaitForExit(*daemon, std::chrono::seconds(30)), 99)
          << ReadAll(hsm_->File("crash.log"));
    }
    const ProcessResult result = restore.get();
    daemon->Kill();

    absl::StatusOr<testing::BackgroundProcess> again =
        StartHsm(*hsm_, {}, &port);
    ASSERT_TRUE(again.ok()) << again.status();
    const std::string state = hsm_->StateName();
    if (tamper && state == "TAMPERED") {  // did not commit: fine
      std::cout << "outcome: still TAMPERED\n";
      return;
    }
    ASSERT_EQ(state, "ACTIVE") << result.Describe();
    ASSERT_TRUE(hsm_->LogInCu());
    const KeySet now = hsm_->KeyList();
    EXPECT_TRUE(now == new_keys || (!tamper && now == old_keys))
        << "a mix of the old and the restored keys; restore said:\n"
        << result.Describe();
    std::cout << "outcome: " << (now == new_keys ? "restored" : "old state")
              << "\n";
    // Where the fault point fixes the outcome, check that it is the one.
    if (fault == "restore.after_replace") {
      EXPECT_EQ(now, new_keys);
    }
    if (fault == "restore.before_replace" ||
        fault.rfind("restore.record", 0) == 0) {
      EXPECT_EQ(now, old_keys);
    }
    ASSERT_EQ(hsm_->Login("admin", hsm_->AdminPassword(), "admin").exit_code,
              0);
  }

  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::unique_ptr<DevHsm> hsm_;
  std::string backup_;
  KeySet backup_keys_;
  uint64_t records_ = 0;
  int extra_ = 0;
};

TEST_F(BackupCrashTest, ARestoreCutShortLeavesTheOldStateOrTheNew) {
  SCOPED_TRACE(absl::StrCat("COFFER_TEST_SEED=", seed_));
  auto record = [&] {
    return absl::StrCat(
        "restore.record@",
        std::uniform_int_distribution<uint64_t>(1, records_ - 1)(rng_));
  };
  for (const std::string& fault :
       {record(), std::string("restore.before_replace"),
        std::string("restore.after_replace"), record()}) {
    Crash(fault, /*tamper=*/false, backup_, backup_keys_, -1);
    if (HasFatalFailure()) return;
  }

  // A real SIGKILL at a random moment of a larger restore.
  int port = 0;
  absl::StatusOr<testing::BackgroundProcess> daemon =
      StartHsm(*hsm_, {}, &port);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  ASSERT_TRUE(hsm_->LogInCu());
  GenerateMany(*hsm_, port, 300);
  if (HasFatalFailure()) return;
  const std::string large = hsm_->File("large.backup");
  ASSERT_EQ(hsm_->Login("admin", hsm_->AdminPassword(), "admin").exit_code, 0);
  ProcessResult made =
      hsm_->Coffer({"hsm", "backup", "--out", large}, "", "admin");
  ASSERT_EQ(made.exit_code, 0) << made.Describe();
  const KeySet large_keys = hsm_->KeyList();
  daemon->Kill();
  for (int i = 0; i < 2; ++i) {
    Crash("", false, large, large_keys,
          std::uniform_int_distribution<int>(0, 400)(rng_));
    if (HasFatalFailure()) return;
  }

  // A tampered HSM that dies mid-restore stays TAMPERED or comes back
  // whole (no session: the service's client restores).
  const std::string last =
      rng_() % 2 == 0 ? std::string("restore.after_replace") : record();
  Crash(last, /*tamper=*/true, backup_, backup_keys_, -1);
}

}  // namespace
}  // namespace coffer::integration
