// Throughput of the sealed SQLite store (src/store): single-record commits
// with synchronous=FULL (the product's setting) against NORMAL, and the time
// LoadAll takes to read, authenticate and check 10k and 100k records.
//
//   store_bench [--dir=DIR] [--seconds=S]
//
// DIR (default $TMPDIR or /tmp) should be on the disk the HSM will use:
// FULL costs one fsync of the WAL per commit, so on tmpfs it measures
// nothing. Each commit row runs for S seconds (default 2). The numbers never
// make the program fail.
#include <sys/vfs.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"
#include "store/sealed_store.h"

namespace {

namespace crypto = coffer::crypto;
namespace store = coffer::store;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

[[noreturn]] void Die(std::string_view what, const absl::Status& s) {
  std::fprintf(stderr, "store_bench: %.*s: %s\n", static_cast<int>(what.size()),
               what.data(), s.ToString().c_str());
  std::exit(1);
}

std::unique_ptr<store::SealedStore> OpenFresh(const std::string& path,
                                              const crypto::SecretBytes& key,
                                              store::SyncMode sync) {
  std::filesystem::remove(path);
  auto s = store::OpenSqliteSealedStore(path, key.Clone(), {.sync = sync});
  if (!s.ok()) Die("open", s.status());
  return *std::move(s);
}

void PrintRow(std::string_view op, std::string_view sync, long n, double secs,
              std::string_view rate) {
  std::printf("| %-36.*s | %-6.*s | %7ld | %8.3f | %9.1f us | %-16.*s |\n",
              static_cast<int>(op.size()), op.data(),
              static_cast<int>(sync.size()), sync.data(), n, secs,
              secs / static_cast<double>(n) * 1e6,
              static_cast<int>(rate.size()), rate.data());
}

void BenchCommits(const std::string& dir, const crypto::SecretBytes& key,
                  size_t payload_size, store::SyncMode sync, double budget) {
  auto s = OpenFresh(dir + "/commit.db", key, sync);
  crypto::SecretBytes payload = crypto::RandomSecret(payload_size).value();
  long n = 0;
  const Clock::time_point start = Clock::now();
  Clock::time_point now = start;
  while (Seconds(now - start) < budget) {
    std::vector<store::RecordWrite> w;
    // 100 ids: most commits update an existing record, as an HSM does.
    w.push_back({"key", absl::StrCat("k", n % 100), payload.Clone()});
    if (auto v = s->Commit(std::move(w)); !v.ok()) Die("commit", v.status());
    ++n;
    now = Clock::now();
  }
  const double secs = Seconds(now - start);
  PrintRow(absl::StrCat("commit 1 record, ", payload_size, " B payload"),
           sync == store::SyncMode::kFull ? "FULL" : "NORMAL", n, secs,
           absl::StrCat(static_cast<long>(n / secs), " commits/s"));
}

void BenchLoadAll(const std::string& dir, const crypto::SecretBytes& key,
                  long records, size_t payload_size) {
  const std::string path = dir + "/load.db";
  {
    auto s = OpenFresh(path, key, store::SyncMode::kNormal);
    crypto::SecretBytes payload = crypto::RandomSecret(payload_size).value();
    for (long i = 0; i < records; i += 1000) {
      std::vector<store::RecordWrite> w;
      for (long j = i; j < i + 1000 && j < records; ++j) {
        w.push_back({"key", absl::StrCat("key-", j), payload.Clone()});
      }
      if (auto v = s->Commit(std::move(w)); !v.ok()) Die("fill", v.status());
    }
  }
  Clock::time_point t0 = Clock::now();
  auto s = store::OpenSqliteSealedStore(path, key.Clone());
  if (!s.ok()) Die("reopen", s.status());
  Clock::time_point t1 = Clock::now();
  auto all = (*s)->LoadAll();
  if (!all.ok()) Die("LoadAll", all.status());
  Clock::time_point t2 = Clock::now();
  if (static_cast<long>(all->size()) != records) {
    Die("LoadAll", absl::InternalError("wrong record count"));
  }
  const double load = Seconds(t2 - t1);
  PrintRow(absl::StrCat("open (manifest), ", records, " records"), "-", 1,
           Seconds(t1 - t0), "");
  PrintRow(
      absl::StrCat("LoadAll ", records, " records of ", payload_size, " B"),
      "-", records, load,
      absl::StrCat(static_cast<long>(load * 1000), " ms total"));
}

std::string FsType(const std::string& dir) {
  struct statfs st {};
  if (statfs(dir.c_str(), &st) != 0) return "?";
  switch (st.f_type) {
    case 0x01021994:
      return "tmpfs (fsync is free: FULL rows are meaningless)";
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x794c7630:
      return "overlayfs";
    default:
      return absl::StrCat("magic 0x", absl::Hex(st.f_type));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  double budget = 2.0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.rfind("--dir=", 0) == 0) {
      base = std::string(arg.substr(6));
    } else if (arg.rfind("--seconds=", 0) == 0) {
      budget = std::atof(std::string(arg.substr(10)).c_str());
    } else {
      std::fprintf(stderr, "usage: store_bench [--dir=DIR] [--seconds=S]\n");
      return 2;
    }
  }
  std::string dir_template = base + "/coffer-store-bench-XXXXXX";
  if (mkdtemp(dir_template.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = dir_template;
  crypto::SecretBytes key = crypto::RandomSecret(32).value();
  std::printf("store_bench: %s (%s)\n\n", dir.c_str(), FsType(dir).c_str());
  std::printf("| %-36s | %-6s | %7s | %8s | %12s | %-16s |\n", "operation",
              "sync", "n", "total s", "per op", "rate");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(38, '-').c_str(),
              std::string(8, '-').c_str(), std::string(9, '-').c_str(),
              std::string(10, '-').c_str(), std::string(14, '-').c_str(),
              std::string(18, '-').c_str());
  for (size_t size : {size_t{32}, size_t{1024}}) {
    for (store::SyncMode sync :
         {store::SyncMode::kFull, store::SyncMode::kNormal}) {
      BenchCommits(dir, key, size, sync, budget);
    }
  }
  BenchLoadAll(dir, key, 10'000, 256);
  BenchLoadAll(dir, key, 100'000, 256);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
