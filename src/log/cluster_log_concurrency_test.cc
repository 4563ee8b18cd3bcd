// Concurrent appenders and a killed appender: the invariants the cluster
// sync depends on (dense positions, no lost or duplicated record, nothing
// acknowledged ever missing).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/cluster_log.h"
#include "log/log_test_util.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::log {
namespace {

using ::coffer::testing::IsOk;

constexpr int kThreads = 4;
constexpr int kAppendsPerThread = 500;

// Reads a whole cluster in pages, checking density along the way.
std::vector<LogEntry> ReadAllPaged(ClusterLog& log, const std::string& id) {
  std::vector<LogEntry> all;
  uint64_t after = 0;
  while (true) {
    auto page = log.Read(id, after, 256, 64 << 10);
    EXPECT_THAT(page, IsOk());
    if (!page.ok() || page->empty()) return all;
    for (LogEntry& e : *page) {
      EXPECT_EQ(e.position, after + 1);
      after = e.position;
      all.push_back(std::move(e));
    }
  }
}

// true: every thread appends through one shared object (one connection);
// false: each thread opens its own (contention through SQLite's locks).
class ConcurrentAppendTest : public ::testing::TestWithParam<bool> {};

TEST_P(ConcurrentAppendTest, RetryOnAbortedGivesDenseUniqueEntries) {
  coffer::testing::TempDir dir;
  const std::string path = dir.File("cluster.log");
  auto shared = OpenSqliteClusterLog(path);
  ASSERT_THAT(shared, IsOk());
  std::vector<int> aborts(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::unique_ptr<ClusterLog> own;
      ClusterLog* log = shared->get();
      if (!GetParam()) {
        auto opened = OpenSqliteClusterLog(path);
        ASSERT_THAT(opened, IsOk());
        own = *std::move(opened);
        log = own.get();
      }
      for (int i = 0; i < kAppendsPerThread; ++i) {
        const Bytes record = Rec(absl::StrCat("t", t, "-", i));
        while (true) {
          absl::StatusOr<uint64_t> last = log->LastPosition("c1");
          ASSERT_THAT(last, IsOk());
          absl::StatusOr<uint64_t> pos = log->Append("c1", *last, record);
          if (pos.ok()) {
            ASSERT_EQ(*pos, *last + 1);
            break;
          }
          // Unavailable: another connection held the write lock past the
          // busy timeout; nothing was written, so a retry is safe too.
          ASSERT_TRUE(absl::IsAborted(pos.status()) ||
                      absl::IsUnavailable(pos.status()))
              << pos.status();
          ++aborts[t];
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();

  std::vector<LogEntry> all = ReadAllPaged(**shared, "c1");
  ASSERT_EQ(all.size(), size_t{kThreads * kAppendsPerThread});
  std::map<std::string, uint64_t> seen;  // record -> position
  std::vector<int> next_index(kThreads, 0);
  for (const LogEntry& e : all) {
    const std::string r(e.record.begin(), e.record.end());
    EXPECT_TRUE(seen.emplace(r, e.position).second) << "duplicate " << r;
    // Each thread appends in order, so its records appear in order.
    int t = 0;
    int i = 0;
    ASSERT_EQ(sscanf(r.c_str(), "t%d-%d", &t, &i), 2) << r;
    ASSERT_TRUE(t >= 0 && t < kThreads) << r;
    EXPECT_EQ(i, next_index[t]++) << r;
  }
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(next_index[t], kAppendsPerThread) << "thread " << t;
  }
  int total_aborts = 0;
  for (int a : aborts) total_aborts += a;
  std::cout << "appends retried: " << total_aborts << "\n";
}

INSTANTIATE_TEST_SUITE_P(SharedOrPerThread, ConcurrentAppendTest,
                         ::testing::Bool(), [](const auto& param_info) {
                           return param_info.param ? "SharedObject"
                                                   : "ObjectPerThread";
                         });

// The record a crash-test child appends at `position`: checkable later.
Bytes CrashRecord(uint64_t position) {
  Bytes r = Rec(absl::StrCat("crash-record-", position, "-"));
  r.resize(r.size() + position % 700, static_cast<uint8_t>(position));
  return r;
}

// The child: appends forever (singles and batches), writing each
// acknowledged last position to `ack_fd` only after Append returns.
[[noreturn]] void AppendUntilKilled(const std::string& path, int ack_fd) {
  auto log = OpenSqliteClusterLog(path);
  if (!log.ok()) _exit(2);
  absl::StatusOr<uint64_t> last = (*log)->LastPosition("c1");
  if (!last.ok()) _exit(3);
  for (uint64_t n = 0;; ++n) {
    absl::StatusOr<uint64_t> pos;
    if (n % 5 == 4) {
      std::vector<Bytes> batch;
      for (uint64_t p = *last + 1; p <= *last + 3; ++p) {
        batch.push_back(CrashRecord(p));
      }
      pos = (*log)->AppendBatch("c1", *last, batch);
    } else {
      pos = (*log)->Append("c1", *last, CrashRecord(*last + 1));
    }
    if (!pos.ok()) _exit(4);
    last = pos;
    const uint64_t ack = *pos;
    if (write(ack_fd, &ack, sizeof(ack)) != sizeof(ack)) _exit(5);
  }
}

uint64_t TestSeed() {
  const char* env = std::getenv("COFFER_TEST_SEED");
  if (env != nullptr) return std::strtoull(env, nullptr, 10);
  return std::random_device{}();
}

// Reads acks until `want` arrived (or EOF if want is 0); returns the max.
uint64_t ReadAcks(int fd, uint64_t want, uint64_t max_ack, uint64_t& count) {
  uint64_t ack = 0;
  while (want == 0 || count < want) {
    ssize_t n = read(fd, &ack, sizeof(ack));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    // Pipe writes of 8 bytes are atomic, so a short read cannot happen.
    EXPECT_EQ(n, static_cast<ssize_t>(sizeof(ack)));
    EXPECT_GT(ack, max_ack) << "acknowledged positions must increase";
    max_ack = ack;
    ++count;
  }
  return max_ack;
}

TEST(ClusterLogCrashTest, SigkilledAppenderLosesNothingAcknowledged) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(absl::StrCat("COFFER_TEST_SEED=", seed));
  std::mt19937_64 rng(seed);
  coffer::testing::TempDir dir;
  const std::string path = dir.File("cluster.log");
  uint64_t max_ack = 0;
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      AppendUntilKilled(path, fds[1]);
    }
    close(fds[1]);
    // Kill at a random moment: after some acks, plus a random delay.
    uint64_t count = 0;
    max_ack = ReadAcks(fds[0], 5 + rng() % 40, max_ack, count);
    absl::SleepFor(absl::Microseconds(rng() % 3000));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    max_ack = ReadAcks(fds[0], 0, max_ack, count);  // drain to EOF
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child exited on its own with status " << status;
    ASSERT_GT(count, 0u) << "round " << round;

    auto log = OpenSqliteClusterLog(path);
    ASSERT_THAT(log, IsOk());
    absl::StatusOr<uint64_t> last = (*log)->LastPosition("c1");
    ASSERT_THAT(last, IsOk());
    EXPECT_GE(*last, max_ack) << "an acknowledged append was lost";
    std::vector<LogEntry> all = ReadAllPaged(**log, "c1");
    ASSERT_EQ(all.size(), *last) << "round " << round;
    for (const LogEntry& e : all) {
      ASSERT_TRUE(e.record == CrashRecord(e.position))
          << "position " << e.position << " holds the wrong bytes";
    }
    std::cout << "round " << round << ": " << count << " acks, last " << *last
              << "\n";
  }
}

}  // namespace
}  // namespace coffer::log
