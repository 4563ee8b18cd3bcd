// `coffer up|down` and the manager commands that work on HSMs (hsm
// create/delete/list, backup create/copy-to-region), against the real
// binaries: coffer-manager with its local HSM provider starting coffer-hsm
// processes on loopback ports picked at run time. The CLI reaches the
// cluster's HSMs through the manager (config "cluster_id", no "hsm").
#include <signal.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"
#include "tests/integration/dev_hsm_fixture.h"

namespace coffer::integration {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kManagerPath = COFFER_TEST_MANAGER_PATH;

// `export NAME='value'` lines as the shell reads them ('\'' is a quote).
std::map<std::string, std::string> ParseEnvFile(const std::string& text) {
  std::map<std::string, std::string> vars;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, "export ")) continue;
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    std::string value;
    bool quoted = false;
    for (size_t i = eq + 1; i < line.size(); ++i) {
      if (line[i] == '\'') {
        quoted = !quoted;
      } else if (line[i] == '\\' && !quoted && i + 1 < line.size()) {
        value += line[++i];
      } else {
        value += line[i];
      }
    }
    vars[std::string(line.substr(0, eq))] = value;
  }
  return vars;
}

// The pid in `path` if that process is alive and its command line names
// `marker`; else 0.
pid_t LivePid(const std::string& path, const std::string& marker) {
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadAll(path)), &pid) ||
      pid <= 0 || kill(pid, 0) != 0) {
    return 0;
  }
  std::string cmdline = ReadAll(absl::StrCat("/proc/", pid, "/cmdline"));
  for (char& c : cmdline) c = c == '\0' ? ' ' : c;
  const std::string stat = ReadAll(absl::StrCat("/proc/", pid, "/stat"));
  const size_t paren = stat.rfind(')');
  const bool zombie = paren != std::string::npos && paren + 2 < stat.size() &&
                      stat[paren + 2] == 'Z';
  return !zombie && absl::StrContains(cmdline, marker) ? pid : 0;
}

class ClusterCliTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // Whatever the test did, nothing of the cluster outlives it.
    const std::vector<pid_t> pids = Pids();
    RunCoffer({"down", "--dir", dir_}, {});
    for (pid_t pid : pids) {
      if (kill(pid, 0) == 0) kill(pid, SIGKILL);
    }
  }

  // The manager's and the HSMs' pids that are alive.
  std::vector<pid_t> Pids() const {
    std::vector<pid_t> pids;
    if (pid_t m = LivePid(dir_ + "/manager.pid", dir_ + "/manager"); m > 0) {
      pids.push_back(m);
    }
    std::error_code ec;
    for (fs::directory_iterator it(dir_ + "/manager/hsms/hsms", ec), end;
         !ec && it != end; it.increment(ec)) {
      const std::string d = it->path().string();
      if (pid_t h = LivePid(d + "/pid", d + "/data"); h > 0) pids.push_back(h);
    }
    return pids;
  }

  // `coffer args...` with $COFFER_CONFIG (once known) and `env`.
  ProcessResult RunCoffer(const std::vector<std::string>& args,
                          std::vector<std::string> env) const {
    testing::ProcessSpec spec;
    spec.argv = {CofferBin()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    env.push_back(absl::StrCat("COFFER_MANAGER_BIN=", kManagerPath));
    if (!config_.empty()) env.push_back("COFFER_CONFIG=" + config_);
    spec.env = CliEnv(env);
    spec.timeout = std::chrono::seconds(300);
    return testing::RunProcess(spec);
  }
  ProcessResult Coffer(const std::vector<std::string>& args) const {
    return RunCoffer(args, {});
  }
  // With --output json; must succeed.
  Json Ok(std::vector<std::string> args) const {
    args.insert(args.begin(), {"-o", "json"});
    ProcessResult r = Coffer(args);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return Json::parse(r.stdout_data, nullptr, false);
  }
  // A failed command's exit code and {"error": ...}.
  Json Fails(std::vector<std::string> args, int exit_code) const {
    args.insert(args.begin(), {"-o", "json"});
    ProcessResult r = Coffer(args);
    EXPECT_EQ(r.exit_code, exit_code) << r.Describe();
    Json doc = Json::parse(r.stderr_data, nullptr, false);
    return doc.is_object() && doc.contains("error") ? doc["error"] : Json();
  }
  std::vector<Json> ActiveHsms() const {
    std::vector<Json> active;
    Json list = Ok({"hsm", "list"});
    for (const Json& h : list["hsms"]) {
      EXPECT_EQ(h["state"], "ACTIVE") << h;
      active.push_back(h);
    }
    return active;
  }

  coffer::testing::TempDir temp_;
  // A quote and a space in the path: the env file must quote it for sh.
  const std::string dir_ =
      fs::weakly_canonical(temp_.path()).string() + "/local 'cluster'";
  std::string config_;
};

TEST_F(ClusterCliTest, UpUseGrowShrinkBackUpAndDown) {
  // --- up --------------------------------------------------------------
  ProcessResult up =
      RunCoffer({"-o", "json", "up", "--dir", dir_, "--hsms", "2"}, {});
  ASSERT_EQ(up.exit_code, 0) << up.Describe() << "\n--- manager.log ---\n"
                             << ReadAll(dir_ + "/manager.log");
  EXPECT_THAT(up.stderr_data, HasSubstr("INSECURE"));
  const Json report = Json::parse(up.stdout_data, nullptr, false);
  ASSERT_TRUE(report.is_object()) << up.Describe();
  EXPECT_EQ(report["state"], "ACTIVE");
  EXPECT_EQ(report["hsms"].size(), 2u);

  // `. DIR/env` as a shell sees it, and as this test parses it.
  const std::map<std::string, std::string> env =
      ParseEnvFile(ReadAll(dir_ + "/env"));
  testing::ProcessSpec sh;
  sh.argv = {"/bin/sh", "-c",
             ". \"$1\" && printf '%s\\n%s\\n%s' \"$COFFER_CONFIG\" "
             "\"$COFFER_CLUSTER_ID\" \"$COFFER_CU_CREDENTIALS\"",
             "sh", dir_ + "/env"};
  ProcessResult sourced = testing::RunProcess(sh);
  ASSERT_EQ(sourced.exit_code, 0) << sourced.Describe();
  ASSERT_EQ(env.size(), 5u) << ReadAll(dir_ + "/env");
  EXPECT_EQ(sourced.stdout_data, absl::StrCat(env.at("COFFER_CONFIG"), "\n",
                                              env.at("COFFER_CLUSTER_ID"), "\n",
                                              env.at("COFFER_CU_CREDENTIALS")));
  EXPECT_EQ(env.at("COFFER_CLUSTER_ID"), report["cluster_id"]);
  const Json pkcs11 =
      Json::parse(ReadAll(env.at("COFFER_PKCS11_CONFIG")), nullptr, false);
  ASSERT_TRUE(pkcs11.is_object());
  EXPECT_EQ(pkcs11["clusters"][0]["cluster_id"], report["cluster_id"]);
  EXPECT_TRUE(
      absl::StartsWith(ReadAll(env.at("COFFER_ADMIN_CREDENTIALS")), "admin:"));
  config_ = env.at("COFFER_CONFIG");
  const std::string id = env.at("COFFER_CLUSTER_ID");
  const std::string cu = env.at("COFFER_CU_CREDENTIALS");

  // A running cluster is not started twice.
  Json again = Fails({"up", "--dir", dir_}, 1);
  EXPECT_THAT(again.dump(), HasSubstr("already holds a running cluster"));

  // --- the HSMs, through the manager (no "hsm" in the config) ----------
  Ok({"login", "--credentials-file", cu});
  Ok({"key", "generate-symmetric", "--label", "aes1"});
  Ok({"key", "generate-asymmetric", "--type", "ec-p256", "--label", "ec1"});
  WriteAll(temp_.File("data"), "hello cluster");
  const std::vector<std::string> sign = {
      "crypto",      "sign",         "--label", "ec1",
      "--mechanism", "ecdsa-sha256", "--in",    temp_.File("data")};
  auto sign_to = [&](const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> args = std::move(extra);
    args.insert(args.end(), sign.begin(), sign.end());
    args.insert(args.end(), {"--out", out});
    ProcessResult r = Coffer(args);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
  };
  sign_to(temp_.File("sig1"), {});
  ProcessResult verified = Coffer(
      {"crypto", "verify", "--label", "ec1", "--mechanism", "ecdsa-sha256",
       "--signature", temp_.File("sig1"), "--in", temp_.File("data")});
  EXPECT_EQ(verified.exit_code, 0) << verified.Describe();
  ASSERT_EQ(ActiveHsms().size(), 2u);

  // --- backups ---------------------------------------------------------
  const Json backup = Ok({"backup", "create", "--cluster", id, "--tag", "t=1"});
  const std::string backup_id = backup.value("backup_id", "");
  ASSERT_FALSE(backup_id.empty()) << backup;
  bool ready = false;
  const Json backups = Ok({"backup", "list", "--cluster", id});
  for (const Json& b : backups["backups"]) {
    if (b["backup_id"] == backup_id) ready = b["state"] == "READY";
  }
  EXPECT_TRUE(ready) << backup;

  // --- a third HSM serves the keys made before it ----------------------
  const Json added = Ok({"hsm", "create", "--cluster", id});
  ASSERT_EQ(added.value("state", ""), "ACTIVE") << added;
  const std::string new_hsm = added["hsm_id"].get<std::string>();
  ASSERT_EQ(ActiveHsms().size(), 3u);
  const std::vector<std::string> direct = {
      "--hsm", added["endpoint"].get<std::string>(), "--session-file",
      temp_.File("new.session")};
  auto with_direct = [&](std::vector<std::string> args) {
    args.insert(args.begin(), direct.begin(), direct.end());
    return args;
  };
  Ok(with_direct({"login", "--credentials-file", cu}));
  const Json keys = Ok(with_direct({"key", "list", "--label", "ec1"}));
  EXPECT_FALSE(keys["keys"].empty()) << keys;
  sign_to(temp_.File("sig2"), direct);
  ProcessResult cross = Coffer(
      {"crypto", "verify", "--label", "ec1", "--mechanism", "ecdsa-sha256",
       "--signature", temp_.File("sig2"), "--in", temp_.File("data")});
  EXPECT_EQ(cross.exit_code, 0) << cross.Describe();

  Fails({"hsm", "delete", "--cluster", id, new_hsm}, 2);  // no --force
  Ok({"hsm", "delete", "--cluster", id, new_hsm, "--force"});
  EXPECT_EQ(ActiveHsms().size(), 2u);

  // --- copies and refusals ---------------------------------------------
  const Json copy =
      Ok({"backup", "copy-to-region", backup_id, "--region", "other"});
  EXPECT_EQ(copy.value("region", ""), "other") << copy;
  EXPECT_EQ(copy.value("state", ""), "READY") << copy;
  EXPECT_EQ(copy.value("source_backup_id", ""), backup_id) << copy;
  Json same = Fails({"backup", "copy-to-region", backup_id, "--region",
                     report["region"].get<std::string>()},
                    1);
  EXPECT_EQ(same["code"], "FAILED_PRECONDITION") << same;
  Json busy = Fails({"cluster", "delete", id, "--force"}, 1);
  EXPECT_EQ(busy["code"], "FAILED_PRECONDITION") << busy;
  EXPECT_THAT(busy["message"].dump(), HasSubstr("HSM"));
  Json unknown =
      Fails({"hsm", "create", "--cluster", "cluster-000000000000"}, 1);
  EXPECT_EQ(unknown["code"], "NOT_FOUND") << unknown;

  // --- down --------------------------------------------------------------
  const std::vector<pid_t> pids = Pids();
  EXPECT_EQ(pids.size(), 3u);  // the manager and 2 HSMs
  Ok({"down", "--dir", dir_});
  EXPECT_TRUE(Pids().empty());
  for (pid_t pid : pids) {
    EXPECT_TRUE(kill(pid, 0) != 0 ||
                !absl::StrContains(
                    ReadAll(absl::StrCat("/proc/", pid, "/cmdline")), dir_))
        << "pid " << pid << " still runs";
  }
  Ok({"down", "--dir", dir_});  // nothing runs: fine
  // A used directory is refused unless --fresh.
  Json used = Fails({"up", "--dir", dir_}, 1);
  EXPECT_THAT(used.dump(), HasSubstr("--fresh"));
}

}  // namespace
}  // namespace coffer::integration
