// coffer-hsm as a process: bad bytes on the wire (through net::TlsClient
// and a raw socket), restarts, a tampered state file and the tamper signal.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/hsm_client.h"
#include "coffer/hsm/v1/hsm.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/tls_client.h"
#include "tests/integration/dev_hsm_fixture.h"

namespace coffer::integration {
namespace {

namespace pb = ::coffer::hsm::v1;
using ::testing::HasSubstr;

net::TlsClientOptions ClientOptions(const DevHsm& hsm) {
  net::TlsClientOptions options;
  options.credentials.certificate_chain_pem = ReadAll(hsm.File("client.pem"));
  const std::string key = ReadAll(hsm.File("client.key"));
  options.credentials.private_key_pem =
      crypto::SecretBytes::CopyOf(AsBytes(key));
  options.credentials.trust_anchors_pem = ReadAll(hsm.File("trust.pem"));
  options.max_frame_size = size_t{4} << 20;  // lets this client send more
  options.io_timeout = absl::Seconds(10);
  return options;
}

pb::Response Parse(const Bytes& frame) {
  pb::Response response;
  EXPECT_TRUE(
      response.ParseFromArray(frame.data(), static_cast<int>(frame.size())));
  return response;
}

// The HSM answers get_info over a fresh connection.
void ExpectServing(const DevHsm& hsm) {
  absl::StatusOr<client::HsmClient> c = client::HsmClient::Connect(
      {"127.0.0.1", static_cast<uint16_t>(hsm.port())}, ClientOptions(hsm));
  ASSERT_TRUE(c.ok()) << c.status();
  pb::Request request;
  request.mutable_get_info();
  absl::StatusOr<pb::Response> r = c->Call(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->get_info().state(), pb::HSM_STATE_ACTIVE);
}

// Starts coffer-hsm on the dev HSM's data directory on a fresh port and
// points later commands at it.
absl::StatusOr<testing::BackgroundProcess> Restart(DevHsm& hsm) {
  const std::string port_file = hsm.File("restart.port");
  std::remove(port_file.c_str());
  testing::ProcessSpec spec;
  spec.argv = {HsmBin(),      "--data-dir",  hsm.File("hsm"), "--listen",
               "127.0.0.1:0", "--port-file", port_file};
  spec.env = ChildEnv();
  absl::StatusOr<testing::BackgroundProcess> daemon =
      testing::BackgroundProcess::Start(spec, hsm.File("restart.log"));
  if (!daemon.ok()) return daemon.status();
  for (int i = 0; i < 1000; ++i) {
    int port = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadAll(port_file)),
                         &port) &&
        port > 0) {
      hsm.set_hsm_override(absl::StrCat("127.0.0.1:", port));
      return daemon;
    }
    if (!daemon->running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::InternalError(absl::StrCat("coffer-hsm did not restart:\n",
                                          ReadAll(hsm.File("restart.log"))));
}

std::unique_ptr<DevHsm> UpAndLogInCu() {
  absl::StatusOr<std::unique_ptr<DevHsm>> up = DevHsm::Up();
  EXPECT_TRUE(up.ok()) << up.status();
  if (!up.ok()) return nullptr;
  ProcessResult login = (*up)->Login((*up)->CuUser(), (*up)->CuPassword());
  EXPECT_EQ(login.exit_code, 0) << login.Describe();
  return *std::move(up);
}

TEST(HsmProcessTest, MalformedAndOversizedRequestsGetErrorsAndTheHsmServes) {
  std::unique_ptr<DevHsm> hsm = UpAndLogInCu();
  ASSERT_NE(hsm, nullptr);
  absl::StatusOr<net::TlsClient> conn = net::TlsClient::Connect(
      "127.0.0.1", static_cast<uint16_t>(hsm->port()), ClientOptions(*hsm));
  ASSERT_TRUE(conn.ok()) << conn.status();

  // Bytes that are not a Request: an error response, connection kept.
  const std::string garbage = "\xff\xff\xff\x07not a protobuf at all";
  absl::StatusOr<Bytes> reply = conn->Call(AsBytes(garbage));
  ASSERT_TRUE(reply.ok()) << reply.status();
  pb::Response response = Parse(*reply);
  EXPECT_EQ(response.status().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(response.status().message(), HasSubstr("malformed request"));

  // An empty frame names no operation; a made-up session is refused.
  reply = conn->Call(ByteView());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(Parse(*reply).status().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  pb::Request forged;
  forged.set_session(std::string(64, 'a'));
  forged.mutable_list_users();
  reply = conn->Call(AsBytes(forged.SerializeAsString()));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(Parse(*reply).status().code(),
            static_cast<int>(absl::StatusCode::kUnauthenticated));

  // A frame over the server's 1 MiB limit closes that connection only.
  const std::string huge(size_t{2} << 20, 'x');
  absl::StatusOr<Bytes> too_big = conn->Call(AsBytes(huge));
  EXPECT_FALSE(too_big.ok());
  EXPECT_FALSE(conn->is_open());

  // Not TLS at all, and a connection that stops mid-handshake.
  for (const std::string& junk :
       {std::string("GET / HTTP/1.0\r\n\r\n"), std::string("\x16\x03\x01")}) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(hsm->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(send(fd, junk.data(), junk.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(junk.size()));
    close(fd);
  }

  ExpectServing(*hsm);
  ProcessResult keys = hsm->Coffer({"key", "list"});
  EXPECT_EQ(keys.exit_code, 0) << keys.Describe();
}

TEST(HsmProcessTest, ARestartKeepsUsersAndTokenKeys) {
  std::unique_ptr<DevHsm> hsm = UpAndLogInCu();
  ASSERT_NE(hsm, nullptr);
  ProcessResult gen = hsm->Coffer({"key", "generate-asymmetric", "--type",
                                   "ec-p256", "--label", "survivor"});
  ASSERT_EQ(gen.exit_code, 0) << gen.Describe();
  ProcessResult temp = hsm->Coffer(
      {"key", "generate-symmetric", "--label", "ephemeral", "--session"});
  ASSERT_EQ(temp.exit_code, 0) << temp.Describe();
  ASSERT_EQ(RunCoffer({"dev-hsm", "down", "--dir", hsm->dir()}).exit_code, 0);

  absl::StatusOr<testing::BackgroundProcess> daemon = Restart(*hsm);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  // Sessions live in memory: the old one is gone.
  ProcessResult stale = hsm->Coffer({"key", "list"});
  EXPECT_EQ(stale.exit_code, 1) << stale.Describe();
  EXPECT_THAT(stale.stderr_data, HasSubstr("log in again"));

  ASSERT_EQ(hsm->Login(hsm->CuUser(), hsm->CuPassword()).exit_code, 0);
  Json list = hsm->CofferJson({"key", "list"});
  ASSERT_TRUE(list.is_object()) << list;
  std::vector<std::string> labels;
  for (const Json& k : list["keys"]) {
    labels.push_back(k["label"].get<std::string>());
  }
  EXPECT_THAT(labels, ::testing::UnorderedElementsAre("survivor", "survivor"));

  ProcessResult sign =
      hsm->Coffer({"crypto", "sign", "--label", "survivor", "--mechanism",
                   "ecdsa-sha256", "--out", hsm->File("sig")},
                  "signed after a restart");
  ASSERT_EQ(sign.exit_code, 0) << sign.Describe();
  ProcessResult verify =
      hsm->Coffer({"crypto", "verify", "--label", "survivor", "--mechanism",
                   "ecdsa-sha256", "--signature", hsm->File("sig")},
                  "signed after a restart");
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();

  ASSERT_EQ(hsm->Login("admin", hsm->AdminPassword(), "admin").exit_code, 0);
  Json users = hsm->CofferJson({"user", "list"}, "admin");
  EXPECT_THAT(users.dump(), HasSubstr(hsm->CuUser()));
}

// Flips one byte inside the sealed blob of a stored key record.
void TamperWithAKeyRecord(const std::string& db_path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(("file:" + db_path + "?immutable=1").c_str(), &db,
                            SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr),
            SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT sealed FROM records WHERE "
                               "CAST(kind AS TEXT) = 'key' LIMIT 1",
                               -1, &stmt, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW) << "no key record in " << db_path;
  const std::string blob(static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                         static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
  sqlite3_finalize(stmt);
  sqlite3_close(db);

  std::string file = ReadAll(db_path);
  const size_t at = file.find(blob);
  ASSERT_NE(at, std::string::npos) << "the sealed blob is not in the file";
  file[at + blob.size() / 2] ^= 0x01;
  WriteAll(db_path, file);
}

TEST(HsmProcessTest, ATamperedStateFileIsReportedAndRefused) {
  std::unique_ptr<DevHsm> hsm = UpAndLogInCu();
  ASSERT_NE(hsm, nullptr);
  ASSERT_EQ(
      hsm->Coffer({"key", "generate-symmetric", "--label", "k"}).exit_code, 0);
  ASSERT_EQ(RunCoffer({"dev-hsm", "down", "--dir", hsm->dir()}).exit_code, 0);
  TamperWithAKeyRecord(hsm->File("hsm/state.db"));

  absl::StatusOr<testing::BackgroundProcess> daemon = Restart(*hsm);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  ProcessResult info = hsm->Service({"hsm-info", "--output", "json"});
  ASSERT_EQ(info.exit_code, 0) << info.Describe();
  Json doc = Json::parse(info.stdout_data, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << info.Describe();
  EXPECT_EQ(doc["state"], "TAMPERED") << doc;
  EXPECT_THAT(doc.value("tamper_reason", ""),
              HasSubstr("failed authentication"));

  ProcessResult login =
      hsm->Service({"login", "--user", hsm->CuUser(), "--password-stdin"},
                   hsm->CuPassword() + "\n");
  EXPECT_EQ(login.exit_code, 1) << login.Describe();
  EXPECT_THAT(login.stderr_data, HasSubstr("TAMPERED"));
  // The customer's trust anchor went with the cluster identity: customer
  // certificates are refused in the handshake until a restore.
  EXPECT_EQ(hsm->Coffer({"hsm-info"}).exit_code, 3);
  EXPECT_TRUE(daemon->running());
}

TEST(HsmProcessTest, TheTamperSignalErasesAndRefuses) {
  std::unique_ptr<DevHsm> hsm = UpAndLogInCu();
  ASSERT_NE(hsm, nullptr);
  ASSERT_EQ(
      hsm->Coffer({"key", "generate-symmetric", "--label", "k"}).exit_code, 0);
  ASSERT_GT(hsm->pid(), 0);
  ASSERT_EQ(kill(hsm->pid(), SIGUSR1), 0);

  Json doc = Json::object();
  for (int i = 0; i < 100 && doc.value("state", "") != "TAMPERED"; ++i) {
    ProcessResult info = hsm->Service({"hsm-info", "--output", "json"});
    doc = Json::parse(info.stdout_data, nullptr, false);
    if (!doc.is_object()) doc = Json::object();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(doc["state"], "TAMPERED") << doc;
  EXPECT_THAT(doc.value("tamper_reason", ""), HasSubstr("SIGUSR1"));
  EXPECT_EQ(doc["keys"], 0);
  EXPECT_EQ(doc["users"], 0);

  ProcessResult login =
      hsm->Service({"login", "--user", "admin", "--password-stdin"},
                   hsm->AdminPassword() + "\n");
  EXPECT_EQ(login.exit_code, 1) << login.Describe();
  EXPECT_THAT(login.stderr_data, HasSubstr("TAMPERED"));
  ProcessResult use = hsm->Coffer({"key", "list"});
  EXPECT_NE(use.exit_code, 0) << use.Describe();
}

}  // namespace
}  // namespace coffer::integration
