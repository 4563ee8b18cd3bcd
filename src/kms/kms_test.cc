// The local keyring: persistence, region isolation, error codes, key files.
#include "kms/kms.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "base/fault.h"
#include "crypto/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::kms {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::coffer::testing::TempDir;
using ::testing::HasSubstr;

crypto::SecretBytes DataKey() { return *crypto::RandomSecret(32); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return static_cast<int>(st.st_mode & 07777);
}

TEST(LocalKeyringTest, PersistsAcrossReopen) {
  TempDir dir;
  crypto::SecretBytes key = DataKey();
  Bytes wrapped;
  std::string id;
  {
    auto kms = OpenLocalKeyring(dir.path());
    ASSERT_THAT(kms, IsOk());
    auto created = (*kms)->CreateKey("eu-west-1");
    ASSERT_THAT(created, IsOk());
    id = *created;
    EXPECT_THAT(id, ::testing::StartsWith("eu-west-1/"));
    auto w = (*kms)->WrapDataKey("eu-west-1", key, AsBytes("aad"));
    ASSERT_THAT(w, IsOk());
    wrapped = *w;
  }
  auto kms = OpenLocalKeyring(dir.path());
  ASSERT_THAT(kms, IsOk());
  EXPECT_EQ(*(*kms)->CurrentKeyId("eu-west-1"), id);
  auto unwrapped = (*kms)->UnwrapDataKey("eu-west-1", wrapped, AsBytes("aad"));
  ASSERT_THAT(unwrapped, IsOk());
  EXPECT_TRUE(crypto::ConstantTimeEquals(unwrapped->ExposeSecret(),
                                         key.ExposeSecret()));
}

TEST(LocalKeyringTest, RotationKeepsOldKeysUsable) {
  TempDir dir;
  auto kms = *OpenLocalKeyring(dir.path());
  const std::string first = *kms->CreateKey("r1");
  crypto::SecretBytes key = DataKey();
  const Bytes old_wrap = *kms->WrapDataKey("r1", key, {});
  const std::string second = *kms->CreateKey("r1");
  EXPECT_NE(first, second);
  EXPECT_EQ(*kms->CurrentKeyId("r1"), second);
  const Bytes new_wrap = *kms->WrapDataKey("r1", key, {});
  EXPECT_THAT(kms->UnwrapDataKey("r1", old_wrap, {}), IsOk());
  EXPECT_THAT(kms->UnwrapDataKey("r1", new_wrap, {}), IsOk());
  kms.reset();
  kms = *OpenLocalKeyring(dir.path());
  EXPECT_EQ(*kms->CurrentKeyId("r1"), second);
  EXPECT_THAT(kms->UnwrapDataKey("r1", old_wrap, {}), IsOk());
}

TEST(LocalKeyringTest, RegionsAreIsolated) {
  TempDir dir;
  auto kms = *OpenLocalKeyring(dir.path());
  ASSERT_THAT(kms->CreateKey("a"), IsOk());
  ASSERT_THAT(kms->CreateKey("b"), IsOk());
  EXPECT_NE(ReadFile(dir.File("a.keyring")).substr(12),
            ReadFile(dir.File("b.keyring")).substr(12));
  crypto::SecretBytes key = DataKey();
  const Bytes wrapped = *kms->WrapDataKey("a", key, AsBytes("m"));
  EXPECT_THAT(kms->UnwrapDataKey("b", wrapped, AsBytes("m")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("region b")));
  EXPECT_THAT(kms->UnwrapDataKey("a", wrapped, AsBytes("n")),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(kms->UnwrapDataKey("a", wrapped, {}),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(LocalKeyringTest, EveryTamperedBitIsRefused) {
  TempDir dir;
  auto kms = *OpenLocalKeyring(dir.path());
  ASSERT_THAT(kms->CreateKey("r"), IsOk());
  crypto::SecretBytes key = DataKey();
  const Bytes wrapped = *kms->WrapDataKey("r", key, AsBytes("m"));
  for (size_t bit = 0; bit < wrapped.size() * 8; ++bit) {
    Bytes bad = wrapped;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto result = kms->UnwrapDataKey("r", bad, AsBytes("m"));
    // A flip inside the key id may name a key this region lacks: NotFound.
    ASSERT_FALSE(result.ok()) << "bit " << bit;
    EXPECT_TRUE(absl::IsDataLoss(result.status()) ||
                absl::IsNotFound(result.status()))
        << result.status();
  }
  Bytes truncated(wrapped.begin(), wrapped.end() - 1);
  EXPECT_THAT(kms->UnwrapDataKey("r", truncated, AsBytes("m")),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(LocalKeyringTest, ErrorCodes) {
  TempDir dir;
  auto kms = *OpenLocalKeyring(dir.path());
  crypto::SecretBytes key = DataKey();
  EXPECT_THAT(kms->CurrentKeyId("nowhere"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(kms->WrapDataKey("nowhere", key, {}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(kms->UnwrapDataKey("nowhere", Bytes(40, 1), {}),
              StatusIs(absl::StatusCode::kNotFound));
  for (const char* bad : {"", "EU", "a/b", "../x", "a.b", "a_b",
                          "123456789012345678901234567890123"}) {
    EXPECT_THAT(kms->CreateKey(bad),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
    EXPECT_THAT(kms->WrapDataKey(bad, key, {}),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(kms->CreateKey("12345678901234567890123456789012"), IsOk());
  ASSERT_THAT(kms->CreateKey("r"), IsOk());
  EXPECT_THAT(kms->WrapDataKey("r", crypto::SecretBytes(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A key id of the right region that the keyring does not hold.
  Bytes wrapped = *kms->WrapDataKey("r", key, {});
  wrapped[4] ^= 1;  // inside the hex part of "r/<hex>"
  EXPECT_THAT(kms->UnwrapDataKey("r", wrapped, {}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(LocalKeyringTest, FilesArePrivateAndHoldNoDataKey) {
  TempDir dir;
  const std::string ring = dir.path() + "/ring";
  auto kms = *OpenLocalKeyring(ring);
  ASSERT_THAT(kms->CreateKey("r"), IsOk());
  crypto::SecretBytes key = DataKey();
  ASSERT_THAT(kms->WrapDataKey("r", key, {}), IsOk());
  EXPECT_EQ(Mode(ring), 0700);
  EXPECT_EQ(Mode(ring + "/r.keyring"), 0600);
  const std::string contents = ReadFile(ring + "/r.keyring");
  const std::string secret(key.ExposeSecret().begin(),
                           key.ExposeSecret().end());
  EXPECT_EQ(contents.find(secret), std::string::npos);
}

TEST(LocalKeyringTest, CorruptOrExposedFileIsRefused) {
  TempDir dir;
  {
    auto kms = *OpenLocalKeyring(dir.path());
    ASSERT_THAT(kms->CreateKey("r"), IsOk());
  }
  std::string contents = ReadFile(dir.File("r.keyring"));
  contents[20] ^= 1;
  std::ofstream(dir.File("r.keyring"), std::ios::binary) << contents;
  auto kms = *OpenLocalKeyring(dir.path());
  EXPECT_THAT(kms->CurrentKeyId("r"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("checksum")));
  kms.reset();
  ASSERT_EQ(chmod(dir.File("r.keyring").c_str(), 0644), 0);
  kms = *OpenLocalKeyring(dir.path());
  EXPECT_THAT(kms->CurrentKeyId("r"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(LocalKeyringTest, OneOwnerAtATime) {
  TempDir dir;
  auto kms = OpenLocalKeyring(dir.path());
  ASSERT_THAT(kms, IsOk());
  EXPECT_THAT(OpenLocalKeyring(dir.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(LocalKeyringTest, CrashBeforeRenameLeavesOldKeysAndNoTempFile) {
  if (!fault::kFaultInjectionEnabled) GTEST_SKIP() << "no fault points";
  TempDir dir;
  std::string first;
  {
    auto kms = *OpenLocalKeyring(dir.path());
    first = *kms->CreateKey("r");
  }
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto kms = OpenLocalKeyring(dir.path());
    fault::Arm("kms.keyring.before_rename", fault::FaultAction::kExit);
    if (kms.ok()) (void)(*kms)->CreateKey("r");
    _exit(0);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), fault::kFaultExitCode);
  EXPECT_EQ(dir.ListFiles().size(), 3u);  // .lock, r.keyring, the temp file
  auto kms = *OpenLocalKeyring(dir.path());
  EXPECT_EQ(*kms->CurrentKeyId("r"), first);
  EXPECT_EQ(dir.ListFiles().size(), 2u);
}

TEST(LocalKeyringTest, ConcurrentUse) {
  TempDir dir;
  auto kms = *OpenLocalKeyring(dir.path());
  ASSERT_THAT(kms->CreateKey("r"), IsOk());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        if (t == 0 && i % 25 == 0 && !kms->CreateKey("r").ok()) ++failures;
        crypto::SecretBytes key = DataKey();
        auto wrapped = kms->WrapDataKey("r", key, AsBytes("x"));
        auto back = wrapped.ok()
                        ? kms->UnwrapDataKey("r", *wrapped, AsBytes("x"))
                        : wrapped.status();
        if (!back.ok() || !crypto::ConstantTimeEquals(back->ExposeSecret(),
                                                      key.ExposeSecret())) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace coffer::kms
