// The backup archive over a real keyring and real directory stores in a
// temp dir: round trips, every kind of tampering, copies across regions,
// abandoned streams, store failures, bounded memory and no plaintext on
// disk. Test data comes from COFFER_TEST_SEED (printed on failure).
#include "manager/backup_archive.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/fault.h"
#include "crypto/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::manager {
namespace {

namespace fs = std::filesystem;
using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

// A StatusOr that is OK and == `expected` (not printed: backups are big).
MATCHER_P(HoldsValue, expected, "is OK and holds the expected value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return *arg == expected;
}

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kTrailerSize = 48;  // the local store's (docs/archive.md)

uint64_t Seed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("COFFER_TEST_SEED");
    return env != nullptr ? std::strtoull(env, nullptr, 10)
                          : std::random_device()();
  }();
  return seed;
}

Bytes RandomData(size_t size, uint64_t salt = 0) {
  std::mt19937_64 rng(Seed() ^ (salt * 0x9e3779b97f4a7c15ULL));
  Bytes out(size);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

ArchivedBackup Meta(const std::string& backup_id,
                    const std::string& region = "eu-west-1",
                    const std::string& cluster_id = "cluster-0123456789ab") {
  return ArchivedBackup{.backup_id = backup_id,
                        .cluster_id = cluster_id,
                        .region = region,
                        .mode = ClusterMode::kFips,
                        .create_time = 1'700'000'000,
                        .source_backup_id = ""};
}

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}
void WriteFile(const std::string& path, ByteView data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()),
            static_cast<std::streamsize>(data.size()));
}

// Wraps a store to fail or stall on purpose, and counts Get's chunks.
class FlakyStore final : public archive::ObjectStore {
 public:
  explicit FlakyStore(std::unique_ptr<archive::ObjectStore> inner)
      : inner_(std::move(inner)) {}
  std::atomic<int> fail_put_after{-1};  // chunks pulled, then Unavailable
  std::atomic<int> fail_get_after{-1};  // chunks pushed, then Unavailable
  std::atomic<int> get_chunks{0};
  absl::Notification* stall_put = nullptr;  // waited for before pulling

  absl::Status Put(const std::string& key,
                   const archive::ChunkSource& source) override {
    if (stall_put != nullptr) stall_put->WaitForNotification();
    int pulled = 0;
    return inner_->Put(key, [&]() -> absl::StatusOr<Bytes> {
      if (fail_put_after >= 0 && pulled++ >= fail_put_after) {
        return absl::UnavailableError("injected: store went away");
      }
      return source();
    });
  }
  absl::Status Get(const std::string& key,
                   const archive::ByteSink& sink) override {
    return inner_->Get(key, [&](ByteView chunk) -> absl::Status {
      if (fail_get_after >= 0 && get_chunks >= fail_get_after) {
        return absl::UnavailableError("injected: store went away");
      }
      ++get_chunks;
      return sink(chunk);
    });
  }
  absl::Status Delete(const std::string& key) override {
    return inner_->Delete(key);
  }
  absl::StatusOr<std::vector<std::string>> List(
      const std::string& prefix) override {
    return inner_->List(prefix);
  }
  absl::StatusOr<archive::ObjectInfo> Stat(const std::string& key) override {
    return inner_->Stat(key);
  }

 private:
  std::unique_ptr<archive::ObjectStore> inner_;
};

class BackupArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RecordProperty("seed", std::to_string(Seed()));
    auto archive = BackupArchive::OpenLocal(dir_.path());
    ASSERT_THAT(archive, IsOk());
    archive_ = *std::move(archive);
  }
  void TearDown() override {
    if (HasFailure())
      std::cerr << "replay with COFFER_TEST_SEED=" << Seed() << "\n";
  }
  // An archive whose stores are FlakyStores (flaky_[region]).
  void OpenFlaky() {
    archive_.reset();
    auto kms = kms::OpenLocalKeyring(dir_.File("kms"));
    ASSERT_THAT(kms, IsOk());
    archive_ = BackupArchive::Create(
        *std::move(kms),
        [this](const std::string& region)
            -> absl::StatusOr<std::unique_ptr<archive::ObjectStore>> {
          auto inner = archive::OpenLocalDirectoryStore(
              absl::StrCat(dir_.path(), "/objects/", region));
          if (!inner.ok()) return inner.status();
          auto store = std::make_unique<FlakyStore>(*std::move(inner));
          flaky_[region] = store.get();
          return store;
        });
  }

  std::string ObjectPath(const ArchivedBackup& m) const {
    return absl::StrCat(dir_.path(), "/objects/", m.region, "/backups/",
                        m.cluster_id, "/", m.backup_id, ".cbe~obj");
  }
  absl::Status Store(const ArchivedBackup& m, ByteView data,
                     size_t chunk = 100000) {
    auto writer = archive_->BeginStore(m);
    if (!writer.ok()) return writer.status();
    for (size_t i = 0; i < data.size(); i += chunk) {
      COFFER_RETURN_IF_ERROR((*writer)->Write(data.subspan(i, chunk)));
    }
    return (*writer)->Finish();
  }
  // Everything up to the end marker; an error as soon as Next gives one.
  absl::StatusOr<Bytes> ReadAll(const ArchivedBackup& m) {
    auto reader = archive_->OpenForRead(m);
    if (!reader.ok()) return reader.status();
    Bytes out;
    for (;;) {
      absl::StatusOr<Bytes> chunk = (*reader)->Next();
      if (!chunk.ok()) return chunk.status();
      if (chunk->empty()) return out;
      out.insert(out.end(), chunk->begin(), chunk->end());
    }
  }
  bool AnyTempFile() const {
    for (const std::string& f : dir_.ListFiles()) {
      if (f.find("~tmp-") != std::string::npos) return true;
    }
    return false;
  }

  coffer::testing::TempDir dir_;
  std::unique_ptr<BackupArchive> archive_;
  std::map<std::string, FlakyStore*> flaky_;
};

TEST_F(BackupArchiveTest, RoundTripsAnySizeAndChunking) {
  const Bytes big = RandomData(5 * kMiB + 12345);
  const Bytes exact = RandomData(3 * kms::kDefaultSegmentSize, 1);
  int n = 0;
  for (const Bytes* data : {&big, &exact, static_cast<const Bytes*>(nullptr)}) {
    const Bytes input = data != nullptr ? *data : Bytes();
    for (size_t chunk : {size_t{4096}, 8 * kMiB}) {
      SCOPED_TRACE(absl::StrCat(input.size(), " bytes in chunks of ", chunk));
      const ArchivedBackup m = Meta(absl::StrCat("backup-", ++n));
      ASSERT_THAT(Store(m, input, chunk), IsOk());
      EXPECT_THAT(archive_->Exists(m), HoldsValue(true));
      auto read = ReadAll(m);
      ASSERT_THAT(read, IsOk());
      EXPECT_TRUE(*read == input);
    }
  }
  // The object is where the documentation says, and nothing else is left.
  EXPECT_TRUE(fs::exists(ObjectPath(Meta("backup-1"))));
  EXPECT_FALSE(AnyTempFile());
}

TEST_F(BackupArchiveTest, EndMarkerRepeatsAndErrorsStick) {
  const ArchivedBackup m = Meta("backup-a");
  ASSERT_THAT(Store(m, RandomData(1000)), IsOk());
  auto reader = archive_->OpenForRead(m);
  ASSERT_THAT(reader, IsOk());
  while (!(*reader)->Next()->empty()) {
  }
  EXPECT_THAT((*reader)->Next(), HoldsValue(Bytes()));
  auto writer = archive_->BeginStore(Meta("backup-b"));
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Finish(), IsOk());
  EXPECT_THAT((*writer)->Write(AsBytes("late")),
              StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT((*writer)->Finish(), StatusIs(Code::kFailedPrecondition));
}

TEST_F(BackupArchiveTest, MetadataMismatchIsDataLoss) {
  const ArchivedBackup m = Meta("backup-a");
  ASSERT_THAT(Store(m, RandomData(200000)), IsOk());
  ASSERT_THAT(Store(Meta("backup-other", "us-east-2"), AsBytes("x")), IsOk());
  const Bytes object = ReadFile(ObjectPath(m));
  std::vector<std::pair<std::string, ArchivedBackup>> cases;
  auto add = [&](const std::string& what, auto change) {
    ArchivedBackup other = m;
    change(other);
    cases.emplace_back(what, other);
  };
  add("backup id", [](ArchivedBackup& o) { o.backup_id = "backup-b"; });
  add("cluster", [](ArchivedBackup& o) { o.cluster_id = "cluster-2"; });
  add("region", [](ArchivedBackup& o) { o.region = "us-east-2"; });
  add("mode", [](ArchivedBackup& o) { o.mode = ClusterMode::kNonFips; });
  add("create time", [](ArchivedBackup& o) { ++o.create_time; });
  add("source", [](ArchivedBackup& o) { o.source_backup_id = "backup-s"; });
  for (const auto& [what, other] : cases) {
    SCOPED_TRACE(what);
    // The object under the other entry's key (the same key for some).
    if (ObjectPath(other) != ObjectPath(m)) {
      WriteFile(ObjectPath(other), object);
    }
    EXPECT_THAT(ReadAll(other),
                StatusIs(Code::kDataLoss,
                         HasSubstr("does not match its catalog entry")));
  }
  EXPECT_THAT(ReadAll(m), IsOk());  // the right entry still reads
}

TEST_F(BackupArchiveTest, FlippedByteIsDataLossBeforeTheEnd) {
  const ArchivedBackup m = Meta("backup-a");
  ASSERT_THAT(Store(m, RandomData(300000)), IsOk());
  const std::string path = ObjectPath(m);
  const Bytes good = ReadFile(path);
  const size_t n = good.size();
  // Magic, segment size, nonce prefix, wrapped key (region and hex id of
  // its KMS key, GCM ciphertext), first/middle/last segment, trailer.
  // The wrapped key starts at 18: version, id length, "<region>/<hex>".
  const size_t key_id = 20 + m.region.size() + 1;
  for (size_t pos :
       {size_t{0}, size_t{6}, size_t{10}, size_t{20}, key_id + 3, key_id + 15,
        size_t{60}, size_t{100}, n / 2, n - kTrailerSize - 1,
        n - kTrailerSize + 3, n - kTrailerSize + 10, n - 1}) {
    SCOPED_TRACE(absl::StrCat("byte ", pos, " of ", n));
    Bytes bad = good;
    bad[pos] ^= 0x01;
    WriteFile(path, bad);
    auto reader = archive_->OpenForRead(m);
    if (!reader.ok()) {  // the trailer's framing: refused at once
      EXPECT_THAT(reader, StatusIs(Code::kDataLoss));
      continue;
    }
    absl::StatusOr<Bytes> chunk;
    size_t total = 0;
    while ((chunk = (*reader)->Next()).ok() && !chunk->empty()) {
      total += chunk->size();
    }
    EXPECT_THAT(chunk, StatusIs(Code::kDataLoss, HasSubstr("do not restore")));
    EXPECT_LT(total, size_t{300000});  // never all of it
  }
  WriteFile(path, good);
  EXPECT_THAT(ReadAll(m), IsOk());
}

TEST_F(BackupArchiveTest, TruncatedObjectIsDataLoss) {
  const ArchivedBackup m = Meta("backup-a");
  const Bytes data = RandomData(4 * kms::kDefaultSegmentSize + 100);
  ASSERT_THAT(Store(m, data), IsOk());
  const std::string path = ObjectPath(m);
  const Bytes good = ReadFile(path);
  for (size_t keep :
       {size_t{0}, size_t{10}, good.size() / 2, good.size() - 1}) {
    SCOPED_TRACE(absl::StrCat("kept ", keep, " bytes"));
    WriteFile(path, ByteView(good).first(keep));
    EXPECT_THAT(ReadAll(m), StatusIs(Code::kDataLoss));
  }
  // Cut after two whole segments with a recomputed trailer, as someone
  // who can write the store could: the envelope's last-segment flag fails.
  const size_t header = good.size() - kTrailerSize - data.size() - 5 * 16;
  const size_t content = header + 2 * (kms::kDefaultSegmentSize + 16);
  Bytes cut(good.begin(), good.begin() + static_cast<ptrdiff_t>(content));
  auto hasher = crypto::Hasher::Create(crypto::HashAlg::kSha256);
  ASSERT_THAT(hasher, IsOk());
  ASSERT_THAT(hasher->Update(cut), IsOk());
  auto digest = hasher->Finish();
  ASSERT_THAT(digest, IsOk());
  cut.insert(cut.end(), {'C', 'F', 'O', 'B', 1, 0, 0, 0});
  for (int i = 7; i >= 0; --i) {
    cut.push_back(static_cast<uint8_t>(uint64_t{content} >> (8 * i)));
  }
  cut.insert(cut.end(), digest->begin(), digest->end());
  WriteFile(path, cut);
  EXPECT_THAT(ReadAll(m), StatusIs(Code::kDataLoss, HasSubstr("segment 1")));
}

TEST_F(BackupArchiveTest, AnotherBackupsObjectIsDataLoss) {
  const ArchivedBackup a = Meta("backup-a");
  const ArchivedBackup b = Meta("backup-b");
  ASSERT_THAT(Store(a, RandomData(70000, 1)), IsOk());
  ASSERT_THAT(Store(b, RandomData(70000, 2)), IsOk());
  WriteFile(ObjectPath(a), ReadFile(ObjectPath(b)));
  EXPECT_THAT(ReadAll(a), StatusIs(Code::kDataLoss, HasSubstr("backup-a")));
  EXPECT_THAT(ReadAll(b), IsOk());
}

TEST_F(BackupArchiveTest, CopyReencryptsForTheOtherRegion) {
  const ArchivedBackup source = Meta("backup-a");
  const Bytes data = RandomData(kMiB + 7);
  ASSERT_THAT(Store(source, data), IsOk());
  ArchivedBackup copy = Meta("backup-c", "us-east-2");
  copy.source_backup_id = source.backup_id;
  ASSERT_THAT(archive_->Copy(source, copy), IsOk());
  auto read = ReadAll(copy);
  ASSERT_THAT(read, IsOk());
  EXPECT_TRUE(*read == data);
  EXPECT_TRUE(ReadFile(ObjectPath(copy)) != ReadFile(ObjectPath(source)));
  EXPECT_THAT(ReadAll(source), IsOk());  // untouched
  // Its own entry only: the source's metadata does not open it.
  ArchivedBackup wrong = copy;
  wrong.source_backup_id = "";
  EXPECT_THAT(ReadAll(wrong), StatusIs(Code::kDataLoss));
  // To itself: refused; from a missing source: NotFound, no object.
  EXPECT_THAT(archive_->Copy(source, source), StatusIs(Code::kInvalidArgument));
  ArchivedBackup orphan = Meta("backup-d", "us-east-2");
  EXPECT_THAT(archive_->Copy(Meta("backup-none"), orphan),
              StatusIs(Code::kNotFound));
  EXPECT_THAT(archive_->Exists(orphan), HoldsValue(false));
}

TEST_F(BackupArchiveTest, CopyOfADamagedSourceLeavesNoCopy) {
  const ArchivedBackup source = Meta("backup-a");
  ASSERT_THAT(Store(source, RandomData(500000)), IsOk());
  Bytes bad = ReadFile(ObjectPath(source));
  bad[bad.size() - 1] ^= 0x80;  // the checksum: found only at the end
  WriteFile(ObjectPath(source), bad);
  const ArchivedBackup copy = Meta("backup-c", "us-east-2");
  EXPECT_THAT(archive_->Copy(source, copy), StatusIs(Code::kDataLoss));
  EXPECT_THAT(archive_->Exists(copy), HoldsValue(false));
  EXPECT_FALSE(AnyTempFile());
}

TEST_F(BackupArchiveTest, DeleteThenReadIsNotFound) {
  const ArchivedBackup m = Meta("backup-a");
  ASSERT_THAT(Store(m, RandomData(1000)), IsOk());
  ASSERT_THAT(archive_->Delete(m), IsOk());
  EXPECT_THAT(archive_->OpenForRead(m), StatusIs(Code::kNotFound));
  EXPECT_THAT(archive_->Delete(m), StatusIs(Code::kNotFound));
  EXPECT_THAT(archive_->Exists(m), HoldsValue(false));
  // Never-used regions: nothing there, and no KMS key made for a read.
  EXPECT_THAT(archive_->OpenForRead(Meta("backup-a", "ap-south-1")),
              StatusIs(Code::kNotFound));
}

TEST_F(BackupArchiveTest, BadIdsAreRefused) {
  EXPECT_THAT(archive_->BeginStore(Meta("backup/../x")),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(archive_->BeginStore(Meta("backup-a", "EU")),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(archive_->Exists(Meta("backup-a", "eu-west-1", "")),
              StatusIs(Code::kInvalidArgument));
}

TEST_F(BackupArchiveTest, AbandonedWriterLeavesNoObject) {
  const ArchivedBackup m = Meta("backup-a");
  {
    auto writer = archive_->BeginStore(m);
    ASSERT_THAT(writer, IsOk());
    ASSERT_THAT((*writer)->Write(RandomData(3 * kMiB)), IsOk());
  }
  { ASSERT_THAT(archive_->BeginStore(m), IsOk()); }  // nothing written
  EXPECT_THAT(archive_->Exists(m), HoldsValue(false));
  EXPECT_FALSE(AnyTempFile());
  // An existing object survives an abandoned replacement.
  const Bytes data = RandomData(1000);
  ASSERT_THAT(Store(m, data), IsOk());
  {
    auto writer = archive_->BeginStore(m);
    ASSERT_THAT(writer, IsOk());
    ASSERT_THAT((*writer)->Write(RandomData(kMiB, 3)), IsOk());
  }
  EXPECT_THAT(ReadAll(m), HoldsValue(data));
}

TEST_F(BackupArchiveTest, AbandonedReaderStopsItsWorker) {
  const ArchivedBackup m = Meta("backup-a");
  const Bytes data = RandomData(5 * kMiB);
  ASSERT_THAT(Store(m, data), IsOk());
  for (int pulls : {0, 1, 10}) {
    auto reader = archive_->OpenForRead(m);
    ASSERT_THAT(reader, IsOk());
    for (int i = 0; i < pulls; ++i) ASSERT_THAT((*reader)->Next(), IsOk());
    // Returns (the worker stopped, blocked on the full queue or not); ASan
    // checks nothing leaks.
  }
  ASSERT_THAT(archive_->Delete(m), IsOk());
}

TEST_F(BackupArchiveTest, StoreFailuresEndTheStreams) {
  OpenFlaky();
  const ArchivedBackup m = Meta("backup-a");
  const Bytes data = RandomData(3 * kMiB);
  ASSERT_THAT(Store(m, data), IsOk());
  // Put fails midway: a later Write or Finish reports it, no object.
  flaky_["eu-west-1"]->fail_put_after = 5;
  const ArchivedBackup failed = Meta("backup-b");
  EXPECT_THAT(Store(failed, data, 4096),
              StatusIs(Code::kUnavailable, HasSubstr("store went away")));
  EXPECT_THAT(archive_->Exists(failed), HoldsValue(false));
  flaky_["eu-west-1"]->fail_put_after = -1;
  // Get fails midway: Next reports it (not the end), also in a copy.
  flaky_["eu-west-1"]->fail_get_after = 3;
  EXPECT_THAT(ReadAll(m), StatusIs(Code::kUnavailable));
  flaky_["eu-west-1"]->get_chunks = 0;
  EXPECT_THAT(archive_->Copy(m, Meta("backup-c", "us-east-2")),
              StatusIs(Code::kUnavailable));
  EXPECT_THAT(archive_->Exists(Meta("backup-c", "us-east-2")),
              HoldsValue(false));
  flaky_["eu-west-1"]->fail_get_after = -1;
  // The rename fails at the end of Put.
  if (fault::kFaultInjectionEnabled) {
    fault::Arm("archive.put.before_rename", fault::FaultAction::kError);
    EXPECT_THAT(Store(failed, data), StatusIs(Code::kInternal));
    fault::Disarm();
    EXPECT_THAT(archive_->Exists(failed), HoldsValue(false));
  }
  EXPECT_FALSE(AnyTempFile());
  EXPECT_THAT(ReadAll(m), HoldsValue(data));
}

TEST_F(BackupArchiveTest, StreamsAreBoundedBothWays) {
  OpenFlaky();
  const ArchivedBackup m = Meta("backup-a");
  // Write: while the store does not pull, Write blocks once the queue is
  // full instead of buffering the object.
  absl::Notification release;
  {
    ASSERT_THAT(archive_->Exists(m), IsOk());  // opens the region's store
    flaky_["eu-west-1"]->stall_put = &release;
    auto writer = archive_->BeginStore(m);
    ASSERT_THAT(writer, IsOk());
    std::atomic<bool> written{false};
    const Bytes data = RandomData(8 * kMiB);
    std::thread feeder([&] {
      EXPECT_THAT((*writer)->Write(data), IsOk());
      written = true;
    });
    absl::SleepFor(absl::Milliseconds(300));
    EXPECT_FALSE(written);
    release.Notify();
    feeder.join();
    EXPECT_TRUE(written);
    ASSERT_THAT((*writer)->Finish(), IsOk());
  }
  flaky_["eu-west-1"]->stall_put = nullptr;
  // Read: a reader nobody pulls from holds about 1 MiB, not 8.
  auto reader = archive_->OpenForRead(m);
  ASSERT_THAT(reader, IsOk());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_LT(flaky_["eu-west-1"]->get_chunks.load(), 40);  // 64 KiB each
}

#if !defined(__SANITIZE_ADDRESS__)  // ASan replaces malloc
TEST_F(BackupArchiveTest, HeapStaysFlatForLargeBackups) {
  const ArchivedBackup m = Meta("backup-a");
  const Bytes chunk = RandomData(256 << 10);
  const size_t base = mallinfo2().uordblks;
  size_t peak = base;
  auto note = [&] { peak = std::max(peak, mallinfo2().uordblks); };
  auto writer = archive_->BeginStore(m);
  ASSERT_THAT(writer, IsOk());
  for (int i = 0; i < 128; ++i) {  // 32 MiB
    ASSERT_THAT((*writer)->Write(chunk), IsOk());
    note();
  }
  ASSERT_THAT((*writer)->Finish(), IsOk());
  auto reader = archive_->OpenForRead(m);
  ASSERT_THAT(reader, IsOk());
  size_t total = 0;
  for (absl::StatusOr<Bytes> c; (c = (*reader)->Next()).ok() && !c->empty();) {
    total += c->size();
    note();
  }
  EXPECT_EQ(total, size_t{32} * kMiB);
  EXPECT_LT(peak - base, 6 * kMiB);
}
#endif

TEST_F(BackupArchiveTest, NoPlaintextReachesTheDisk) {
  Bytes marker = RandomData(64, 99);
  Bytes data;
  for (int i = 0; i < 3000; ++i) {  // straddling segment boundaries too
    const Bytes filler = RandomData(static_cast<size_t>(i % 97), i);
    data.insert(data.end(), filler.begin(), filler.end());
    data.insert(data.end(), marker.begin(), marker.end());
  }
  auto scan = [&] {
    for (const std::string& f : dir_.ListFiles()) {
      const Bytes content = ReadFile(f);
      EXPECT_TRUE(std::search(content.begin(), content.end(), marker.begin(),
                              marker.end()) == content.end())
          << "plaintext marker found in " << f;
    }
  };
  const ArchivedBackup m = Meta("backup-a");
  {
    auto writer = archive_->BeginStore(m);  // the temp file midway
    ASSERT_THAT(writer, IsOk());
    ASSERT_THAT((*writer)->Write(data), IsOk());
    scan();
    ASSERT_THAT((*writer)->Finish(), IsOk());
  }
  ASSERT_THAT(archive_->Copy(m, Meta("backup-c", "us-east-2")), IsOk());
  EXPECT_THAT(ReadAll(m), HoldsValue(data));
  scan();
}

TEST_F(BackupArchiveTest, ConcurrentBackups) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      // Two regions in use for the first time from several threads.
      const std::string region = t % 2 == 0 ? "eu-west-1" : "us-east-2";
      for (int i = 0; i < 3; ++i) {
        const ArchivedBackup m =
            Meta(absl::StrCat("backup-", t, "-", i), region);
        const Bytes data = RandomData(150000 + 1000 * t, t * 10 + i);
        EXPECT_THAT(Store(m, data, 30000), IsOk());
        EXPECT_THAT(ReadAll(m), HoldsValue(data));
      }
    });
  }
  for (std::thread& th : threads) th.join();
}

}  // namespace
}  // namespace coffer::manager
