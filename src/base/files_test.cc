#include "base/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::coffer::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using Code = absl::StatusCode;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(ErrnoErrorTest, MapsCodesAndNamesThePath) {
  EXPECT_THAT(ErrnoError(ENOENT, "opening", "/x/y"),
              StatusIs(Code::kNotFound, HasSubstr("opening /x/y: ")));
  EXPECT_THAT(ErrnoError(EACCES, "opening", "p"),
              StatusIs(Code::kPermissionDenied));
  EXPECT_THAT(ErrnoError(ENOSPC, "writing", "p"),
              StatusIs(Code::kResourceExhausted));
  EXPECT_THAT(ErrnoError(ELOOP, "opening", "p"),
              StatusIs(Code::kFailedPrecondition, HasSubstr("symlink")));
  EXPECT_THAT(ErrnoError(EIO, "reading", "p"), StatusIs(Code::kInternal));
}

TEST(AtomicFileTest, CommitReplacesAndLeavesNoTempFile) {
  TempDir dir;
  const std::string path = dir.File("f");
  std::ofstream(path) << "old";
  auto file = AtomicFile::Create(dir.path(), ".f.tmp-");
  ASSERT_THAT(file, IsOk());
  ASSERT_THAT(file->Write(AsBytes("ne")), IsOk());
  ASSERT_THAT(file->Write(AsBytes("w")), IsOk());
  EXPECT_EQ(ReadAll(path), "old");  // nothing visible before Commit
  ASSERT_THAT(file->Commit(path), IsOk());
  EXPECT_EQ(ReadAll(path), "new");
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_THAT(dir.ListFiles(), UnorderedElementsAre(path));
}

TEST(AtomicFileTest, FailedHookOrDestructorRemovesTheTempFile) {
  TempDir dir;
  const std::string path = dir.File("f");
  std::ofstream(path) << "old";
  {
    auto file = AtomicFile::Create(dir.path(), ".f.tmp-");
    ASSERT_THAT(file, IsOk());
    ASSERT_THAT(file->Write(AsBytes("new")), IsOk());
    EXPECT_THAT(file->Commit(path, [] { return absl::AbortedError("hook"); }),
                StatusIs(Code::kAborted));
    EXPECT_THAT(file->Commit(path), StatusIs(Code::kFailedPrecondition));
  }
  {
    auto file = AtomicFile::Create(dir.path(), ".f.tmp-");
    ASSERT_THAT(file, IsOk());
    ASSERT_THAT(file->Write(AsBytes("abandoned")), IsOk());
  }
  EXPECT_EQ(ReadAll(path), "old");
  EXPECT_THAT(dir.ListFiles(), UnorderedElementsAre(path));
  EXPECT_THAT(AtomicFile::Create(dir.File("missing"), ".f.tmp-"),
              StatusIs(Code::kNotFound, HasSubstr("missing")));
}

TEST(RemoveStaleTempFilesTest, RemovesOnlyMarkedDotFiles) {
  TempDir dir;
  ASSERT_EQ(mkdir(dir.File("sub").c_str(), 0700), 0);
  for (const char* name : {".a~tmp-1", "a~tmp-2", "keep", "sub/.b~tmp-3"}) {
    std::ofstream(dir.File(name)) << "x";
  }
  RemoveStaleTempFiles(dir.path(), "~tmp-", /*recursive=*/false);
  EXPECT_THAT(dir.ListFiles(),
              UnorderedElementsAre(dir.File("a~tmp-2"), dir.File("keep"),
                                   dir.File("sub/.b~tmp-3")));
  RemoveStaleTempFiles(dir.path(), "~tmp-", /*recursive=*/true);
  EXPECT_THAT(dir.ListFiles(),
              UnorderedElementsAre(dir.File("a~tmp-2"), dir.File("keep")));
  RemoveStaleTempFiles(dir.File("missing"), "~tmp-", /*recursive=*/true);
}

TEST(MakeFilePrivateTest, CreatesRestrictsAndRefusesSymlinks) {
  TempDir dir;
  const std::string path = dir.File("db");
  EXPECT_THAT(MakeFilePrivate(path, /*create=*/false),
              StatusIs(Code::kNotFound, HasSubstr(path)));
  const mode_t old_umask = umask(0);
  ASSERT_THAT(MakeFilePrivate(path, /*create=*/true), IsOk());
  EXPECT_EQ(ModeOf(path), 0600u);
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  ASSERT_THAT(MakeFilePrivate(path, /*create=*/false), IsOk());
  EXPECT_EQ(ModeOf(path), 0600u);
  umask(old_umask);

  ASSERT_EQ(symlink(path.c_str(), dir.File("link").c_str()), 0);
  EXPECT_THAT(MakeFilePrivate(dir.File("link"), /*create=*/true),
              StatusIs(Code::kFailedPrecondition, HasSubstr("symlink")));
  ASSERT_EQ(mkfifo(dir.File("fifo").c_str(), 0600), 0);
  EXPECT_THAT(MakeFilePrivate(dir.File("fifo"), /*create=*/false),
              StatusIs(Code::kFailedPrecondition, HasSubstr("regular")));
}

TEST(MakePrivateDirectoryTest, CreatesParentsWithMode0700) {
  TempDir dir;
  const std::string path = dir.File("a/b");
  ASSERT_THAT(MakePrivateDirectory(path), IsOk());
  EXPECT_EQ(ModeOf(path), 0700u);
  ASSERT_EQ(chmod(path.c_str(), 0755), 0);
  ASSERT_THAT(MakePrivateDirectory(path), IsOk());
  EXPECT_EQ(ModeOf(path), 0700u);
}

TEST(OwnerLockTest, OneOwnerAtATimeUntilReleased) {
  TempDir dir;
  const std::string path = dir.File(".lock");
  auto first = OwnerLock::Acquire(path, "thing T");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_THAT(OwnerLock::Acquire(path, "thing T"),
              StatusIs(Code::kFailedPrecondition, HasSubstr("thing T")));
  OwnerLock moved = *std::move(first);  // still held after a move
  EXPECT_THAT(OwnerLock::Acquire(path, "thing T"),
              StatusIs(Code::kFailedPrecondition));
  { OwnerLock released = std::move(moved); }
  EXPECT_THAT(OwnerLock::Acquire(path, "thing T"), IsOk());
}

}  // namespace
}  // namespace coffer
