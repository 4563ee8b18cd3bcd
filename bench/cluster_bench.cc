// Cluster benchmark (issue 5): a real coffer-manager with its local HSM
// provider, a cluster activated as a customer would, holding N keys; then
//   add:      CreateHsm until it returns (a fresh backup of a healthy HSM,
//             archived, a new HSM provisioned, restored, caught up with the
//             cluster log, ACTIVE);
//   replace:  kill -9 an HSM, until the manager has noticed (health checks
//             every second), built a replacement the same way and the
//             cluster is ACTIVE again, with the detection part shown apart.
// Each size runs --runs times in a fresh directory; the table shows the
// median and the spread. Goal: under 3 s for 10k keys (CloudHSM: minutes).
//
//   cluster_bench [--keys 1000,10000] [--runs 3]
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "manager/local_cluster.h"

namespace coffer::manager {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Run {
  double fill_keys_per_s = 0, add = 0, detect = 0, replace = 0;
};

absl::Status Fill(LocalCluster& cluster, const mpb::Hsm& hsm, int keys) {
  std::atomic<int> next{0};
  absl::Status failed;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      absl::StatusOr<HsmSession> s = cluster.App(hsm);
      if (!s.ok()) {
        failed = s.status();
        return;
      }
      while (next.fetch_add(1) < keys) {
        absl::StatusOr<uint64_t> k = s->GenerateAes();
        if (!k.ok()) {
          failed = k.status();
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return failed;
}

absl::StatusOr<Run> OneRun(const std::string& manager, int keys) {
  char templ[] = "/tmp/coffer-cluster-bench-XXXXXX";
  if (mkdtemp(templ) == nullptr) return absl::InternalError("mkdtemp");
  const std::string dir = templ;
  Run run;
  absl::Status status = [&]() -> absl::Status {
    absl::StatusOr<std::unique_ptr<LocalCluster>> started =
        LocalCluster::Start(manager, dir, {"--health-interval", "1"});
    if (!started.ok()) return started.status();
    LocalCluster& cluster = **started;
    absl::StatusOr<std::string> id = cluster.ActiveCluster();
    if (!id.ok()) return id.status();
    const mpb::Hsm first = cluster.ActiveHsms(*id).at(0);
    Clock::time_point t = Clock::now();
    if (absl::Status s = Fill(cluster, first, keys); !s.ok()) return s;
    run.fill_keys_per_s = keys / Since(t);

    t = Clock::now();
    grpc::Status added = cluster.CreateHsm(*id);
    run.add = Since(t);
    if (!added.ok()) return absl::InternalError(added.error_message());

    absl::StatusOr<int> pid = cluster.HsmPid(first.hsm_id());
    if (!pid.ok()) return pid.status();
    kill(*pid, SIGKILL);
    t = Clock::now();
    bool seen_degraded = false;
    const bool replaced = cluster.WaitFor(
        *id,
        [&](const mpb::Cluster& c) {
          if (!seen_degraded && c.state() != mpb::CLUSTER_STATE_ACTIVE) {
            seen_degraded = true;
            run.detect = Since(t);
          }
          int active = 0;
          bool gone = false;
          for (const mpb::Hsm& h : c.hsms()) {
            active += h.state() == mpb::HSM_STATE_ACTIVE;
            gone |= h.hsm_id() == first.hsm_id() &&
                    h.state() == mpb::HSM_STATE_DELETED;
          }
          return gone && active == 2 && c.state() == mpb::CLUSTER_STATE_ACTIVE;
        },
        std::chrono::seconds(120));
    run.replace = Since(t);
    if (!replaced) return absl::DeadlineExceededError("no replacement");
    return absl::OkStatus();
  }();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!status.ok()) return status;
  return run;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string Spread(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  char out[64];
  std::snprintf(out, sizeof(out), "%.2f-%.2f", v.front(), v.back());
  return out;
}

}  // namespace
}  // namespace coffer::manager

int main(int argc, char** argv) {
  using namespace coffer::manager;  // NOLINT: a small main
  std::vector<int> sizes = {1000, 10000};
  int runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--keys") {
      sizes.clear();
      for (absl::string_view part : absl::StrSplit(argv[i + 1], ',')) {
        int n = 0;
        if (absl::SimpleAtoi(part, &n) && n >= 0) sizes.push_back(n);
      }
    } else if (flag == "--runs") {
      if (!absl::SimpleAtoi(argv[i + 1], &runs) || runs < 1) runs = 1;
    }
  }
  std::printf(
      "cluster_bench: coffer-manager + local HSM provider on this machine "
      "(health checks every 1 s); median of %d runs, [min-max]\n\n",
      runs);
  std::printf("%8s | %14s | %16s | %16s | %16s | %16s\n", "keys", "fill keys/s",
              "add HSM s", "death->ACTIVE s", "  of which detect",
              "  of which rebuild");
  std::printf(
      "---------+----------------+------------------+-----------------"
      "-+------------------+------------------\n");
  for (int keys : sizes) {
    std::vector<double> fill, add, replace, detect, rebuild;
    for (int r = 0; r < runs; ++r) {
      absl::StatusOr<Run> run = OneRun(COFFER_MANAGER_BINARY, keys);
      if (!run.ok()) {
        std::fprintf(stderr, "run failed: %s\n",
                     run.status().ToString().c_str());
        return 1;
      }
      fill.push_back(run->fill_keys_per_s);
      add.push_back(run->add);
      replace.push_back(run->replace);
      detect.push_back(run->detect);
      rebuild.push_back(run->replace - run->detect);
    }
    std::printf(
        "%8d | %14.0f | %5.2f %10s | %5.2f %10s | %5.2f %10s | %5.2f %10s\n",
        keys, Median(fill), Median(add), Spread(add).c_str(), Median(replace),
        Spread(replace).c_str(), Median(detect), Spread(detect).c_str(),
        Median(rebuild), Spread(rebuild).c_str());
    std::fflush(stdout);
  }
  return 0;
}
