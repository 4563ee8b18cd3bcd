// The `coffer` command line against a real coffer-hsm process: the whole
// lifecycle from `coffer dev-hsm up`, then the role and key rules, each
// with a clear error and nothing lost. coffer runs as a subprocess; JSON
// output is parsed where results matter.
#include <memory>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/dev_hsm_fixture.h"

namespace coffer::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// One development HSM shared by the tests of this suite; each test uses its
// own users and keys.
class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<DevHsm>> up = DevHsm::Up("non-fips");
    if (up.ok()) {
      hsm_ = up->release();
    } else {
      setup_error_ = new std::string(up.status().ToString());
    }
  }
  static void TearDownTestSuite() {
    delete hsm_;
    hsm_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(hsm_, nullptr) << *setup_error_; }
  const DevHsm& hsm() const { return *hsm_; }

  // Creates a crypto user and logs it in to a session of the same name.
  void NewLoggedInCu(const std::string& name) {
    ProcessResult created = hsm().CreateCryptoUser(name, name + "-password");
    ASSERT_EQ(created.exit_code, 0) << created.Describe();
    ProcessResult login = hsm().Login(name, name + "-password", name);
    ASSERT_EQ(login.exit_code, 0) << login.Describe();
  }

  // Generates a key as `session`'s user; returns the (private) handle.
  // Handles are decimal strings in JSON.
  std::string Generate(const std::vector<std::string>& args,
                       const std::string& session, const char* field) {
    ProcessResult r;
    Json doc = hsm().CofferJson(args, session, &r);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    if (!doc.is_object() || !doc.contains(field)) return "";
    return doc[field].get<std::string>();
  }

  static DevHsm* hsm_;
  static std::string* setup_error_;
};

DevHsm* CliTest::hsm_ = nullptr;
std::string* CliTest::setup_error_ = nullptr;

TEST_F(CliTest, DevHsmUpGivesAnActiveHsmAndTheCuDoesRealWork) {
  Json info = hsm().CofferJson({"hsm-info"});
  ASSERT_TRUE(info.is_object());
  EXPECT_EQ(info["state"], "ACTIVE");
  EXPECT_EQ(info["mode"], "non-fips");
  EXPECT_EQ(info["cluster_id"], "dev-cluster");
  EXPECT_EQ(ReadAll(hsm().File("cu.credentials")).find(':'),
            hsm().CuUser().size());

  // The admin creates a CU; the CU logs in and works.
  NewLoggedInCu("worker");
  const std::string aes =
      Generate({"key", "generate-symmetric", "--type", "aes", "--bits", "256",
                "--label", "worker-aes"},
               "worker", "handle");
  const std::string ec = Generate({"key", "generate-asymmetric", "--type",
                                   "ec-p256", "--label", "worker-ec"},
                                  "worker", "private_handle");
  ASSERT_FALSE(aes.empty());
  ASSERT_FALSE(ec.empty());

  const std::string data = hsm().File("data.bin");
  WriteAll(data, std::string("hello\0world\xff binary", 19));
  ProcessResult sign = hsm().Coffer(
      {"crypto", "sign", "--label", "worker-ec", "--mechanism", "ecdsa-sha256",
       "--in", data, "--out", hsm().File("sig.bin")},
      "", "worker");
  ASSERT_EQ(sign.exit_code, 0) << sign.Describe();
  EXPECT_EQ(ReadAll(hsm().File("sig.bin")).size(), 64u);  // r || s
  ProcessResult verify = hsm().Coffer(
      {"crypto", "verify", "--label", "worker-ec", "--mechanism",
       "ecdsa-sha256", "--in", data, "--signature", hsm().File("sig.bin")},
      "", "worker");
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  WriteAll(hsm().File("other.bin"), "hello world, changed");
  ProcessResult bad =
      hsm().Coffer({"crypto", "verify", "--label", "worker-ec", "--mechanism",
                    "ecdsa-sha256", "--in", hsm().File("other.bin"),
                    "--signature", hsm().File("sig.bin")},
                   "", "worker");
  EXPECT_EQ(bad.exit_code, 1) << bad.Describe();

  // AES-GCM round trip through stdin/stdout: iv || ciphertext || tag.
  const std::string& handle = aes;
  ProcessResult enc = hsm().Coffer({"crypto", "encrypt", "--handle", handle,
                                    "--mechanism", "aes-gcm", "--in", data},
                                   "", "worker");
  ASSERT_EQ(enc.exit_code, 0) << enc.Describe();
  EXPECT_EQ(enc.stdout_data.size(), 12u + 19u + 16u);
  ProcessResult dec = hsm().Coffer(
      {"crypto", "decrypt", "--handle", handle, "--mechanism", "aes-gcm"},
      enc.stdout_data, "worker");
  ASSERT_EQ(dec.exit_code, 0) << dec.Describe();
  EXPECT_EQ(dec.stdout_data, ReadAll(data));

  // The CU's keys as JSON.
  Json list = hsm().CofferJson({"key", "list"}, "worker");
  ASSERT_TRUE(list.is_object()) << list;
  std::vector<std::string> labels;
  for (const Json& k : list["keys"]) {
    labels.push_back(k["label"].get<std::string>());
    EXPECT_EQ(k["owner"], "worker");
  }
  EXPECT_THAT(labels, ::testing::UnorderedElementsAre("worker-aes", "worker-ec",
                                                      "worker-ec"));

  // Logout ends the session: the next command says to log in.
  EXPECT_EQ(hsm().Coffer({"logout"}, "", "worker").exit_code, 0);
  ProcessResult after = hsm().Coffer({"key", "list"}, "", "worker");
  EXPECT_EQ(after.exit_code, 1);
  EXPECT_THAT(after.stderr_data, HasSubstr("not logged in"));
}

TEST_F(CliTest, FiveWrongPasswordsLockUntilAnAdminUnlocks) {
  ASSERT_EQ(hsm().CreateCryptoUser("locky", "locky-password").exit_code, 0);
  for (int i = 0; i < 5; ++i) {
    ProcessResult r = hsm().Login("locky", "wrong-password", "locky");
    EXPECT_EQ(r.exit_code, 1) << r.Describe();
    EXPECT_THAT(r.stderr_data, HasSubstr("wrong password"));
  }
  ProcessResult locked = hsm().Login("locky", "locky-password", "locky");
  EXPECT_EQ(locked.exit_code, 1) << locked.Describe();
  EXPECT_THAT(locked.stderr_data, HasSubstr("locked"));

  Json users = hsm().CofferJson({"user", "list"}, "admin");
  bool seen = false;
  for (const Json& u : users["users"]) {
    if (u["name"] == "locky") {
      seen = true;
      EXPECT_EQ(u["locked"], true);
    }
  }
  EXPECT_TRUE(seen) << users;

  ProcessResult unlock =
      hsm().Coffer({"user", "unlock", "--name", "locky"}, "", "admin");
  ASSERT_EQ(unlock.exit_code, 0) << unlock.Describe();
  ProcessResult login = hsm().Login("locky", "locky-password", "locky");
  EXPECT_EQ(login.exit_code, 0) << login.Describe();
}

TEST_F(CliTest, ACryptoUserCannotManageUsers) {
  NewLoggedInCu("plain-cu");
  ProcessResult r =
      hsm().Coffer({"user", "create", "--name", "sneaky", "--password-stdin"},
                   "sneaky-password\n", "plain-cu");
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_data, HasSubstr("PERMISSION_DENIED"));
  Json users = hsm().CofferJson({"user", "list"}, "admin");
  EXPECT_THAT(users.dump(), Not(HasSubstr("sneaky")));

  // The same refusal as JSON for scripts.
  ProcessResult j =
      hsm().Coffer({"user", "unlock", "--name", "admin", "--output", "json"},
                   "", "plain-cu");
  EXPECT_EQ(j.exit_code, 1);
  Json err = Json::parse(j.stderr_data, nullptr, false);
  ASSERT_TRUE(err.is_object()) << j.Describe();
  EXPECT_EQ(err["error"]["code"], "PERMISSION_DENIED");
  EXPECT_EQ(err["error"]["exit_code"], 1);
}

TEST_F(CliTest, OnlyTheOwnerDeletesAKeyAndItStillWorks) {
  NewLoggedInCu("owner");
  NewLoggedInCu("intruder");
  const std::string key = Generate(
      {"key", "generate-asymmetric", "--type", "ec-p256", "--label", "owned"},
      "owner", "private_handle");
  ASSERT_FALSE(key.empty());
  const std::string& handle = key;
  ProcessResult r = hsm().Coffer(
      {"key", "delete", "--handle", handle, "--force"}, "", "intruder");
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_data, ::testing::AnyOf(HasSubstr("PERMISSION_DENIED"),
                                              HasSubstr("NOT_FOUND")));

  ProcessResult sign = hsm().Coffer(
      {"crypto", "sign", "--handle", handle, "--mechanism", "ecdsa-sha256"},
      "still mine", "owner");
  EXPECT_EQ(sign.exit_code, 0) << sign.Describe();
  EXPECT_EQ(sign.stdout_data.size(), 64u);

  // Without --force in a pipe, nothing is destroyed either.
  ProcessResult unconfirmed =
      hsm().Coffer({"key", "delete", "--handle", handle}, "", "owner");
  EXPECT_EQ(unconfirmed.exit_code, 2) << unconfirmed.Describe();
  Json attrs =
      hsm().CofferJson({"key", "attributes", "--handle", handle}, "owner");
  EXPECT_EQ(attrs["label"], "owned") << attrs;
}

TEST_F(CliTest, ANonExtractableKeyIsNeverWrappedOut) {
  NewLoggedInCu("wrapper");
  const std::string kek = Generate(
      {"key", "generate-symmetric", "--label", "kek", "--usage", "wrap,unwrap"},
      "wrapper", "handle");
  const std::string locked =
      Generate({"key", "generate-symmetric", "--label", "stay-inside"},
               "wrapper", "handle");
  const std::string movable = Generate(
      {"key", "generate-symmetric", "--label", "movable", "--extractable"},
      "wrapper", "handle");
  ASSERT_TRUE(!kek.empty() && !locked.empty() && !movable.empty());

  ProcessResult refused =
      hsm().Coffer({"key", "wrap", "--wrapping-handle", kek, "--handle", locked,
                    "--mechanism", "aes-kwp"},
                   "", "wrapper");
  EXPECT_EQ(refused.exit_code, 1) << refused.Describe();
  EXPECT_THAT(refused.stderr_data, HasSubstr("extractable"));
  EXPECT_TRUE(refused.stdout_data.empty());

  ProcessResult wrapped = hsm().Coffer(
      {"key", "wrap", "--wrapping-handle", kek, "--handle", movable,
       "--mechanism", "aes-kwp", "--out", hsm().File("movable.wrapped")},
      "", "wrapper");
  ASSERT_EQ(wrapped.exit_code, 0) << wrapped.Describe();
  Json unwrapped =
      hsm().CofferJson({"key", "unwrap", "--unwrapping-handle", kek,
                        "--mechanism", "aes-kwp", "--type", "aes", "--label",
                        "moved", "--in", hsm().File("movable.wrapped")},
                       "wrapper");
  ASSERT_TRUE(unwrapped.is_object() && unwrapped.contains("handle"))
      << unwrapped;
}

TEST_F(CliTest, AClientCertificateFromAnUnknownCaIsRefusedInTheHandshake) {
  const std::string ca = hsm().File("rogue-ca");
  ASSERT_EQ(
      RunCoffer({"ca", "init", "--dir", ca, "--name", "Rogue CA"}).exit_code,
      0);
  ProcessResult issue =
      RunCoffer({"ca", "issue", "--dir", ca, "--name", "rogue", "--client",
                 "--out", hsm().File("rogue")});
  ASSERT_EQ(issue.exit_code, 0) << issue.Describe();
  ProcessResult r = hsm().Coffer({"--cert", hsm().File("rogue.pem"), "--key",
                                  hsm().File("rogue.key"), "hsm-info"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_THAT(r.stderr_data, HasSubstr("cannot connect"));

  // The HSM keeps serving everyone else.
  Json info = hsm().CofferJson({"hsm-info"});
  EXPECT_EQ(info["state"], "ACTIVE") << info;
}

TEST_F(CliTest, UsageErrorsExitWithTwo) {
  // No such flag: passwords are never taken from argv.
  ProcessResult r =
      RunCoffer({"login", "--user", "admin", "--password", "secret"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  // A required flag missing.
  EXPECT_EQ(RunCoffer({"key", "generate-asymmetric"}).exit_code, 2);
  // No secret source and stdin is not a terminal.
  ProcessResult no_secret = hsm().Coffer({"login", "--user", "admin"});
  EXPECT_EQ(no_secret.exit_code, 2) << no_secret.Describe();
  EXPECT_THAT(no_secret.stderr_data, HasSubstr("--password-file"));
  // An unreachable HSM is exit 3.
  ProcessResult down = hsm().Coffer({"--hsm", "127.0.0.1:1", "hsm-info"});
  EXPECT_EQ(down.exit_code, 3) << down.Describe();
}

TEST(FipsCliTest, Ed25519IsRefusedOnAFipsHsmWithTheRuleNamed) {
  absl::StatusOr<std::unique_ptr<DevHsm>> up = DevHsm::Up("fips");
  ASSERT_TRUE(up.ok()) << up.status();
  const DevHsm& hsm = **up;
  EXPECT_EQ(hsm.CofferJson({"hsm-info"})["mode"], "fips");
  ProcessResult login = hsm.Login(hsm.CuUser(), hsm.CuPassword());
  ASSERT_EQ(login.exit_code, 0) << login.Describe();

  ProcessResult r = hsm.Coffer({"key", "generate-asymmetric", "--type",
                                "ed25519", "--label", "not-in-fips"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_data, HasSubstr("FIPS"));
  Json list = hsm.CofferJson({"key", "list"});
  EXPECT_TRUE(list["keys"].empty()) << list;

  // Approved algorithms still work.
  ProcessResult ec = hsm.Coffer(
      {"key", "generate-asymmetric", "--type", "ec-p384", "--label", "ok"});
  EXPECT_EQ(ec.exit_code, 0) << ec.Describe();
}

}  // namespace
}  // namespace coffer::integration

namespace coffer::integration {
namespace {

// The lockout policy is configurable by admins only, on an HSM of its own.
TEST(LockoutPolicyCliTest, AdminsSetHowManyWrongPasswordsLockAUser) {
  auto up = DevHsm::Up();
  ASSERT_TRUE(up.ok()) << up.status();
  const DevHsm& hsm = **up;
  ASSERT_EQ(hsm.CreateCryptoUser("lina", "lina-password").exit_code, 0);
  ASSERT_EQ(hsm.Login("lina", "lina-password", "lina").exit_code, 0);
  ProcessResult r = hsm.Coffer(
      {"user", "set-lockout", "--max-failed-logins", "2"}, "", "lina");
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_data, HasSubstr("only an admin"));
  r = hsm.Coffer({"user", "set-lockout", "--max-failed-logins", "0"}, "",
                 "admin");
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  r = hsm.Coffer({"user", "set-lockout", "--max-failed-logins", "2"}, "",
                 "admin");
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(hsm.Login("lina", "wrong-password", "lina").exit_code, 1);
  }
  r = hsm.Login("lina", "lina-password", "lina");
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_data, HasSubstr("locked"));
}

// Quorum through the CLI, on an HSM of its own (it changes policy): two
// admins register approval keys made locally, user management needs 2 of
// them, and a token they both approve unlocks exactly one user creation.
TEST(QuorumCliTest, TwoAdminsApproveOneUserCreation) {
  auto up = DevHsm::Up();
  ASSERT_TRUE(up.ok()) << up.status();
  const DevHsm& hsm = **up;
  ASSERT_EQ(hsm.Login("admin", hsm.AdminPassword(), "admin").exit_code, 0);
  ProcessResult r = hsm.Coffer({"user", "create", "--name", "admin2", "--role",
                                "admin", "--password-stdin"},
                               "admin2-password\n", "admin");
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ASSERT_EQ(hsm.Login("admin2", "admin2-password", "admin2").exit_code, 0);
  for (const char* who : {"admin", "admin2"}) {
    const std::string prefix = hsm.File(std::string("quorum-") + who);
    r = hsm.Coffer({"quorum", "keygen", "--out", prefix}, "", who);
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    r = hsm.Coffer(
        {"quorum", "register-key", "--public-key", prefix + ".pub.pem"}, "",
        who);
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  r = hsm.Coffer({"quorum", "set", "--service", "user-management", "--m", "2"},
                 "", "admin");
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  const std::vector<std::string> create = {"user", "create", "--name", "carol",
                                           "--password-stdin"};
  r = hsm.Coffer(create, "carol-password\n", "admin");
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_data, HasSubstr("quorum"));

  Json token = hsm.CofferJson(
      {"quorum", "token-create", "--service", "user-management"}, "admin");
  ASSERT_TRUE(token.is_object() && token.contains("token")) << token.dump();
  const std::string id = token["token"].get<std::string>();
  for (const char* who : {"admin", "admin2"}) {
    r = hsm.Coffer(
        {"quorum", "token-approve", "--token", id, "--admin", who, "--key-file",
         hsm.File(std::string("quorum-") + who) + ".key"},
        "", who);
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  std::vector<std::string> with_token = {"--quorum-token", id};
  with_token.insert(with_token.end(), create.begin(), create.end());
  r = hsm.Coffer(with_token, "carol-password\n", "admin");
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  // The token served once.
  with_token[5] = "dave";
  r = hsm.Coffer(with_token, "dave-password\n", "admin");
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  Json users = hsm.CofferJson({"user", "list"}, "admin");
  EXPECT_THAT(users.dump(), HasSubstr("carol"));
  EXPECT_THAT(users.dump(), Not(HasSubstr("dave")));
}

}  // namespace
}  // namespace coffer::integration
