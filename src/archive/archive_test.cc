// The local directory store: basic operations, streaming, atomic
// overwrite, on-disk damage, crash leftovers and key validation.
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "archive/object_store.h"
#include "base/fault.h"
#include "crypto/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::archive {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::coffer::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

ChunkSource FromString(std::string data, size_t chunk = 7) {
  auto pos = std::make_shared<size_t>(0);
  return [data = std::move(data), chunk, pos]() -> absl::StatusOr<Bytes> {
    const size_t n = std::min(chunk, data.size() - *pos);
    Bytes out(data.begin() + static_cast<ptrdiff_t>(*pos),
              data.begin() + static_cast<ptrdiff_t>(*pos + n));
    *pos += n;
    return out;
  };
}

absl::StatusOr<std::string> GetString(ObjectStore& store,
                                      const std::string& key) {
  std::string out;
  absl::Status s = store.Get(key, [&](ByteView c) {
    out.append(c.begin(), c.end());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

std::string Sha256Hex(const std::string& s) {
  return HexEncode(*crypto::Digest(crypto::HashAlg::kSha256, AsBytes(s)));
}

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto store = OpenLocalDirectoryStore(root());
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }
  std::string root() const { return dir_.path() + "/store"; }
  std::string FileOf(const std::string& key) const {
    return root() + "/" + key + "~obj";
  }

  TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(ArchiveTest, PutGetListStatDelete) {
  ASSERT_THAT(store_->Put("backups/c1/b1", FromString("hello")), IsOk());
  ASSERT_THAT(store_->Put("backups/c1/b2", FromString("")), IsOk());
  ASSERT_THAT(store_->Put("backups/c2/b1", FromString("x")), IsOk());
  ASSERT_THAT(store_->Put("top", FromString("t")), IsOk());
  ASSERT_THAT(store_->Put("backups", FromString("a file beside a dir")),
              IsOk());
  EXPECT_EQ(*GetString(*store_, "backups/c1/b1"), "hello");
  EXPECT_EQ(*GetString(*store_, "backups/c1/b2"), "");
  EXPECT_EQ(*GetString(*store_, "backups"), "a file beside a dir");
  EXPECT_THAT(*store_->List(""),
              ElementsAre("backups", "backups/c1/b1", "backups/c1/b2",
                          "backups/c2/b1", "top"));
  EXPECT_THAT(*store_->List("backups/c1/"),
              ElementsAre("backups/c1/b1", "backups/c1/b2"));
  EXPECT_THAT(*store_->List("backups/c"),
              ElementsAre("backups/c1/b1", "backups/c1/b2", "backups/c2/b1"));
  EXPECT_THAT(*store_->List("nothing/here"), IsEmpty());
  auto info = store_->Stat("backups/c1/b1");
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->size, 5u);
  EXPECT_EQ(info->sha256_hex, Sha256Hex("hello"));
  EXPECT_EQ(store_->Stat("backups/c1/b2")->sha256_hex, Sha256Hex(""));

  ASSERT_THAT(store_->Put("top", FromString("replaced")), IsOk());
  EXPECT_EQ(*GetString(*store_, "top"), "replaced");
  ASSERT_THAT(store_->Delete("backups/c2/b1"), IsOk());
  EXPECT_FALSE(std::filesystem::exists(root() + "/backups/c2"));
  EXPECT_THAT(store_->Delete("backups/c2/b1"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(GetString(*store_, "backups/c2/b1"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Stat("missing"), StatusIs(absl::StatusCode::kNotFound));
  Reopen();
  EXPECT_THAT(*store_->List("backups/"),
              ElementsAre("backups/c1/b1", "backups/c1/b2"));
  EXPECT_EQ(*GetString(*store_, "backups/c1/b1"), "hello");
}

TEST_F(ArchiveTest, BadKeysAreRefused) {
  for (const std::string& key :
       {std::string(), std::string("/abs"), std::string("a/../b"),
        std::string(".."), std::string("a..b"), std::string("a//b"),
        std::string("a/"), std::string("./a"), std::string("a/./b"),
        std::string("sp ace"), std::string("tilde~obj"), std::string("a\\b"),
        std::string("nul\0x", 5), std::string(513, 'a'),
        std::string(201, 'a')}) {
    EXPECT_THAT(store_->Put(key, FromString("x")),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << key;
    EXPECT_THAT(GetString(*store_, key),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(store_->Delete(key),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(store_->Stat(key),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(
      ValidateObjectKey(std::string(200, 'a') + "/" + std::string(200, 'b') +
                        "/" + std::string(110, 'c')),
      IsOk());
  EXPECT_THAT(ValidateObjectKey(".hidden/A-z_0.9"), IsOk());
  EXPECT_THAT(store_->List("../"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ArchiveTest, TenMebibytesStreamInBoundedMemory) {
  constexpr size_t kChunk = size_t{64} << 10;
  constexpr size_t kChunks = 160;  // 10 MiB
  auto pattern = [](size_t i) {
    return Bytes(kChunk, static_cast<uint8_t>(i * 31 + 7));
  };
  // Heap in use must not grow with the object (mallinfo2 sees glibc's heap;
  // ASan replaces malloc, so the bound is only checked without it).
  [[maybe_unused]] const size_t base = mallinfo2().uordblks;
  size_t peak = 0;
  auto note = [&] { peak = std::max(peak, mallinfo2().uordblks); };
  size_t next = 0;
  ASSERT_THAT(store_->Put("big",
                          [&]() -> absl::StatusOr<Bytes> {
                            note();
                            return next < kChunks ? pattern(next++) : Bytes();
                          }),
              IsOk());
  EXPECT_EQ(store_->Stat("big")->size, kChunk * kChunks);
  size_t offset = 0;
  bool same = true;
  ASSERT_THAT(store_->Get("big",
                          [&](ByteView c) {
                            note();
                            EXPECT_LE(c.size(), kChunk);
                            for (size_t i = 0; i < c.size(); ++i) {
                              same &=
                                  c[i] == static_cast<uint8_t>(
                                              (offset + i) / kChunk * 31 + 7);
                            }
                            offset += c.size();
                            return absl::OkStatus();
                          }),
              IsOk());
  EXPECT_EQ(offset, kChunk * kChunks);
  EXPECT_TRUE(same);
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(peak - std::min(peak, base), size_t{2} << 20);
#endif
}

TEST_F(ArchiveTest, OverwriteIsAtomicForConcurrentReaders) {
  const std::string a(300000, 'a');
  const std::string b(700000, 'b');
  ASSERT_THAT(store_->Put("obj", FromString(a, 65536)), IsOk());
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, bad{0};
  std::thread reader([&] {
    while (!stop.load()) {
      auto got = GetString(*store_, "obj");
      if (!got.ok() || (*got != a && *got != b)) ++bad;
      ++reads;
    }
  });
  for (int i = 0; i < 40; ++i) {
    ASSERT_THAT(store_->Put("obj", FromString(i % 2 ? a : b, 65536)), IsOk());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0) << "of " << reads.load() << " reads";
}

TEST_F(ArchiveTest, DamageOnDiskIsDataLoss) {
  const std::string content(100000, 'z');
  ASSERT_THAT(store_->Put("d/obj", FromString(content, 4096)), IsOk());
  const std::string path = FileOf("d/obj");
  std::string raw;
  {
    std::ifstream in(path, std::ios::binary);
    raw.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(raw.size(), content.size() + 48);
  auto write = [&](const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  };
  for (size_t at : {size_t{0}, size_t{50000}, content.size() - 1,
                    content.size() + 3, content.size() + 20, raw.size() - 1}) {
    std::string bad = raw;
    bad[at] ^= 0x10;
    write(bad);
    EXPECT_THAT(GetString(*store_, "d/obj"),
                StatusIs(absl::StatusCode::kDataLoss))
        << "flip at " << at;
  }
  for (size_t len :
       {size_t{0}, size_t{47}, size_t{48}, content.size(), raw.size() - 1}) {
    write(raw.substr(0, len));
    EXPECT_THAT(GetString(*store_, "d/obj"),
                StatusIs(absl::StatusCode::kDataLoss))
        << "length " << len;
  }
  write(raw);
  EXPECT_EQ(*GetString(*store_, "d/obj"), content);
}

TEST_F(ArchiveTest, FailedSourceLeavesOldObject) {
  ASSERT_THAT(store_->Put("k", FromString("old")), IsOk());
  int calls = 0;
  EXPECT_THAT(store_->Put("k",
                          [&]() -> absl::StatusOr<Bytes> {
                            if (++calls > 2) return absl::AbortedError("gone");
                            return Bytes{'n', 'e', 'w'};
                          }),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(*GetString(*store_, "k"), "old");
  EXPECT_THAT(*store_->List(""), ElementsAre("k"));
  EXPECT_EQ(dir_.ListFiles().size(), 2u);  // .lock and k~obj: no temp file
}

TEST_F(ArchiveTest, CrashLeftoversAreInvisibleAndCleaned) {
  if (!fault::kFaultInjectionEnabled) GTEST_SKIP() << "no fault points";
  ASSERT_THAT(store_->Put("c/obj", FromString("old")), IsOk());
  store_.reset();  // the child takes the store's lock
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto store = OpenLocalDirectoryStore(root());
    fault::Arm("archive.put.before_rename", fault::FaultAction::kExit);
    if (store.ok()) (void)(*store)->Put("c/obj", FromString("new"));
    _exit(0);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), fault::kFaultExitCode);
  EXPECT_EQ(dir_.ListFiles().size(), 3u);  // .lock, c/obj~obj, a temp file
  Reopen();
  EXPECT_THAT(*store_->List(""), ElementsAre("c/obj"));
  EXPECT_EQ(*GetString(*store_, "c/obj"), "old");
  EXPECT_EQ(dir_.ListFiles().size(), 2u);
}

TEST_F(ArchiveTest, OneOwnerAtATime) {
  EXPECT_THAT(OpenLocalDirectoryStore(root()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(ArchiveTest, ConcurrentPutsAndDeletesInOneDirectory) {
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string key =
            "shared/t" + std::to_string(t) + "/o" + std::to_string(i % 3);
        if (!store_->Put(key, FromString(key)).ok()) ++bad;
        auto got = GetString(*store_, key);
        if (!got.ok() || *got != key) ++bad;
        if (!store_->Delete(key).ok()) ++bad;
        if (!store_->List("shared/").ok()) ++bad;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_THAT(*store_->List(""), IsEmpty());
}

}  // namespace
}  // namespace coffer::archive
