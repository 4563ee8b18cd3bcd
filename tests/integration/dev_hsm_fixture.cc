#include "tests/integration/dev_hsm_fixture.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

extern char** environ;

namespace coffer::integration {
namespace {

// "user:password" from a credentials file.
std::pair<std::string, std::string> Credentials(const std::string& path) {
  std::string line = ReadAll(path);
  line = std::string(absl::StripTrailingAsciiWhitespace(line));
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return {"", ""};
  return {line.substr(0, colon), line.substr(colon + 1)};
}

}  // namespace

std::string CofferBin() { return COFFER_TEST_CLI_PATH; }
std::string HsmBin() { return COFFER_TEST_HSM_PATH; }

std::vector<std::string> ChildEnv(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (absl::StartsWith(*e, "COFFER_") ||
        absl::StartsWith(*e, "LSAN_OPTIONS=") ||
        absl::StartsWith(*e, "XDG_RUNTIME_DIR=")) {
      continue;
    }
    env.push_back(*e);
  }
  env.push_back(absl::StrCat("COFFER_HSM_BIN=", HsmBin()));
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<std::string> CliEnv(std::vector<std::string> extra) {
  // Only for the CLI's processes: see the file for the one report it hides.
  extra.push_back(absl::StrCat("LSAN_OPTIONS=suppressions=",
                               COFFER_TEST_LSAN_CLI_SUPPRESSIONS));
  return ChildEnv(extra);
}

ProcessResult RunCoffer(const std::vector<std::string>& args,
                        const std::string& stdin_data) {
  testing::ProcessSpec spec;
  spec.argv = {CofferBin()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = CliEnv();
  spec.stdin_data = stdin_data;
  spec.timeout = std::chrono::seconds(60);
  return testing::RunProcess(spec);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

absl::StatusOr<std::unique_ptr<DevHsm>> DevHsm::Up(const std::string& mode) {
  std::unique_ptr<DevHsm> hsm(new DevHsm());
  hsm->dir_ = hsm->temp_.File("dev");
  ProcessResult up = RunCoffer({"dev-hsm", "up", "--dir", hsm->dir_, "--mode",
                                mode, "--output", "json"});
  if (up.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("coffer dev-hsm up failed:\n", up.Describe(),
                     "\n--- hsm.log ---\n", ReadAll(hsm->File("hsm.log"))));
  }
  Json doc = Json::parse(up.stdout_data, nullptr, false);
  const std::string address =
      doc.is_object() ? doc.value("hsm", std::string()) : std::string();
  if (address.empty() ||
      !absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &hsm->port_)) {
    return absl::InternalError(
        absl::StrCat("dev-hsm up printed no address:\n", up.Describe()));
  }
  return hsm;
}

DevHsm::~DevHsm() {
  const pid_t daemon = pid();
  RunCoffer({"dev-hsm", "down", "--dir", dir_});
  if (daemon > 0 && kill(daemon, 0) == 0) kill(daemon, SIGKILL);
}

pid_t DevHsm::pid() const {
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadAll(File("hsm.pid"))),
                        &pid)) {
    return -1;
  }
  return pid;
}

std::vector<std::string> DevHsm::Base(const std::string& config,
                                      const std::string& session) const {
  std::vector<std::string> args = {"--config", File(config), "--session-file",
                                   File(session + ".session")};
  if (!hsm_override_.empty()) {
    args.push_back("--hsm");
    args.push_back(hsm_override_);
  }
  return args;
}

ProcessResult DevHsm::Coffer(const std::vector<std::string>& args,
                             const std::string& stdin_data,
                             const std::string& session) const {
  std::vector<std::string> all = Base("config.json", session);
  all.insert(all.end(), args.begin(), args.end());
  return RunCoffer(all, stdin_data);
}

ProcessResult DevHsm::Service(const std::vector<std::string>& args,
                              const std::string& stdin_data) const {
  std::vector<std::string> all = Base("service.json", "service");
  all.insert(all.end(), args.begin(), args.end());
  return RunCoffer(all, stdin_data);
}

Json DevHsm::CofferJson(const std::vector<std::string>& args,
                        const std::string& session,
                        ProcessResult* result) const {
  std::vector<std::string> all = args;
  all.push_back("--output");
  all.push_back("json");
  ProcessResult r = Coffer(all, "", session);
  Json doc = Json::parse(r.stdout_data, nullptr, false);
  if (result != nullptr) *result = std::move(r);
  return doc.is_discarded() ? Json() : doc;
}

std::string DevHsm::AdminPassword() const {
  return Credentials(File("admin.credentials")).second;
}
std::string DevHsm::CuUser() const {
  return Credentials(File("cu.credentials")).first;
}
std::string DevHsm::CuPassword() const {
  return Credentials(File("cu.credentials")).second;
}

ProcessResult DevHsm::Login(const std::string& user,
                            const std::string& password,
                            const std::string& session) const {
  return Coffer({"login", "--user", user, "--password-stdin"}, password + "\n",
                session);
}

ProcessResult DevHsm::CreateCryptoUser(const std::string& name,
                                       const std::string& password) const {
  ProcessResult login = Login("admin", AdminPassword(), "admin");
  if (login.exit_code != 0) return login;
  return Coffer({"user", "create", "--name", name, "--role", "crypto-user",
                 "--password-stdin"},
                password + "\n", "admin");
}

std::set<std::string> DevHsm::KeyList(const std::string& session) const {
  ProcessResult r;
  Json doc = CofferJson({"key", "list"}, session, &r);
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  std::set<std::string> keys;
  if (!doc.is_object() || !doc["keys"].is_array()) return keys;
  for (const Json& k : doc["keys"]) {
    keys.insert(absl::StrCat(k.value("handle", ""), " ", k.value("label", "")));
  }
  return keys;
}

std::string DevHsm::StateName() const {
  ProcessResult info = Service({"hsm-info", "--output", "json"});
  Json doc = Json::parse(info.stdout_data, nullptr, false);
  return doc.is_object() ? doc.value("state", "") : "unreachable";
}

bool DevHsm::LogInCu() const {
  ProcessResult login = Login(CuUser(), CuPassword());
  EXPECT_EQ(login.exit_code, 0) << login.Describe();
  return login.exit_code == 0;
}

}  // namespace coffer::integration
