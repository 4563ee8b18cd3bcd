// Functional tests of TlsServer / TlsClient over real loopback sockets.
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "crypto/hash.h"
#include "net/frame.h"
#include "net/internal/net_test_fixture.h"

namespace coffer::net::internal {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;

Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

TEST(FrameTest, HeaderIsBigEndian) {
  uint8_t header[kFrameHeaderSize];
  EncodeFrameHeader(0x01020304, header);
  EXPECT_EQ(header[0], 1);
  EXPECT_EQ(header[3], 4);
  EXPECT_EQ(DecodeFrameHeader(header), 0x01020304u);
}

TEST_F(NetTest, EchoRoundTripCarriesBothIdentities) {
  PeerIdentity seen;
  auto server = TlsServer::Create(
      ServerOptions(),
      [&seen](ByteView request, const PeerIdentity& peer, FrameStream&) {
        seen = peer;
        return Bytes(request.begin(), request.end());
      });
  ASSERT_THAT(server, IsOk());
  server_ = *std::move(server);
  ASSERT_THAT(server_->Start(), IsOk());
  ASSERT_NE(server_->port(), 0);

  absl::StatusOr<TlsClient> client = Connect();
  ASSERT_THAT(client, IsOk());
  EXPECT_EQ(client->server().subject_common_name, "server.test");
  EXPECT_EQ(client->server().issuer_common_name, "Test CA");
  absl::StatusOr<Bytes> response = client->Call(ToBytes("hello"));
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(*response, ToBytes("hello"));

  EXPECT_EQ(seen.subject_common_name, "alice");
  EXPECT_EQ(seen.subject_organization, "Coffer");
  EXPECT_EQ(seen.issuer_common_name, "Test CA");
  EXPECT_EQ(seen.certificate_der, pki_->client->certificate.ToDer());
  auto digest = crypto::Digest(crypto::HashAlg::kSha256, seen.certificate_der);
  ASSERT_THAT(digest, IsOk());
  EXPECT_EQ(seen.sha256_fingerprint, *digest);
  EXPECT_EQ(seen.sha256_fingerprint.size(), 32u);
  EXPECT_EQ(server_->stats().total_requests, 1);
  EXPECT_EQ(server_->stats().open_connections, 1);
}

TEST_F(NetTest, EmptyAndMaximumFrames) {
  StartEchoServer();
  absl::StatusOr<TlsClient> client = Connect();
  ASSERT_THAT(client, IsOk());
  absl::StatusOr<Bytes> empty = client->Call({});
  ASSERT_THAT(empty, IsOk());
  EXPECT_TRUE(empty->empty());
  Bytes big(kDefaultMaxFrameSize);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  absl::StatusOr<Bytes> echoed = client->Call(big);
  ASSERT_THAT(echoed, IsOk());
  EXPECT_EQ(*echoed, big);
  // Still fine for small frames after the buffers grew and shrank.
  EXPECT_THAT(client->Call(ToBytes("small")), IsOk());
}

TEST_F(NetTest, ManySequentialClients) {
  StartEchoServer();
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<TlsClient> client = Connect();
    ASSERT_THAT(client, IsOk()) << "connection " << i;
    const Bytes request = ToBytes(absl::StrCat("request ", i));
    absl::StatusOr<Bytes> response = client->Call(request);
    ASSERT_THAT(response, IsOk());
    EXPECT_EQ(*response, request);
  }
  EXPECT_TRUE(
      Eventually([&] { return server_->stats().open_connections == 0; }));
  EXPECT_EQ(server_->stats().total_requests, 30);
}

TEST_F(NetTest, ConcurrentClients) {
  StartEchoServer();
  constexpr int kThreads = 8;
  constexpr int kCalls = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      absl::StatusOr<TlsClient> client = Connect();
      if (!client.ok()) {
        failures.fetch_add(1);
        return;
      }
      for (int i = 0; i < kCalls; ++i) {
        const Bytes request = ToBytes(absl::StrCat(t, "/", i));
        absl::StatusOr<Bytes> response = client->Call(request);
        if (!response.ok() || *response != request) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(server_->stats().total_requests, kThreads * kCalls);
  EXPECT_EQ(server_->stats().requests_in_flight, 0);
}

TEST_F(NetTest, PipelinedResponsesComeBackInOrder) {
  StartEchoServer();
  absl::StatusOr<TlsClient> client = Connect();
  ASSERT_THAT(client, IsOk());
  for (int i = 0; i < 100; ++i) {
    ASSERT_THAT(client->Send(ToBytes(absl::StrCat("request ", i))), IsOk());
  }
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<Bytes> response = client->Receive();
    ASSERT_THAT(response, IsOk());
    EXPECT_EQ(*response, ToBytes(absl::StrCat("request ", i)));
  }
}

TEST_F(NetTest, OversizeFrameClosesOnlyThatConnection) {
  TlsServerOptions options = ServerOptions();
  options.max_frame_size = 1024;
  std::atomic<int> reported{0};
  options.on_connection_error = [&reported](const absl::Status& status) {
    if (status.code() == absl::StatusCode::kResourceExhausted) ++reported;
  };
  StartEchoServer(std::move(options));
  absl::StatusOr<TlsClient> good = Connect();
  absl::StatusOr<TlsClient> bad = Connect();
  ASSERT_THAT(good, IsOk());
  ASSERT_THAT(bad, IsOk());
  EXPECT_THAT(bad->Call(Bytes(1025)), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(bad->is_open());
  EXPECT_THAT(bad->Call(Bytes(1)), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(good->Call(Bytes(1024)), IsOk());
  EXPECT_EQ(server_->stats().oversize_frames, 1);
  EXPECT_TRUE(Eventually([&] { return reported.load() == 1; }));
  EXPECT_THAT(Connect(), IsOk());
}

TEST_F(NetTest, ClientChecksFrameSizesBothWays) {
  // Responses twice the size of their request.
  auto server = TlsServer::Create(
      ServerOptions(), [](ByteView request, const PeerIdentity&, FrameStream&) {
        return Bytes(2 * request.size(), 7);
      });
  ASSERT_THAT(server, IsOk());
  server_ = *std::move(server);
  ASSERT_THAT(server_->Start(), IsOk());
  TlsClientOptions options = ClientOptions();
  options.max_frame_size = 100;
  absl::StatusOr<TlsClient> client = Connect(options);
  ASSERT_THAT(client, IsOk());
  // A request over the limit is refused locally; the connection survives.
  EXPECT_THAT(client->Send(Bytes(101)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(client->Call(Bytes(50)), IsOk());
  // A response over the limit closes the connection.
  EXPECT_THAT(client->Call(Bytes(51)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_FALSE(client->is_open());
  EXPECT_THAT(client->Call(Bytes(1)), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(NetTest, IdleTimeoutClosesSilentConnection) {
  TlsServerOptions options = ServerOptions();
  options.idle_timeout = absl::Milliseconds(300);
  StartEchoServer(std::move(options));
  absl::StatusOr<TlsClient> client = Connect();
  ASSERT_THAT(client, IsOk());
  ASSERT_THAT(client->Call(ToBytes("ping")), IsOk());
  EXPECT_TRUE(Eventually([&] { return server_->stats().open_connections == 0; },
                         absl::Seconds(3)));
  EXPECT_THAT(client->Call(ToBytes("ping")),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(NetTest, MaxConnectionsIsEnforced) {
  TlsServerOptions options = ServerOptions();
  options.max_connections = 2;
  StartEchoServer(std::move(options));
  absl::StatusOr<TlsClient> first = Connect();
  absl::StatusOr<TlsClient> second = Connect();
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(Connect(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(server_->stats().refused_connections, 1);
  EXPECT_THAT(first->Call(ToBytes("still here")), IsOk());
  first->Close();
  EXPECT_TRUE(
      Eventually([&] { return server_->stats().open_connections == 1; }));
  EXPECT_THAT(Connect(), IsOk());
}

TEST_F(NetTest, StopWithOpenConnectionsIsPrompt) {
  StartEchoServer();
  std::vector<TlsClient> clients;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<TlsClient> client = Connect();
    ASSERT_THAT(client, IsOk());
    clients.push_back(*std::move(client));
  }
  ASSERT_THAT(clients[0].Call(ToBytes("x")), IsOk());
  const uint16_t port = server_->port();
  const absl::Time start = absl::Now();
  server_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  for (TlsClient& client : clients) {
    EXPECT_THAT(client.Call(ToBytes("x")),
                StatusIs(absl::StatusCode::kUnavailable));
  }
  EXPECT_THAT(TlsClient::Connect("127.0.0.1", port, ClientOptions()),
              StatusIs(absl::StatusCode::kUnavailable));
  server_->Stop();  // idempotent
  EXPECT_THAT(server_->Start(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(NetTest, UpdateCredentialsAppliesToNewConnections) {
  StartEchoServer();
  absl::StatusOr<TlsClient> old_client = Connect();
  ASSERT_THAT(old_client, IsOk());
  absl::StatusOr<IssuedCertificate> cluster =
      pki_->ca->Issue(ServerSpec("cluster-1"));
  ASSERT_THAT(cluster, IsOk());
  ASSERT_THAT(
      server_->UpdateCredentials(MakeCredentials(*cluster, pki_->ca->pem())),
      IsOk());
  absl::StatusOr<TlsClient> new_client = Connect();
  ASSERT_THAT(new_client, IsOk());
  EXPECT_EQ(new_client->server().subject_common_name, "cluster-1");
  EXPECT_EQ(old_client->server().subject_common_name, "server.test");
  EXPECT_THAT(old_client->Call(ToBytes("old")), IsOk());
  EXPECT_THAT(new_client->Call(ToBytes("new")), IsOk());
  // A bad update changes nothing.
  TlsCredentials bad = MakeCredentials(*cluster, "not a certificate");
  EXPECT_THAT(server_->UpdateCredentials(bad),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<TlsClient> third = Connect();
  ASSERT_THAT(third, IsOk());
  EXPECT_EQ(third->server().subject_common_name, "cluster-1");
}

// A handler for the streaming tests: "send N" answers N extra frames, then
// "done"; "collect" reads request frames until an empty one and answers
// their concatenation; anything else is echoed.
Bytes StreamingHandler(ByteView request, FrameStream& stream,
                       absl::Status* receive_error) {
  const std::string text(request.begin(), request.end());
  if (text.rfind("send ", 0) == 0) {
    const int n = std::stoi(text.substr(5));
    for (int i = 0; i < n; ++i) {
      if (!stream.Send(ToBytes(absl::StrCat("part-", i))).ok()) return {};
    }
    return ToBytes("done");
  }
  if (text == "collect") {
    Bytes all;
    for (;;) {
      absl::StatusOr<ByteView> next = stream.Receive();
      if (!next.ok()) {
        *receive_error = next.status();
        return ToBytes("unreachable");
      }
      if (next->empty()) return all;
      all.insert(all.end(), next->begin(), next->end());
    }
  }
  return Bytes(request.begin(), request.end());
}

class StreamingTest : public NetTest {
 protected:
  void SetUp() override {
    TlsServerOptions options = ServerOptions();
    options.max_frame_size = 1024;
    auto server = TlsServer::Create(
        std::move(options),
        [this](ByteView request, const PeerIdentity&, FrameStream& stream) {
          absl::MutexLock lock(&mu_);
          return StreamingHandler(request, stream, &receive_error_);
        });
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    ASSERT_THAT(server_->Start(), IsOk());
  }
  absl::Status receive_error() {
    absl::MutexLock lock(&mu_);
    return receive_error_;
  }
  absl::Mutex mu_;
  absl::Status receive_error_;
};

TEST_F(StreamingTest, AStreamedResponseComesBeforeTheReturnValue) {
  absl::StatusOr<TlsClient> client = Connect();
  ASSERT_THAT(client, IsOk());
  // Pipelined behind an ordinary request: the order is kept.
  ASSERT_THAT(client->Send(ToBytes("first")), IsOk());
  ASSERT_THAT(client->Send(ToBytes("send 3")), IsOk());
  for (const char* want : {"first", "part-0", "part-1", "part-2", "done"}) {
    absl::StatusOr<Bytes> got = client->Receive();
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(*got, ToBytes(want));
  }
  // The connection is in step afterwards.
  EXPECT_THAT(client->Call(ToBytes("again")), IsOk());
  EXPECT_EQ(server_->stats().total_requests, 3);
}

TEST_F(StreamingTest, AStreamedRequestIsReadOnTheSameConnection) {
  absl::StatusOr<TlsClient> client = Connect();
  ASSERT_THAT(client, IsOk());
  // The echo ahead of it is answered although the handler that follows
  // waits for more frames: Receive() flushes queued responses first.
  ASSERT_THAT(client->Send(ToBytes("echo")), IsOk());
  ASSERT_THAT(client->Send(ToBytes("collect")), IsOk());
  absl::StatusOr<Bytes> echo = client->Receive();
  ASSERT_THAT(echo, IsOk());
  EXPECT_EQ(*echo, ToBytes("echo"));
  for (const char* part : {"ab", "cd", ""}) {
    ASSERT_THAT(client->Send(ToBytes(part)), IsOk());
  }
  absl::StatusOr<Bytes> all = client->Receive();
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(*all, ToBytes("abcd"));
  EXPECT_THAT(client->Call(ToBytes("after")), IsOk());
  EXPECT_EQ(server_->stats().total_requests, 3);  // frames read are not
}

TEST_F(StreamingTest, AnAbortedOrOversizedStreamClosesOnlyItsConnection) {
  absl::StatusOr<TlsClient> quitter = Connect();
  ASSERT_THAT(quitter, IsOk());
  ASSERT_THAT(quitter->Send(ToBytes("collect")), IsOk());
  ASSERT_THAT(quitter->Send(ToBytes("partial")), IsOk());
  quitter->Close();
  EXPECT_TRUE(Eventually([&] {
    return receive_error().code() == absl::StatusCode::kUnavailable;
  }));

  TlsClientOptions big = ClientOptions();
  big.max_frame_size = 4096;
  absl::StatusOr<TlsClient> oversize = Connect(big);
  ASSERT_THAT(oversize, IsOk());
  ASSERT_THAT(oversize->Send(ToBytes("collect")), IsOk());
  ASSERT_THAT(oversize->Send(Bytes(2000)), IsOk());
  EXPECT_FALSE(oversize->Receive().ok());
  EXPECT_EQ(receive_error().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(server_->stats().oversize_frames, 1);

  absl::StatusOr<TlsClient> other = Connect();
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(other->Call(ToBytes("still serving")), IsOk());
}

TEST_F(NetTest, BadOptionsAreInvalidArgument) {
  const auto echo = [](ByteView r, const PeerIdentity&, FrameStream&) {
    return Bytes(r.begin(), r.end());
  };
  TlsServerOptions options = ServerOptions();
  options.max_frame_size = 0;
  EXPECT_THAT(TlsServer::Create(std::move(options), echo),
              StatusIs(absl::StatusCode::kInvalidArgument));
  options = ServerOptions();
  options.credentials.certificate_chain_pem = "garbage";
  EXPECT_THAT(TlsServer::Create(std::move(options), echo),
              StatusIs(absl::StatusCode::kInvalidArgument));
  options = ServerOptions();
  options.credentials.private_key_pem =
      crypto::SecretBytes::CopyOf(ToBytes("not a key"));
  EXPECT_THAT(TlsServer::Create(std::move(options), echo),
              StatusIs(absl::StatusCode::kInvalidArgument));
  options = ServerOptions();  // a key that belongs to another certificate
  options.credentials.private_key_pem = pki_->client->key_pem.Clone();
  EXPECT_THAT(TlsServer::Create(std::move(options), echo),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("does not match")));
  options = ServerOptions();
  options.credentials.trust_anchors_pem = "";
  EXPECT_THAT(TlsServer::Create(std::move(options), echo),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TlsServer::Create(ServerOptions(), nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));

  StartEchoServer();
  TlsClientOptions client_options = ClientOptions();
  client_options.io_timeout = absl::ZeroDuration();
  EXPECT_THAT(Connect(client_options),
              StatusIs(absl::StatusCode::kInvalidArgument));
  client_options = ClientOptions();
  client_options.credentials.private_key_pem = crypto::SecretBytes();
  EXPECT_THAT(Connect(client_options),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(NetTest, ConnectToClosedPortIsUnavailable) {
  StartEchoServer();
  const uint16_t port = server_->port();
  server_.reset();
  EXPECT_THAT(TlsClient::Connect("127.0.0.1", port, ClientOptions()),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace coffer::net::internal
