// Authentication and robustness tests: who may connect, and what a hostile
// or broken peer can do to the server (nothing beyond its own connection).
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "net/internal/net_test_fixture.h"
#include "net/internal/socket.h"
#include "net/internal/tls_stream.h"

namespace coffer::net::internal {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::AnyOf;

const auto kRefused = AnyOf(StatusIs(absl::StatusCode::kUnauthenticated),
                            StatusIs(absl::StatusCode::kUnavailable));

// Waits (bounded) for the server to close a raw TCP socket: true on EOF or
// reset, false if it stays open.
bool ServerCloses(int fd, absl::Duration limit) {
  if (!SetSocketTimeouts(fd, limit, limit).ok()) return false;
  char buf[256];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
  }
}

TEST_F(NetTest, ClientFromUnknownCaIsRefusedInHandshake) {
  StartEchoServer();
  TlsClientOptions options = ClientOptions();
  options.credentials = MakeCredentials(*pki_->stranger, pki_->ca->pem());
  EXPECT_THAT(Connect(options), kRefused);
  EXPECT_THAT(Connect(options), StatusIs(absl::StatusCode::kUnauthenticated,
                                         ::testing::HasSubstr("unknown ca")));
  EXPECT_TRUE(
      Eventually([&] { return server_->stats().rejected_handshakes == 2; }));
  EXPECT_EQ(handler_calls_.load(), 0);
  EXPECT_EQ(server_->stats().total_requests, 0);
  EXPECT_THAT(Connect(), IsOk());  // and the server keeps serving
}

TEST_F(NetTest, ClientWithoutCertificateIsRefused) {
  StartEchoServer();
  // TlsClient always presents a certificate, so drive libssl directly.
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  ASSERT_NE(ctx, nullptr);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  absl::StatusOr<UniqueFd> fd =
      ConnectTcp("127.0.0.1", server_->port(), deadline);
  ASSERT_THAT(fd, IsOk());
  absl::StatusOr<std::unique_ptr<TlsStream>> stream =
      TlsStream::Create(ctx.get(), fd->get());
  ASSERT_THAT(stream, IsOk());
  // TLS 1.3: the client's side of the handshake completes; the refusal
  // comes as an alert right after.
  absl::Status status = (*stream)->Handshake(Side::kClient, deadline);
  if (status.ok()) status = (*stream)->AwaitServerAcceptance(deadline);
  EXPECT_THAT(status, kRefused);
  EXPECT_TRUE(
      Eventually([&] { return server_->stats().rejected_handshakes == 1; }));
  EXPECT_EQ(handler_calls_.load(), 0);
}

TEST_F(NetTest, ClientThatDistrustsServerCaFails) {
  StartEchoServer();
  TlsClientOptions options = ClientOptions();
  options.credentials = MakeCredentials(*pki_->client, pki_->other_ca->pem());
  EXPECT_THAT(Connect(options), StatusIs(absl::StatusCode::kUnauthenticated,
                                         ::testing::HasSubstr("certificate")));
  EXPECT_EQ(handler_calls_.load(), 0);
}

TEST_F(NetTest, ServerNameMustMatchCertificate) {
  StartEchoServer();
  TlsClientOptions options = ClientOptions();
  options.server_name = "other.test";
  EXPECT_THAT(Connect(options), StatusIs(absl::StatusCode::kUnauthenticated,
                                         ::testing::HasSubstr("mismatch")));
  options.server_name = "127.0.0.2";
  EXPECT_THAT(Connect(options), StatusIs(absl::StatusCode::kUnauthenticated));
  options.server_name = "127.0.0.1";
  EXPECT_THAT(Connect(options), IsOk());
  options.server_name = "localhost";
  EXPECT_THAT(Connect(options), IsOk());
  options.server_name = "";  // chain only
  EXPECT_THAT(Connect(options), IsOk());
}

TEST_F(NetTest, ExpiredClientCertificateIsRefused) {
  StartEchoServer();
  crypto::CertificateSpec spec = ClientSpec("late");
  spec.not_before_unix -= 2 * 86400;
  spec.not_after_unix -= 2 * 86400;
  absl::StatusOr<IssuedCertificate> expired = pki_->ca->Issue(spec);
  ASSERT_THAT(expired, IsOk());
  TlsClientOptions options = ClientOptions();
  options.credentials = MakeCredentials(*expired, pki_->ca->pem());
  EXPECT_THAT(Connect(options), kRefused);
  EXPECT_EQ(handler_calls_.load(), 0);
}

TEST_F(NetTest, GarbageBytesDoNotHurtTheServer) {
  StartEchoServer();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<UniqueFd> fd = ConnectTcp("127.0.0.1", server_->port(),
                                             absl::Now() + absl::Seconds(5));
    ASSERT_THAT(fd, IsOk());
    std::string junk = absl::StrCat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", i);
    junk.append(4096, static_cast<char>(0x16 + i));
    ASSERT_GT(send(fd->get(), junk.data(), junk.size(), MSG_NOSIGNAL), 0);
    EXPECT_TRUE(ServerCloses(fd->get(), absl::Seconds(5)));
  }
  EXPECT_TRUE(
      Eventually([&] { return server_->stats().rejected_handshakes == 3; }));
  absl::StatusOr<TlsClient> client = Connect();
  ASSERT_THAT(client, IsOk());
  EXPECT_THAT(client->Call(Bytes{1, 2, 3}), IsOk());
}

TEST_F(NetTest, SilentTcpClientTimesOutWithoutBlockingOthers) {
  TlsServerOptions options = ServerOptions();
  options.handshake_timeout = absl::Milliseconds(300);
  StartEchoServer(std::move(options));
  absl::StatusOr<UniqueFd> silent =
      ConnectTcp("127.0.0.1", server_->port(), absl::Now() + absl::Seconds(5));
  ASSERT_THAT(silent, IsOk());
  // While it sits in its handshake, others connect and work.
  absl::StatusOr<TlsClient> client = Connect();
  ASSERT_THAT(client, IsOk());
  EXPECT_THAT(client->Call(Bytes{42}), IsOk());
  EXPECT_TRUE(ServerCloses(silent->get(), absl::Seconds(3)));
  EXPECT_TRUE(
      Eventually([&] { return server_->stats().rejected_handshakes == 1; }));
  EXPECT_THAT(client->Call(Bytes{43}), IsOk());
}

TEST_F(NetTest, PeerVanishingMidResponseDoesNotKillTheProcess) {
  // Writing to a socket the peer has reset would raise SIGPIPE without
  // MSG_NOSIGNAL; the default disposition would end this test binary.
  StartEchoServer();
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<TlsClient> client = Connect();
    ASSERT_THAT(client, IsOk());
    for (int j = 0; j < 3; ++j) ASSERT_THAT(client->Send(Bytes(50000)), IsOk());
    // Dropped without reading: the server is still writing responses.
  }
  absl::StatusOr<TlsClient> client = Connect();
  ASSERT_THAT(client, IsOk());
  EXPECT_THAT(client->Call(Bytes{1}), IsOk());
}

}  // namespace
}  // namespace coffer::net::internal
