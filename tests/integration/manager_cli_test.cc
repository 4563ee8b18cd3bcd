// `coffer cluster|backup|tag` against a real coffer-manager process on a
// loopback port picked at run time, over mutual TLS with development
// certificates: results as JSON, pagination, and the exit codes of the
// manager's refusals (docs/cli.md).
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "provision/provision.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"
#include "tests/integration/dev_hsm_fixture.h"

namespace coffer::integration {
namespace {

using ::coffer::testing::BackgroundProcess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kManagerPath = COFFER_TEST_MANAGER_PATH;

// Writes a leaf under `ca` as PREFIX.pem and PREFIX.key (0600).
void Issue(const provision::CertificateAuthority& ca, const std::string& name,
           crypto::CertificateUsage usage, const std::string& prefix) {
  auto leaf = provision::IssueLeaf(ca, name, usage);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  auto key = leaf->key.ToPem();
  ASSERT_TRUE(key.ok()) << key.status();
  const ByteView k = key->ExposeSecret();
  WriteAll(prefix + ".pem", leaf->cert.ToPem());
  WriteAll(prefix + ".key", std::string(k.begin(), k.end()));
  ASSERT_EQ(chmod((prefix + ".key").c_str(), 0600), 0);
}

class ManagerCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = provision::CreateCa("Coffer test operators", "Coffer tests");
    ASSERT_TRUE(ca.ok()) << ca.status();
    WriteAll(dir_.File("ca.pem"), ca->cert.ToPem());
    ASSERT_NO_FATAL_FAILURE(Issue(*ca, "coffer-manager",
                                  crypto::CertificateUsage::kTlsServer,
                                  dir_.File("server")));
    ASSERT_NO_FATAL_FAILURE(Issue(*ca, "operator",
                                  crypto::CertificateUsage::kTlsClient,
                                  dir_.File("client")));
    const std::string port_file = dir_.File("port");
    auto proc = BackgroundProcess::Start(
        {.argv = {kManagerPath, "--data-dir", dir_.File("data"), "--listen",
                  "127.0.0.1:0", "--port-file", port_file, "--tls-cert",
                  dir_.File("server.pem"), "--tls-key", dir_.File("server.key"),
                  "--client-ca", dir_.File("ca.pem")}},
        dir_.File("manager.log"));
    ASSERT_TRUE(proc.ok()) << proc.status();
    manager_ = std::make_unique<BackgroundProcess>(std::move(*proc));
    int port = 0;
    for (int i = 0; i < 200 && port == 0; ++i) {
      if (!absl::SimpleAtoi(ReadAll(port_file), &port)) {
        ASSERT_TRUE(manager_->running()) << ReadAll(dir_.File("manager.log"));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    ASSERT_NE(port, 0) << ReadAll(dir_.File("manager.log"));
    // The HSM's config mechanism, with the manager's address beside it.
    Json config = {{"manager", absl::StrCat("127.0.0.1:", port)},
                   {"ca", "ca.pem"},
                   {"cert", "client.pem"},
                   {"key", "client.key"}};
    WriteAll(dir_.File("config.json"), config.dump());
  }

  ProcessResult Run(std::vector<std::string> args) {
    args.insert(args.begin(),
                {"--config", dir_.File("config.json"), "-o", "json"});
    return RunCoffer(args);
  }
  // Runs a command that must succeed; returns its JSON.
  Json Ok(const std::vector<std::string>& args) {
    ProcessResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return Json::parse(r.stdout_data, nullptr, false);
  }
  // The {"error": ...} of a failed command.
  static Json Error(const ProcessResult& r) {
    Json doc = Json::parse(r.stderr_data, nullptr, false);
    return doc.is_object() && doc.contains("error") ? doc["error"] : Json();
  }
  static std::vector<std::string> Keys(const Json& tags) {
    std::vector<std::string> keys;
    for (const Json& t : tags) keys.push_back(t["key"].get<std::string>());
    return keys;
  }

  coffer::testing::TempDir dir_;
  std::unique_ptr<BackgroundProcess> manager_;
};

TEST_F(ManagerCliTest, ClusterLifecycleTagsAndBackups) {
  Json created =
      Ok({"cluster", "create", "--region", "local", "--mode", "fips",
          "--retention-days", "30", "--tag", "owner=payments", "team=hsm"});
  ASSERT_TRUE(created.is_object()) << created;
  const std::string id = created["cluster_id"].get<std::string>();
  EXPECT_EQ(created["state"], "UNINITIALIZED");
  EXPECT_EQ(created["mode"], "fips");
  EXPECT_EQ(created["backup_retention_days"], 30);
  EXPECT_THAT(Keys(created["tags"]), ElementsAre("owner", "team"));

  // Out of range: the manager's rule, as a usage error (exit 2).
  ProcessResult bad =
      Run({"cluster", "create", "--region", "local", "--retention-days", "5"});
  EXPECT_EQ(bad.exit_code, 2) << bad.Describe();
  EXPECT_EQ(Error(bad)["code"], "INVALID_ARGUMENT") << bad.Describe();
  EXPECT_THAT(Error(bad)["message"].dump(), HasSubstr("7 to 379"));
  ProcessResult bad_tag =
      Run({"cluster", "create", "--region", "local", "--tag", "no-equals"});
  EXPECT_EQ(bad_tag.exit_code, 2) << bad_tag.Describe();

  Json list = Ok({"cluster", "list"});
  ASSERT_EQ(list["clusters"].size(), 1u) << list;
  EXPECT_EQ(list["clusters"][0]["cluster_id"], id);
  EXPECT_EQ(list["clusters"][0]["hsm_count"], 0);
  EXPECT_TRUE(
      Ok({"cluster", "list", "--state", "DELETED", "ACTIVE"})["clusters"]
          .empty());

  Json described = Ok({"cluster", "describe", id});
  EXPECT_EQ(described["region"], "local");
  EXPECT_TRUE(described.contains("certificates"));
  EXPECT_EQ(Ok({"cluster", "modify", id, "--retention-days",
                "60"})["backup_retention_days"],
            60);

  Ok({"tag", "add", id, "env=prod", "owner=platform"});
  Json tags = Ok({"tag", "list", id});
  EXPECT_THAT(Keys(tags["tags"]), ElementsAre("env", "owner", "team"));
  EXPECT_EQ(tags["tags"][1]["value"], "platform");
  Ok({"tag", "remove", id, "team", "absent"});
  EXPECT_THAT(Keys(Ok({"tag", "list", id})["tags"]),
              ElementsAre("env", "owner"));

  // No backup can be made yet (CreateBackup is not implemented): empty.
  Json backups = Ok({"backup", "list", "--cluster", id, "--sort", "desc"});
  EXPECT_TRUE(backups["backups"].is_array() && backups["backups"].empty())
      << backups;
  ProcessResult no_backup = Run({"backup", "delete", "backup-000000000000"});
  EXPECT_EQ(no_backup.exit_code, 1) << no_backup.Describe();
  EXPECT_EQ(Error(no_backup)["code"], "NOT_FOUND");

  // Destructive: no --force in a pipe is a usage error, and nothing changes.
  ProcessResult unforced = Run({"cluster", "delete", id});
  EXPECT_EQ(unforced.exit_code, 2) << unforced.Describe();
  EXPECT_EQ(Ok({"cluster", "describe", id})["state"], "UNINITIALIZED");
  EXPECT_EQ(Ok({"cluster", "delete", id, "--force"})["state"], "DELETED");
  ProcessResult again = Run({"cluster", "delete", id, "--force"});
  EXPECT_EQ(again.exit_code, 1) << again.Describe();

  ProcessResult unknown =
      Run({"cluster", "delete", "cluster-000000000000", "--force"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.Describe();
  EXPECT_EQ(Error(unknown)["code"], "NOT_FOUND") << unknown.Describe();
}

TEST_F(ManagerCliTest, ListsFollowEveryPage) {
  // The manager answers 50 per page by default.
  for (int i = 0; i < 52; ++i) {
    ASSERT_EQ(
        Run({"cluster", "create", "--region", "local", "--mode", "non-fips"})
            .exit_code,
        0);
  }
  EXPECT_EQ(Ok({"cluster", "list"})["clusters"].size(), 52u);
}

TEST_F(ManagerCliTest, UnreachableOrMisconfiguredManager) {
  // Nothing listens on port 1: cannot reach (exit 3).
  ProcessResult r = Run({"--manager", "127.0.0.1:1", "cluster", "list"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  // No manager address at all: usage (exit 2).
  ProcessResult none = RunCoffer({"-o", "json", "--ca", dir_.File("ca.pem"),
                                  "--cert", dir_.File("client.pem"), "--key",
                                  dir_.File("client.key"), "cluster", "list"});
  EXPECT_EQ(none.exit_code, 2) << none.Describe();
  EXPECT_THAT(none.stderr_data, HasSubstr("--manager"));
}

}  // namespace
}  // namespace coffer::integration
