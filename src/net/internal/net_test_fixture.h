// Test-only: the fixture shared by the net tests. One PKI per test binary
// (key generation is the slow part): a trusted CA that issued the server
// and client certificates, and an unrelated CA nobody trusts.
#ifndef COFFER_NET_INTERNAL_NET_TEST_FIXTURE_H_
#define COFFER_NET_INTERNAL_NET_TEST_FIXTURE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "net/internal/test_pki.h"
#include "net/tls_client.h"
#include "net/tls_server.h"
#include "testing/status_matchers.h"

namespace coffer::net::internal {

struct TestPki {
  std::optional<TestCa> ca, other_ca;
  std::optional<IssuedCertificate> server, client, stranger;
};

class NetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TestPki();
    auto ca = TestCa::Create("Test CA");
    auto other_ca = TestCa::Create("Other CA");
    ASSERT_TRUE(ca.ok() && other_ca.ok());
    pki_->ca.emplace(*std::move(ca));
    pki_->other_ca.emplace(*std::move(other_ca));
    auto server = pki_->ca->Issue(ServerSpec("server.test"));
    auto client = pki_->ca->Issue(ClientSpec("alice"));
    auto stranger = pki_->other_ca->Issue(ClientSpec("mallory"));
    ASSERT_TRUE(server.ok() && client.ok() && stranger.ok());
    pki_->server.emplace(*std::move(server));
    pki_->client.emplace(*std::move(client));
    pki_->stranger.emplace(*std::move(stranger));
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  static TlsServerOptions ServerOptions() {
    TlsServerOptions options;
    options.credentials = MakeCredentials(*pki_->server, pki_->ca->pem());
    return options;
  }
  static TlsClientOptions ClientOptions() {
    TlsClientOptions options;
    options.credentials = MakeCredentials(*pki_->client, pki_->ca->pem());
    options.server_name = "server.test";
    return options;
  }

  // Starts `server_` with an echo handler that counts its calls.
  void StartEchoServer(TlsServerOptions options = ServerOptions()) {
    auto server = TlsServer::Create(
        std::move(options),
        [this](ByteView request, const PeerIdentity&, FrameStream&) {
          handler_calls_.fetch_add(1);
          return Bytes(request.begin(), request.end());
        });
    ASSERT_THAT(server, testing::IsOk());
    server_ = *std::move(server);
    ASSERT_THAT(server_->Start(), testing::IsOk());
  }

  absl::StatusOr<TlsClient> Connect(
      const TlsClientOptions& options = ClientOptions()) {
    return TlsClient::Connect("127.0.0.1", server_->port(), options);
  }

  // Polls `condition` for up to `limit`.
  static bool Eventually(const std::function<bool()>& condition,
                         absl::Duration limit = absl::Seconds(5)) {
    const absl::Time deadline = absl::Now() + limit;
    while (!condition()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  static inline TestPki* pki_ = nullptr;
  std::atomic<int> handler_calls_{0};
  std::unique_ptr<TlsServer> server_;
};

}  // namespace coffer::net::internal

#endif  // COFFER_NET_INTERNAL_NET_TEST_FIXTURE_H_
