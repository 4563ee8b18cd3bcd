#include "base/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace coffer {
namespace {

namespace fs = std::filesystem;

std::string ParentDir(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

absl::Status WriteAll(int fd, ByteView data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError(n < 0 ? errno : EIO, "writing", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ErrnoError(int err, std::string_view what, std::string_view path) {
  const std::string msg = absl::StrCat(
      std::string(what), " ", std::string(path), ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    case ELOOP:
      return absl::FailedPreconditionError(
          absl::StrCat(msg, " (refusing to follow a symlink there)"));
    default:
      return absl::InternalError(msg);
  }
}

absl::Status FsyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "opening directory", dir);
  const bool ok = fsync(fd) == 0;
  const int err = errno;
  close(fd);
  return ok ? absl::OkStatus() : ErrnoError(err, "syncing directory", dir);
}

absl::Status MakePrivateDirectory(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create directory ", dir, ": ", ec.message()));
  }
  if (chmod(dir.c_str(), 0700) != 0) {
    return ErrnoError(errno, "restricting to mode 0700", dir);
  }
  return absl::OkStatus();
}

absl::Status MakeFilePrivate(const std::string& path, bool create) {
  const int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW;
  bool created = false;
  int fd = open(path.c_str(), flags);
  if (fd < 0 && errno == ENOENT && create) {
    fd = open(path.c_str(), flags | O_CREAT | O_EXCL, 0600);
    created = fd >= 0;
    // Another process created it in between: use theirs.
    if (fd < 0 && errno == EEXIST) fd = open(path.c_str(), flags);
  }
  if (fd < 0) return ErrnoError(errno, "opening", path);
  struct stat st {};
  absl::Status status;
  if (fstat(fd, &st) != 0) {
    status = ErrnoError(errno, "inspecting", path);
  } else if (!S_ISREG(st.st_mode)) {
    status = absl::FailedPreconditionError(
        absl::StrCat(path, " is not a regular file"));
  } else if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) != 0) {
    status = ErrnoError(errno, "restricting to mode 0600", path);
  } else if (created && fsync(fd) != 0) {
    status = ErrnoError(errno, "syncing", path);
  }
  close(fd);
  if (status.ok() && created) status = FsyncDirectory(ParentDir(path));
  return status;
}

absl::StatusOr<AtomicFile> AtomicFile::Create(const std::string& dir,
                                              std::string_view temp_prefix) {
  std::string temp = absl::StrCat(dir, "/", std::string(temp_prefix), "XXXXXX");
  const int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "creating a temp file in", dir);
  return AtomicFile(dir, std::move(temp), fd);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : dir_(std::move(other.dir_)),
      temp_(std::exchange(other.temp_, std::string())),
      fd_(std::exchange(other.fd_, -1)) {}

AtomicFile& AtomicFile::operator=(AtomicFile&& other) noexcept {
  if (this != &other) {
    Discard();
    dir_ = std::move(other.dir_);
    temp_ = std::exchange(other.temp_, std::string());
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

AtomicFile::~AtomicFile() { Discard(); }

void AtomicFile::Discard() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (!temp_.empty()) unlink(temp_.c_str());
  temp_.clear();
}

absl::Status AtomicFile::Write(ByteView data) {
  if (fd_ < 0) return absl::FailedPreconditionError("AtomicFile is closed");
  return WriteAll(fd_, data, temp_);
}

absl::Status AtomicFile::Commit(
    const std::string& path,
    const std::function<absl::Status()>& before_rename) {
  if (fd_ < 0) return absl::FailedPreconditionError("AtomicFile is closed");
  absl::Status status;
  if (fsync(fd_) != 0) status = ErrnoError(errno, "syncing", temp_);
  const int fd = std::exchange(fd_, -1);
  if (close(fd) != 0 && status.ok()) {
    status = ErrnoError(errno, "closing", temp_);
  }
  if (status.ok() && before_rename) status = before_rename();
  if (status.ok() && rename(temp_.c_str(), path.c_str()) != 0) {
    status = ErrnoError(errno, "renaming to", path);
  }
  if (!status.ok()) {
    Discard();
    return status;
  }
  temp_.clear();  // it is `path` now
  return FsyncDirectory(dir_);
}

void RemoveStaleTempFiles(const std::string& dir, std::string_view marker,
                          bool recursive) {
  auto is_temp = [marker](const fs::directory_entry& entry) {
    const std::string name = entry.path().filename().string();
    std::error_code ec;
    return name.size() > 1 && name[0] == '.' &&
           name.find(marker) != std::string::npos && !entry.is_directory(ec) &&
           !ec;
  };
  std::error_code ec;
  std::vector<fs::path> stale;  // collected first: no removal mid-iteration
  if (recursive) {
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (is_temp(*it)) stale.push_back(it->path());
    }
  } else {
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (is_temp(*it)) stale.push_back(it->path());
    }
  }
  for (const fs::path& p : stale) fs::remove(p, ec);
}

absl::StatusOr<OwnerLock> OwnerLock::Acquire(const std::string& path,
                                             std::string_view owner) {
  const int fd =
      open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoError(errno, "opening", path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          std::string(owner), " is in use by another process or instance"));
    }
    return ErrnoError(err, "locking", path);
  }
  return OwnerLock(fd);
}

OwnerLock::OwnerLock(OwnerLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

OwnerLock& OwnerLock::operator=(OwnerLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

OwnerLock::~OwnerLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace coffer
