#include "cli/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "cli/command_table.h"

namespace coffer::cli {
namespace {

using crypto::SecretBytes;

absl::Status Errno(const std::string& what, const std::string& path) {
  return UsageError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, ByteView data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::InternalError(std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFd(int fd, const std::string& name) {
  std::string data;
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read", name);
    if (n == 0) return data;
    data.append(buf, static_cast<size_t>(n));
  }
}

absl::Status WriteFd(const std::string& path, int flags, mode_t mode,
                     ByteView data) {
  const int fd = open(path.c_str(), flags | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return UsageError(
          absl::StrCat(path,
                       " already exists; a secret file is never overwritten: "
                       "move it away first"));
    }
    return Errno("cannot create", path);
  }
  absl::Status s = WriteAll(fd, data);
  if (s.ok() && fchmod(fd, mode) != 0) s = Errno("cannot chmod", path);
  if (close(fd) != 0 && s.ok()) s = Errno("cannot write", path);
  if (!s.ok()) {
    return UsageError(absl::StrCat("cannot write ", path, ": ", s.message()));
  }
  return absl::OkStatus();
}

int HexValue(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  absl::StatusOr<std::string> data = ReadFd(fd, path);
  close(fd);
  return data;
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path.empty() || path == "-") return ReadFd(STDIN_FILENO, "stdin");
  return ReadFile(path);
}

absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
    close(fd);
    return UsageError(absl::StrCat(path, " is not a regular file under 1 MiB"));
  }
  SecretBytes data(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        read(fd, data.ExposeSecretMutable().data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  data.Truncate(done);
  return data;
}

absl::Status WriteFile(const std::string& path, ByteView data, mode_t mode) {
  return WriteFd(path, O_CREAT | O_TRUNC, mode, data);
}

absl::Status WriteFile(const std::string& path, const std::string& data,
                       mode_t mode) {
  return WriteFile(path, AsBytes(data), mode);
}

absl::Status WriteOutput(const std::string& path, ByteView data) {
  if (path.empty() || path == "-") {
    absl::Status s = WriteAll(STDOUT_FILENO, data);
    if (!s.ok())
      return UsageError(absl::StrCat("cannot write stdout: ", s.message()));
    return absl::OkStatus();
  }
  return WriteFile(path, data, 0644);
}

absl::Status WriteSecretFile(const std::string& path, ByteView data) {
  return WriteFd(path, O_CREAT | O_EXCL, 0600, data);
}

absl::Status MakeDirs(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return UsageError(
        absl::StrCat("cannot create directory ", path, ": ", ec.message()));
  }
  chmod(path.c_str(), mode);
  return absl::OkStatus();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string ResolvePath(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

absl::StatusOr<SecretBytes> HexToSecret(const SecretBytes& hex) {
  ByteView in = hex.ExposeSecret();
  size_t begin = 0, end = in.size();
  while (begin < end && std::isspace(in[begin])) ++begin;
  while (end > begin && std::isspace(in[end - 1])) --end;
  if ((end - begin) % 2 != 0) {
    return UsageError("a key component must be an even number of hex digits");
  }
  SecretBytes out((end - begin) / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexValue(in[begin + 2 * i]);
    const int lo = HexValue(in[begin + 2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return UsageError("a key component must be hex digits only");
    }
    out.ExposeSecretMutable()[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

SecretBytes SecretToHex(const SecretBytes& secret) {
  static constexpr char kDigits[] = "0123456789abcdef";
  SecretBytes out(secret.size() * 2);
  for (size_t i = 0; i < secret.size(); ++i) {
    const uint8_t b = secret.ExposeSecret()[i];
    out.ExposeSecretMutable()[2 * i] = static_cast<uint8_t>(kDigits[b >> 4]);
    out.ExposeSecretMutable()[2 * i + 1] =
        static_cast<uint8_t>(kDigits[b & 15]);
  }
  return out;
}

}  // namespace coffer::cli
