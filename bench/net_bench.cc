// Throughput and cost of the lean TLS transport: an in-process echo
// TlsServer and 1 or 2 client threads, each with its own connection, doing
// 100-byte request/response calls. Informational; asserts nothing.
//
//   net_bench [seconds per row, default 3]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "net/internal/test_pki.h"
#include "net/tls_client.h"
#include "net/tls_server.h"

namespace coffer::net {
namespace {

using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  rusage usage = {};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) +
           static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Row {
  int threads = 0;
  int depth = 0;  // requests in flight per connection
  double requests_per_second = 0;
  double p50_us = 0, p99_us = 0, cpu_us_per_request = 0;
  bool ok = true;
};

// One client thread: calls in batches of `depth` pipelined requests until
// `stop`, recording each batch's latency per request.
void RunClient(const TlsClientOptions& options, uint16_t port, int depth,
               const std::atomic<bool>& go, const std::atomic<bool>& stop,
               std::vector<double>& latencies_us, long& requests, bool& ok) {
  absl::StatusOr<TlsClient> client =
      TlsClient::Connect("127.0.0.1", port, options);
  if (!client.ok()) {
    std::fprintf(stderr, "connect: %s\n", client.status().ToString().c_str());
    ok = false;
    return;
  }
  const Bytes request(100, 0x5a);
  for (int i = 0; i < 200; ++i) (void)client->Call(request);  // warm up
  while (!go.load()) std::this_thread::yield();
  latencies_us.reserve(1 << 20);
  while (!stop.load(std::memory_order_relaxed)) {
    const Clock::time_point t0 = Clock::now();
    for (int i = 0; i < depth; ++i) ok &= client->Send(request).ok();
    for (int i = 0; i < depth; ++i) ok &= client->Receive().ok();
    if (!ok) return;
    const double us =
        std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    latencies_us.push_back(us);
    requests += depth;
  }
}

Row Measure(const internal::TestCa& ca, const internal::IssuedCertificate& leaf,
            uint16_t port, int threads, int depth, double seconds) {
  std::vector<TlsClientOptions> options(static_cast<size_t>(threads));
  for (TlsClientOptions& o : options) {
    o.credentials = internal::MakeCredentials(leaf, ca.pem());
    o.server_name = "127.0.0.1";
  }
  std::vector<std::vector<double>> latencies(static_cast<size_t>(threads));
  std::vector<long> requests(static_cast<size_t>(threads), 0);
  std::vector<char> oks(static_cast<size_t>(threads), 1);
  std::atomic<bool> go{false}, stop{false};
  std::vector<std::thread> workers;
  for (size_t t = 0; t < options.size(); ++t) {
    workers.emplace_back([&, t] {
      bool ok = true;
      RunClient(options[t], port, depth, go, stop, latencies[t], requests[t],
                ok);
      oks[t] = ok;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // connects
  const double cpu0 = CpuSeconds();
  const Clock::time_point t0 = Clock::now();
  go.store(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (std::thread& w : workers) w.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;

  Row row;
  row.threads = threads;
  row.depth = depth;
  std::vector<double> all;
  long total = 0;
  for (size_t t = 0; t < latencies.size(); ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    total += requests[t];
    row.ok &= oks[t] != 0;
  }
  if (all.empty() || total == 0) {
    row.ok = false;
    return row;
  }
  std::sort(all.begin(), all.end());
  row.requests_per_second = static_cast<double>(total) / wall;
  row.p50_us = all[all.size() / 2];
  row.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  row.cpu_us_per_request = cpu * 1e6 / static_cast<double>(total);
  return row;
}

int Main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  absl::StatusOr<internal::TestCa> ca = internal::TestCa::Create("Bench CA");
  if (!ca.ok()) return 1;
  absl::StatusOr<internal::IssuedCertificate> server_cert =
      ca->Issue(internal::ServerSpec("bench-server"));
  absl::StatusOr<internal::IssuedCertificate> client_cert =
      ca->Issue(internal::ClientSpec("bench-client"));
  if (!server_cert.ok() || !client_cert.ok()) return 1;

  TlsServerOptions options;
  options.credentials = internal::MakeCredentials(*server_cert, ca->pem());
  absl::StatusOr<std::unique_ptr<TlsServer>> server = TlsServer::Create(
      std::move(options),
      [](ByteView request, const PeerIdentity&, FrameStream&) {
        return Bytes(request.begin(), request.end());
      });
  if (!server.ok() || !(*server)->Start().ok()) {
    std::fprintf(stderr, "cannot start the server\n");
    return 1;
  }
  const uint16_t port = (*server)->port();

  std::printf(
      "net_bench: echo of 100-byte frames over TLS 1.3 (P-256 certs),"
      " %.1f s per row, %u cores\n",
      seconds, std::thread::hardware_concurrency());
  std::printf("%-8s %-6s %12s %10s %10s %14s\n", "threads", "depth", "req/s",
              "p50 us", "p99 us", "CPU us/req");
  const int configs[][2] = {{1, 1}, {2, 1}, {2, 8}};
  for (const auto& config : configs) {
    const Row row =
        Measure(*ca, *client_cert, port, config[0], config[1], seconds);
    std::printf("%-8d %-6d %12.0f %10.1f %10.1f %14.1f%s\n", row.threads,
                row.depth, row.requests_per_second, row.p50_us, row.p99_us,
                row.cpu_us_per_request, row.ok ? "" : "  (errors)");
  }
  std::printf(
      "latency is per round trip (per batch of `depth` requests); "
      "CPU is client + server, the whole process\n");
  (*server)->Stop();
  return 0;
}

}  // namespace
}  // namespace coffer::net

int main(int argc, char** argv) { return coffer::net::Main(argc, argv); }
