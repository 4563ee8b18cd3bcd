// File helpers shared by the modules that keep state in plain files (store,
// log, archive, kms): durable atomic replacement, owner-only files that are
// never opened through a symlink, a one-owner-per-directory lock, and the
// errno -> absl::Status mapping they report with. POSIX only.
//
// Errors name the path and what was being done, never file contents.
// Functions are thread-safe; an AtomicFile or OwnerLock object is not.
#ifndef COFFER_BASE_FILES_H_
#define COFFER_BASE_FILES_H_

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/bytes.h"

namespace coffer {

// "<what> <path>: <strerror(err)>" as ENOENT -> NotFound; EACCES, EPERM ->
// PermissionDenied; ENOSPC, EDQUOT -> ResourceExhausted; ELOOP (O_NOFOLLOW
// met a symlink) -> FailedPrecondition; anything else -> Internal.
absl::Status ErrnoError(int err, std::string_view what, std::string_view path);

// fsync()s directory `dir`, making entries created, renamed or removed in it
// durable.
absl::Status FsyncDirectory(const std::string& dir);

// Creates `dir` and its missing parents, then sets its mode to 0700.
absl::Status MakePrivateDirectory(const std::string& dir);

// Opens `path` without following a symlink and makes it a regular file of
// mode 0600, creating it (synced, with its directory entry) if `create` and
// it is missing. NotFound if missing and !create; FailedPrecondition for a
// symlink or anything but a regular file.
absl::Status MakeFilePrivate(const std::string& path, bool create);

// Replaces a file atomically: write a temp file beside it, then Commit()
// fsyncs it, renames it over the destination and fsyncs the directory, so
// after a crash the destination is the old file or the whole new one. An
// uncommitted temp file is removed by the destructor; one a crash left
// behind is for RemoveStaleTempFiles().
class AtomicFile {
 public:
  // Creates "<dir>/<temp_prefix>XXXXXX" (mkostemp: mode 0600, a unique
  // suffix). `temp_prefix` must make the name recognisable as a temp file.
  static absl::StatusOr<AtomicFile> Create(const std::string& dir,
                                           std::string_view temp_prefix);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&& other) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  const std::string& temp_path() const { return temp_; }
  absl::Status Write(ByteView data);
  // fsync, close, `before_rename` (a fault point for tests: an error from it
  // aborts), rename onto `path` (in the same directory), fsync of the
  // directory. On an error before the rename the temp file is removed and
  // `path` is untouched; an error from the final directory fsync leaves the
  // rename done but maybe not durable. Call at most once.
  absl::Status Commit(const std::string& path,
                      const std::function<absl::Status()>& before_rename = {});

 private:
  AtomicFile(std::string dir, std::string temp, int fd)
      : dir_(std::move(dir)), temp_(std::move(temp)), fd_(fd) {}
  void Discard();

  std::string dir_;
  std::string temp_;  // empty once committed or discarded
  int fd_ = -1;
};

// Best effort: removes the files directly in `dir` (and below it if
// `recursive`) whose name starts with '.' and contains `marker`: the temp
// files of AtomicFiles a crash interrupted. Errors are ignored: a leftover
// only costs space and the next call retries.
void RemoveStaleTempFiles(const std::string& dir, std::string_view marker,
                          bool recursive);

// An exclusive flock(2) on a lock file, held for the object's lifetime (and
// released by the kernel if the process dies): one owner per directory
// across processes and within one.
class OwnerLock {
 public:
  // Opens or creates `path` (mode 0600, never through a symlink) and locks
  // it without waiting. FailedPrecondition "<owner> is in use by another
  // process or instance" if someone else holds it.
  static absl::StatusOr<OwnerLock> Acquire(const std::string& path,
                                           std::string_view owner);
  OwnerLock(OwnerLock&& other) noexcept;
  OwnerLock& operator=(OwnerLock&& other) noexcept;
  OwnerLock(const OwnerLock&) = delete;
  OwnerLock& operator=(const OwnerLock&) = delete;
  ~OwnerLock();

 private:
  explicit OwnerLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace coffer

#endif  // COFFER_BASE_FILES_H_
