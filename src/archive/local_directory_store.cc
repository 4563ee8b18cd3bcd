// The embedded object store (object_store.h; file layout in
// docs/archive.md). Object data is streamed straight between the caller and
// the file through one bounded buffer; nothing holds a whole object.
//
// Key "a/b/c" lives in <root>/a/b/c~obj; temp files are ".c~tmp-XXXXXX" in
// the same directory. '~' cannot occur in a key, so neither name can clash
// with another key's file or directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "archive/object_store.h"
#include "base/fault.h"
#include "base/files.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "crypto/secret_bytes.h"

namespace coffer::archive {
namespace {

namespace fs = std::filesystem;

constexpr char kObjectSuffix[] = "~obj";
constexpr char kTempMarker[] = "~tmp-";
constexpr size_t kMaxComponentSize = 200;  // + temp decorations < NAME_MAX
constexpr size_t kReadChunk = size_t{64} << 10;
constexpr uint8_t kTrailerMagic[4] = {'C', 'F', 'O', 'B'};
constexpr uint8_t kTrailerVersion = 1;
constexpr size_t kDigestSize = 32;
constexpr size_t kTrailerSize = 4 + 4 + 8 + kDigestSize;

// Reads exactly out.size() bytes at `offset`; DataLoss on a short file.
absl::Status ReadAt(int fd, absl::Span<uint8_t> out, off_t offset,
                    const std::string& path) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = pread(fd, out.data() + done, out.size() - done,
                            offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "reading", path);
    if (n == 0) return absl::DataLossError(absl::StrCat(path, " shrank"));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

Bytes EncodeTrailer(uint64_t size, ByteView digest) {
  Bytes t(kTrailerMagic, kTrailerMagic + sizeof(kTrailerMagic));
  t.insert(t.end(), {kTrailerVersion, 0, 0, 0});
  for (int i = 7; i >= 0; --i)
    t.push_back(static_cast<uint8_t>(size >> (8 * i)));
  t.insert(t.end(), digest.begin(), digest.end());
  return t;
}

// An open object file whose trailer has been checked against its length.
struct OpenObject {
  int fd = -1;
  uint64_t size = 0;
  Bytes digest;
  ~OpenObject() {
    if (fd >= 0) close(fd);
  }
};

absl::Status OpenAndCheck(const std::string& path, OpenObject& obj) {
  obj.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (obj.fd < 0) return ErrnoError(errno, "opening object", path);
  struct stat st {};
  if (fstat(obj.fd, &st) != 0) return ErrnoError(errno, "inspecting", path);
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (!S_ISREG(st.st_mode) || file_size < kTrailerSize) {
    return absl::DataLossError(
        absl::StrCat("object file ", path, " is truncated or not a file"));
  }
  Bytes t(kTrailerSize);
  COFFER_RETURN_IF_ERROR(ReadAt(obj.fd, absl::MakeSpan(t),
                                static_cast<off_t>(file_size - kTrailerSize),
                                path));
  for (size_t i = 8; i < 16; ++i) obj.size = (obj.size << 8) | t[i];
  if (!std::equal(kTrailerMagic, kTrailerMagic + 4, t.begin()) ||
      t[4] != kTrailerVersion || t[5] != 0 || t[6] != 0 || t[7] != 0 ||
      obj.size != file_size - kTrailerSize) {
    return absl::DataLossError(absl::StrCat(
        "object file ", path, " has a damaged trailer (truncated or altered)"));
  }
  obj.digest.assign(t.begin() + 16, t.end());
  return absl::OkStatus();
}

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' || c == '-';
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class LocalDirectoryStore final : public ObjectStore {
 public:
  LocalDirectoryStore(std::string root, OwnerLock lock)
      : root_(std::move(root)), lock_(std::move(lock)) {}

  absl::Status Put(const std::string& key, const ChunkSource& source) override;
  absl::Status Get(const std::string& key, const ByteSink& sink) override;
  absl::Status Delete(const std::string& key) override;
  absl::StatusOr<std::vector<std::string>> List(
      const std::string& prefix) override;
  absl::StatusOr<ObjectInfo> Stat(const std::string& key) override;

 private:
  std::string PathOf(const std::string& key) const {
    return absl::StrCat(root_, "/", key, kObjectSuffix);
  }
  // Creates the directories of `key` below root_ (syncing each parent that
  // gains an entry) and a temp file beside the object.
  absl::StatusOr<AtomicFile> CreateTemp(const std::string& key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string root_;
  const OwnerLock lock_;  // held while the object lives: one owner of root_
  // Orders directory creation and temp-file creation against Delete's
  // removal of emptied directories. Data I/O runs outside it.
  absl::Mutex mu_;
};

absl::StatusOr<AtomicFile> LocalDirectoryStore::CreateTemp(
    const std::string& key) {
  std::string dir = root_;
  size_t start = 0;
  for (size_t slash; (slash = key.find('/', start)) != std::string::npos;
       start = slash + 1) {
    const std::string parent = dir;
    dir = absl::StrCat(dir, "/", key.substr(start, slash - start));
    if (mkdir(dir.c_str(), 0700) == 0) {
      COFFER_RETURN_IF_ERROR(FsyncDirectory(parent));
    } else if (errno != EEXIST) {
      return ErrnoError(errno, "creating directory", dir);
    }
  }
  return AtomicFile::Create(dir,
                            absl::StrCat(".", key.substr(start), kTempMarker));
}

// Content, then the trailer (size and SHA-256); Commit makes both visible
// together in one rename.
absl::Status WriteObject(AtomicFile& file, const ChunkSource& source) {
  COFFER_ASSIGN_OR_RETURN(crypto::Hasher hasher,
                          crypto::Hasher::Create(crypto::HashAlg::kSha256));
  uint64_t size = 0;
  while (true) {
    COFFER_ASSIGN_OR_RETURN(Bytes chunk, source());
    if (chunk.empty()) break;
    COFFER_RETURN_IF_ERROR(hasher.Update(chunk));
    COFFER_RETURN_IF_ERROR(file.Write(chunk));
    size += chunk.size();
  }
  COFFER_ASSIGN_OR_RETURN(Bytes digest, hasher.Finish());
  return file.Write(EncodeTrailer(size, digest));
}

// A test crashes here to leave a synced temp file behind.
absl::Status BeforeRename() {
  COFFER_FAULT_POINT("archive.put.before_rename");
  return absl::OkStatus();
}

absl::Status LocalDirectoryStore::Put(const std::string& key,
                                      const ChunkSource& source) {
  COFFER_RETURN_IF_ERROR(ValidateObjectKey(key));
  absl::StatusOr<AtomicFile> file;
  {
    absl::MutexLock lock(&mu_);
    file = CreateTemp(key);
  }
  if (!file.ok()) return file.status();
  // Data I/O outside mu_; a failure discards the temp file.
  COFFER_RETURN_IF_ERROR(WriteObject(*file, source));
  return file->Commit(PathOf(key), BeforeRename);
}

absl::Status LocalDirectoryStore::Get(const std::string& key,
                                      const ByteSink& sink) {
  COFFER_RETURN_IF_ERROR(ValidateObjectKey(key));
  const std::string path = PathOf(key);
  OpenObject obj;
  COFFER_RETURN_IF_ERROR(OpenAndCheck(path, obj));
  COFFER_ASSIGN_OR_RETURN(crypto::Hasher hasher,
                          crypto::Hasher::Create(crypto::HashAlg::kSha256));
  Bytes buffer(static_cast<size_t>(std::min<uint64_t>(kReadChunk, obj.size)));
  for (uint64_t done = 0; done < obj.size;) {
    const auto n =
        static_cast<size_t>(std::min<uint64_t>(kReadChunk, obj.size - done));
    const absl::Span<uint8_t> chunk(buffer.data(), n);
    COFFER_RETURN_IF_ERROR(
        ReadAt(obj.fd, chunk, static_cast<off_t>(done), path));
    COFFER_RETURN_IF_ERROR(hasher.Update(chunk));
    COFFER_RETURN_IF_ERROR(sink(chunk));
    done += n;
  }
  COFFER_ASSIGN_OR_RETURN(Bytes digest, hasher.Finish());
  if (!crypto::ConstantTimeEquals(digest, obj.digest)) {
    return absl::DataLossError(
        absl::StrCat("object ", key,
                     " failed its checksum: the stored file is damaged; "
                     "discard what was read and use another copy"));
  }
  return absl::OkStatus();
}

absl::Status LocalDirectoryStore::Delete(const std::string& key) {
  COFFER_RETURN_IF_ERROR(ValidateObjectKey(key));
  const std::string path = PathOf(key);
  absl::MutexLock lock(&mu_);
  if (unlink(path.c_str()) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("no object ", key));
    }
    return ErrnoError(errno, "deleting", path);
  }
  fs::path dir = fs::path(path).parent_path();
  COFFER_RETURN_IF_ERROR(FsyncDirectory(dir.string()));
  // Emptied directories go too, so List stays quick; rmdir refuses a
  // directory that still holds anything, a temp file of a running Put too.
  const fs::path root(root_);
  while (dir != root && rmdir(dir.c_str()) == 0) dir = dir.parent_path();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> LocalDirectoryStore::List(
    const std::string& prefix) {
  if (!std::all_of(prefix.begin(), prefix.end(), IsKeyChar) ||
      prefix.find("..") != std::string::npos || prefix.starts_with("/")) {
    return absl::InvalidArgumentError(
        "a list prefix may only hold characters a key can hold");
  }
  // Only the directory the prefix names can hold matching keys.
  const size_t slash = prefix.rfind('/');
  const std::string start =
      slash == std::string::npos
          ? root_
          : absl::StrCat(root_, "/", prefix.substr(0, slash));
  std::vector<std::string> keys;
  absl::MutexLock lock(&mu_);  // Delete removes directories
  std::error_code ec;
  fs::recursive_directory_iterator it(start, ec), end;
  if (ec == std::errc::no_such_file_or_directory) return keys;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (!EndsWith(name, kObjectSuffix) || !it->is_regular_file(type_ec)) {
      continue;
    }
    std::string key = it->path().string().substr(root_.size() + 1);
    key.resize(key.size() - std::strlen(kObjectSuffix));
    if (key.starts_with(prefix)) keys.push_back(std::move(key));
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("listing ", start, ": ", ec.message()));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

absl::StatusOr<ObjectInfo> LocalDirectoryStore::Stat(const std::string& key) {
  COFFER_RETURN_IF_ERROR(ValidateObjectKey(key));
  OpenObject obj;
  COFFER_RETURN_IF_ERROR(OpenAndCheck(PathOf(key), obj));
  return ObjectInfo{obj.size, HexEncode(obj.digest)};
}

}  // namespace

absl::Status ValidateObjectKey(std::string_view key) {
  bool ok = !key.empty() && key.size() <= kMaxKeySize &&
            std::all_of(key.begin(), key.end(), IsKeyChar) &&
            key.find("..") == std::string_view::npos;
  for (size_t start = 0; ok;) {
    const size_t slash = std::min(key.find('/', start), key.size());
    const std::string_view part = key.substr(start, slash - start);
    ok = !part.empty() && part != "." && part.size() <= kMaxComponentSize;
    if (slash == key.size()) break;
    start = slash + 1;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "object key must be 1 to ", kMaxKeySize,
      " bytes of [A-Za-z0-9._/-] with non-empty \"/\"-separated parts of at "
      "most ",
      kMaxComponentSize, " bytes, none \".\", and no \"..\""));
}

absl::StatusOr<std::unique_ptr<ObjectStore>> OpenLocalDirectoryStore(
    const std::string& root_arg) {
  // List and Delete compare paths against the root: no trailing slash.
  std::string root = root_arg;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  COFFER_RETURN_IF_ERROR(MakePrivateDirectory(root));
  COFFER_ASSIGN_OR_RETURN(
      OwnerLock lock, OwnerLock::Acquire(absl::StrCat(root, "/.lock"),
                                         absl::StrCat("object store ", root)));
  // Temp files of Puts a crash interrupted; invisible to List meanwhile.
  RemoveStaleTempFiles(root, kTempMarker, /*recursive=*/true);
  return std::make_unique<LocalDirectoryStore>(root, std::move(lock));
}

}  // namespace coffer::archive
