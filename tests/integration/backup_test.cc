// Backups through real coffer-hsm processes: the CLI round trip, a restore
// that brings a tampered HSM back, damaged files refused with nothing
// changed, and crashes in the middle of a restore (injected faults and a
// real SIGKILL, seeded by COFFER_TEST_SEED) that leave the old key set or
// the new one, never a mix.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
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
using ::testing::HasSubstr;
using KeySet = std::set<std::string>;  // "handle label"

void GenerateAes(const DevHsm& hsm, const std::string& label) {
  ProcessResult r =
      hsm.Coffer({"key", "generate-symmetric", "--label", label}, "", "main");
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
}

// `coffer hsm backup` as admin into `file`.
void Backup(const DevHsm& hsm, const std::string& file) {
  ProcessResult login = hsm.Login("admin", hsm.AdminPassword(), "admin");
  ASSERT_EQ(login.exit_code, 0) << login.Describe();
  ProcessResult r = hsm.Coffer({"hsm", "backup", "--out", file}, "", "admin");
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
}

ProcessResult RestoreAsAdmin(const DevHsm& hsm, const std::string& file) {
  ProcessResult login = hsm.Login("admin", hsm.AdminPassword(), "admin");
  if (login.exit_code != 0) return login;
  return hsm.Coffer({"hsm", "restore", "--in", file, "--force"}, "", "admin");
}

void WaitForState(const DevHsm& hsm, const std::string& want) {
  for (int i = 0; i < 100 && hsm.StateName() != want; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(hsm.StateName(), want);
}

TEST(BackupTest, CliRoundTripRestoresTheEarlierKeys) {
  absl::StatusOr<std::unique_ptr<DevHsm>> up = DevHsm::Up();
  ASSERT_TRUE(up.ok()) << up.status();
  const DevHsm& hsm = **up;
  ASSERT_TRUE(hsm.LogInCu());
  ProcessResult ec = hsm.Coffer({"key", "generate-asymmetric", "--type",
                                 "ec-p256", "--label", "early-ec"});
  ASSERT_EQ(ec.exit_code, 0) << ec.Describe();
  GenerateAes(hsm, "early-aes");
  const KeySet early = hsm.KeyList();
  ASSERT_EQ(early.size(), 3u);  // a pair and a secret key

  const std::string file = hsm.File("cluster.backup");
  Backup(hsm, file);
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ProcessResult verify =
      RunCoffer({"backup", "verify", file, "--manufacturer-ca",
                 hsm.File("factory/ca.pem")});
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  EXPECT_THAT(verify.stdout_data, HasSubstr("signature"));
  EXPECT_THAT(verify.stdout_data, HasSubstr("valid"));
  EXPECT_THAT(verify.stdout_data, HasSubstr("verified against"));
  ProcessResult unchained = RunCoffer({"backup", "verify", file});
  EXPECT_EQ(unchained.exit_code, 0) << unchained.Describe();
  EXPECT_THAT(unchained.stdout_data, HasSubstr("not checked"));
  // Another manufacturer's CA: the chain does not verify.
  ProcessResult wrong_ca =
      RunCoffer({"backup", "verify", file, "--manufacturer-ca",
                 hsm.File("customer-ca/ca.pem")});
  EXPECT_EQ(wrong_ca.exit_code, 1) << wrong_ca.Describe();

  ProcessResult inspect =
      RunCoffer({"backup", "inspect", file, "--output", "json"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.Describe();
  Json doc = Json::parse(inspect.stdout_data, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << inspect.Describe();
  EXPECT_EQ(doc["format_version"], 1);
  EXPECT_EQ(doc["backup_id"].get<std::string>().size(), 32u);
  EXPECT_EQ(doc["cluster_id"], "dev-cluster");
  EXPECT_EQ(doc["mode"], "non-fips");
  EXPECT_EQ(doc["records"]["objects"], 3);
  EXPECT_EQ(doc["signature"], "valid");
  EXPECT_EQ(doc["bytes"], static_cast<uint64_t>(st.st_size));
  EXPECT_THAT(doc["created"].get<std::string>(), HasSubstr("Z"));

  GenerateAes(hsm, "late-aes");
  const KeySet late = hsm.KeyList();
  ASSERT_EQ(late.size(), 4u);
  // Destructive: refused in a pipe without --force, nothing changed.
  ProcessResult unforced =
      hsm.Coffer({"hsm", "restore", "--in", file}, "", "admin");
  EXPECT_EQ(unforced.exit_code, 2) << unforced.Describe();
  EXPECT_EQ(hsm.KeyList(), late);

  ProcessResult restore = RestoreAsAdmin(hsm, file);
  ASSERT_EQ(restore.exit_code, 0) << restore.Describe();
  // Every session ended; the earlier keys are back and still sign.
  EXPECT_NE(hsm.Coffer({"key", "list"}).exit_code, 0);
  ASSERT_TRUE(hsm.LogInCu());
  EXPECT_EQ(hsm.KeyList(), early);
  WriteAll(hsm.File("data"), "signed after a restore");
  ProcessResult sign = hsm.Coffer({"crypto", "sign", "--label", "early-ec",
                                   "--mechanism", "ecdsa-sha256", "--in",
                                   hsm.File("data"), "--out", hsm.File("sig")});
  ASSERT_EQ(sign.exit_code, 0) << sign.Describe();
  ProcessResult check = hsm.Coffer(
      {"crypto", "verify", "--label", "early-ec", "--mechanism", "ecdsa-sha256",
       "--in", hsm.File("data"), "--signature", hsm.File("sig")});
  EXPECT_EQ(check.exit_code, 0) << check.Describe();
}

TEST(BackupTest, ATamperedHsmComesBackFromABackupWithoutASession) {
  absl::StatusOr<std::unique_ptr<DevHsm>> up = DevHsm::Up();
  ASSERT_TRUE(up.ok()) << up.status();
  const DevHsm& hsm = **up;
  ASSERT_TRUE(hsm.LogInCu());
  GenerateAes(hsm, "kept");
  const KeySet before = hsm.KeyList();
  const std::string file = hsm.File("cluster.backup");
  Backup(hsm, file);

  ASSERT_EQ(kill(hsm.pid(), SIGUSR1), 0);
  WaitForState(hsm, "TAMPERED");
  // Customer certificates are refused until the restore; the service's
  // client restores, with no session (the HSM has no users).
  EXPECT_EQ(hsm.Coffer({"hsm-info"}).exit_code, 3);
  ProcessResult restore =
      hsm.Service({"hsm", "restore", "--in", file, "--force"});
  ASSERT_EQ(restore.exit_code, 0) << restore.Describe();
  EXPECT_EQ(hsm.StateName(), "ACTIVE");
  // The HSM now presents a new cluster-issued certificate, which the
  // customer's trust anchors accept.
  ProcessResult info = hsm.Coffer({"hsm-info"});
  EXPECT_EQ(info.exit_code, 0) << info.Describe();
  ASSERT_TRUE(hsm.LogInCu());
  EXPECT_EQ(hsm.KeyList(), before);
}

net::TlsClientOptions ClientOptions(const DevHsm& hsm) {
  net::TlsClientOptions options;
  options.credentials.certificate_chain_pem = ReadAll(hsm.File("client.pem"));
  options.credentials.private_key_pem =
      crypto::SecretBytes::CopyOf(AsBytes(ReadAll(hsm.File("client.key"))));
  options.credentials.trust_anchors_pem = ReadAll(hsm.File("trust.pem"));
  options.io_timeout = absl::Seconds(20);
  return options;
}

absl::StatusOr<client::HsmClient> AdminClient(const DevHsm& hsm, int port) {
  absl::StatusOr<client::HsmClient> c = client::HsmClient::Connect(
      {"127.0.0.1", static_cast<uint16_t>(port)}, ClientOptions(hsm));
  if (!c.ok()) return c.status();
  const std::string pw = hsm.AdminPassword();
  absl::StatusOr<pb::Role> role =
      c->Login("admin", crypto::SecretBytes::CopyOf(AsBytes(pw)));
  if (!role.ok()) return role.status();
  return c;
}

TEST(BackupTest, DamagedBackupsAreRefusedAndNothingChanges) {
  absl::StatusOr<std::unique_ptr<DevHsm>> up = DevHsm::Up();
  ASSERT_TRUE(up.ok()) << up.status();
  const DevHsm& hsm = **up;
  ASSERT_TRUE(hsm.LogInCu());
  GenerateAes(hsm, "one");
  GenerateAes(hsm, "two");
  const std::string file = hsm.File("cluster.backup");
  Backup(hsm, file);
  GenerateAes(hsm, "three");
  const KeySet before = hsm.KeyList();

  const std::string good = ReadAll(file);
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x01;
  const std::string bad_files[][2] = {
      {"truncated", good.substr(0, good.size() - 40)},
      {"flipped", flipped},
      {"junk", "this is not a backup at all"}};
  for (const auto& [name, bytes] : bad_files) {
    SCOPED_TRACE(name);
    const std::string path = hsm.File(name);
    WriteAll(path, bytes);
    ProcessResult verify = RunCoffer({"backup", "verify", path});
    EXPECT_EQ(verify.exit_code, 1) << verify.Describe();
    EXPECT_THAT(verify.stderr_data, HasSubstr("not a valid backup"));
    ProcessResult restore = RestoreAsAdmin(hsm, path);
    EXPECT_EQ(restore.exit_code, 1) << restore.Describe();
    EXPECT_THAT(restore.stderr_data, HasSubstr("not a valid backup"));
  }
  ProcessResult truncated = RunCoffer({"backup", "verify", hsm.File("junk")});
  EXPECT_THAT(truncated.stderr_data, HasSubstr("not a Coffer backup"));
  EXPECT_THAT(
      RunCoffer({"backup", "verify", hsm.File("truncated")}).stderr_data,
      HasSubstr("truncated"));

  // The HSM checks for itself: the same files sent past the CLI's check.
  absl::StatusOr<client::HsmClient> admin = AdminClient(hsm, hsm.port());
  ASSERT_TRUE(admin.ok()) << admin.status();
  for (const std::string* bytes : {&bad_files[0][1], &bad_files[1][1]}) {
    bool sent = false;
    absl::StatusOr<pb::BackupSummary> r =
        admin->RestoreBackup([&]() -> absl::StatusOr<Bytes> {
          if (sent) return Bytes();
          sent = true;
          return Bytes(bytes->begin(), bytes->end());
        });
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  }
  // The connection stayed in step and the session is still valid.
  pb::Request info;
  info.mutable_get_info();
  EXPECT_TRUE(admin->Call(info).ok());
  EXPECT_EQ(hsm.KeyList(), before);
  EXPECT_EQ(hsm.StateName(), "ACTIVE");
}

}  // namespace
}  // namespace coffer::integration
