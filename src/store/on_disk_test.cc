// What reaches the disk: never a plaintext byte, and after a crash at any
// moment either the whole batch or none of it, and every acknowledged batch.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/bytes.h"
#include "base/fault.h"
#include "crypto/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/sealed_store.h"
#include "store/store_test_util.h"
#include "testing/status_matchers.h"

namespace coffer::store {
namespace {

using ::coffer::store::testing::AsString;
using ::coffer::store::testing::Contains;
using ::coffer::store::testing::Erase;
using ::coffer::store::testing::ListFiles;
using ::coffer::store::testing::MustOpen;
using ::coffer::store::testing::Put;
using ::coffer::store::testing::ReadFileBytes;
using ::coffer::store::testing::TempDir;
using ::coffer::store::testing::TestSeed;
using ::coffer::testing::IsOk;

// Scans every file in `dir` for the secret and its hex (both cases).
void ExpectNotOnDisk(const std::string& dir, ByteView secret,
                     const std::string& when) {
  std::string hex = HexEncode(secret);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  std::vector<std::string> files = ListFiles(dir);
  ASSERT_FALSE(files.empty());
  for (const std::string& f : files) {
    Bytes content = ReadFileBytes(f);
    EXPECT_FALSE(Contains(content, secret)) << when << ": raw bytes in " << f;
    EXPECT_FALSE(Contains(content, AsBytes(hex))) << when << ": hex in " << f;
    EXPECT_FALSE(Contains(content, AsBytes(upper))) << when << ": HEX in " << f;
  }
}

TEST(OnDiskTest, NoPlaintextOrKeyByteReachesAnyFile) {
  TempDir dir;
  const std::string path = dir.File("state.db");
  crypto::SecretBytes key = crypto::RandomSecret(32).value();
  const Bytes canary = crypto::RandomBytes(32).value();
  const std::string canary_str(canary.begin(), canary.end());
  auto payload = [&](size_t size, size_t offset) {
    std::string p(size, 'p');
    p.replace(offset, canary_str.size(), canary_str);
    return p;
  };
  auto store = MustOpen(path, key);
  ASSERT_NE(store, nullptr);
  std::vector<RecordWrite> writes;
  for (int i = 0; i < 40; ++i) {
    size_t size = 32 + static_cast<size_t>(i) * 1777;  // up to ~70 KiB
    writes.push_back(
        Put("key", absl::StrCat("k", i),
            payload(size, static_cast<size_t>(i) * 13 % (size - 31))));
  }
  writes.push_back(Put("key", "hexed", HexEncode(canary)));
  ASSERT_THAT(store->Commit(std::move(writes)), IsOk());
  // Overwrite and delete some, so freed pages and older WAL frames exist.
  std::vector<RecordWrite> churn;
  for (int i = 0; i < 40; i += 3) {
    churn.push_back(i % 2 == 0
                        ? Erase("key", absl::StrCat("k", i))
                        : Put("key", absl::StrCat("k", i), payload(4000, 7)));
  }
  ASSERT_THAT(store->Commit(std::move(churn)), IsOk());
  ASSERT_THAT(store->LoadAll(), IsOk());
  ExpectNotOnDisk(dir.path(), canary, "while open");
  ExpectNotOnDisk(dir.path(), key.ExposeSecret(), "key while open");
  store.reset();
  ExpectNotOnDisk(dir.path(), canary, "after close");
  ExpectNotOnDisk(dir.path(), key.ExposeSecret(), "key after close");
}

// ---------------------------------------------------------------------------
// Crash safety. A child process commits numbered batches in a loop and
// reports each acknowledged batch number through a pipe; the parent kills it
// (SIGKILL at a random moment, or a fault point that _exit()s inside a
// transaction), reopens the store and checks that exactly one batch number
// is visible, no older than the last acknowledged one.

constexpr int kRecordsPerBatch = 6;

// Batch b: records "rec-0".."rec-5" all carry b; "marker" exists iff b is
// even. Every 5th batch is written with ReplaceAll.
absl::Status WriteBatch(SealedStore& store, uint64_t b, bool marker_exists,
                        std::mt19937_64& rng) {
  std::vector<RecordWrite> w;
  for (int i = 0; i < kRecordsPerBatch; ++i) {
    std::string p = absl::StrCat(b, ":");
    p.resize(p.size() + rng() % 3000, 'x');
    w.push_back(Put("crash", absl::StrCat("rec-", i), p));
  }
  if (b % 2 == 0) {
    w.push_back(Put("crash", "marker", absl::StrCat(b, ":")));
  } else if (marker_exists && b % 5 != 0) {
    w.push_back(Erase("crash", "marker"));
  }
  if (b % 5 == 0) return store.ReplaceAll(std::move(w));
  return store.Commit(std::move(w)).status();
}

uint64_t BatchOf(const StoredRecord& r) {
  std::string p = AsString(r.payload);
  return std::stoull(p.substr(0, p.find(':')));
}

// Checks the invariants; returns the visible batch (0 for an empty store).
uint64_t CheckRecovered(const std::string& path, const crypto::SecretBytes& key,
                        uint64_t last_acked, bool may_be_one_ahead) {
  auto store = MustOpen(path, key);
  if (store == nullptr) return 0;
  auto records = store->LoadAll();
  EXPECT_THAT(records, IsOk());
  if (!records.ok() || records->empty()) {
    EXPECT_EQ(last_acked, 0u) << "acknowledged batches were lost";
    return 0;
  }
  uint64_t batch = BatchOf(records->front());
  bool marker = false;
  int recs = 0;
  for (const StoredRecord& r : *records) {
    EXPECT_EQ(BatchOf(r), batch) << "torn batch: " << r.id;
    marker |= r.id == "marker";
    recs += r.id != "marker";
  }
  EXPECT_EQ(recs, kRecordsPerBatch);
  EXPECT_EQ(marker, batch % 2 == 0) << "batch " << batch;
  EXPECT_GE(batch, last_acked) << "an acknowledged batch was lost";
  EXPECT_LE(batch, last_acked + (may_be_one_ahead ? 1 : 0));
  return batch;
}

[[noreturn]] void RunChild(const std::string& path,
                           const crypto::SecretBytes& key, uint64_t start,
                           bool marker, int ack_fd, uint64_t seed) {
  auto store = OpenSqliteSealedStore(path, key.Clone());
  if (!store.ok()) _exit(2);
  std::mt19937_64 rng(seed);
  for (uint64_t b = start;; ++b) {
    if (!WriteBatch(**store, b, marker, rng).ok()) _exit(3);
    marker = b % 2 == 0;
    if (write(ack_fd, &b, sizeof b) != sizeof b) _exit(4);
    if (b > start + 400) _exit(5);  // the parent should have stopped us
  }
}

TEST(OnDiskTest, EveryBatchIsAllOrNothingAfterACrash) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(absl::StrCat("COFFER_TEST_SEED=", seed));
  std::mt19937_64 rng(seed);
  TempDir dir;
  const std::string path = dir.File("state.db");
  crypto::SecretBytes key = crypto::RandomSecret(32).value();
  const char* points[] = {
      "store.commit.after_write", "store.commit.before_commit",
      "store.replace_all.after_delete", "store.replace_all.before_commit",
      "store.sql_commit"};
  uint64_t visible = 0;
  uint64_t acked_total = 0;
  const int rounds = fault::kFaultInjectionEnabled ? 24 : 12;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const bool use_fault = fault::kFaultInjectionEnabled && round % 2 == 1;
    const char* point = points[rng() % std::size(points)];
    const uint64_t nth = 1 + rng() % 12;
    const int acks_before_kill = 1 + static_cast<int>(rng() % 15);
    const int kill_delay_us = static_cast<int>(rng() % 4000);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const uint64_t child_seed = rng();
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      if (use_fault) fault::Arm(point, fault::FaultAction::kExit, nth);
      RunChild(path, key, visible + 1, visible > 0 && visible % 2 == 0, fds[1],
               child_seed);
    }
    close(fds[1]);
    uint64_t last_acked = visible;
    int acks = 0;
    uint64_t b = 0;
    while (read(fds[0], &b, sizeof b) == sizeof b) {
      last_acked = b;
      ++acked_total;
      if (!use_fault && ++acks == acks_before_kill) {
        std::this_thread::sleep_for(std::chrono::microseconds(kill_delay_us));
        kill(pid, SIGKILL);
      }
    }
    close(fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (use_fault) {
      ASSERT_TRUE(WIFEXITED(status) &&
                  WEXITSTATUS(status) == fault::kFaultExitCode)
          << "child status " << status << " (fault " << point << "@" << nth
          << ")";
    } else {
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
          << "child status " << status;
    }
    // A fault fires before COMMIT, so the interrupted batch never lands;
    // after SIGKILL it may have committed without being acknowledged.
    visible = CheckRecovered(path, key, last_acked, !use_fault);
    if (::testing::Test::HasFailure()) return;
  }
  std::printf(
      "[crash] %d rounds, %llu batches acknowledged, last visible %llu\n",
      rounds, static_cast<unsigned long long>(acked_total),
      static_cast<unsigned long long>(visible));
}

}  // namespace
}  // namespace coffer::store
