#include "provision/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/files.h"
#include "base/status.h"
#include "crypto/kcv.h"
#include "hsm/hsm.h"
#include "nlohmann/json.hpp"
#include "node/data_dir.h"

namespace coffer::provision {
namespace {

using crypto::SecretBytes;

constexpr off_t kMaxFileSize = 1 << 20;

std::string DirOf(const std::string& path) {
  const std::filesystem::path parent =
      std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// Reads a regular file under 1 MiB: `resize(n)` sizes the destination
// (first to the file's size, then to what was read), `data()` points at it.
template <typename Resize, typename Data>
absl::Status ReadInto(const std::string& path, Resize resize, Data data) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size > kMaxFileSize) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a regular file under 1 MiB"));
  }
  resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  const size_t size = static_cast<size_t>(st.st_size);
  while (done < size) {
    const ssize_t n = read(fd, data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return ErrnoError(err, "cannot read", path);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  resize(done);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::string text;
  COFFER_RETURN_IF_ERROR(ReadInto(
      path, [&](size_t n) { text.resize(n); }, [&] { return text.data(); }));
  return text;
}

absl::StatusOr<SecretBytes> ReadSecret(const std::string& path) {
  SecretBytes data;
  COFFER_RETURN_IF_ERROR(ReadInto(
      path,
      [&](size_t n) {
        if (n <= data.size()) {
          data.Truncate(n);
        } else {
          data = SecretBytes(n);
        }
      },
      [&] { return data.ExposeSecretMutable().data(); }));
  return data;
}

// Writes `data` to `path` (created with `flags`), fsyncs it and its
// directory entry.
absl::Status WriteWith(const std::string& path, int flags, mode_t mode,
                       ByteView data) {
  const int fd = open(path.c_str(), flags | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(
          path,
          " already exists; a secret file is never overwritten: move it "
          "away first"));
    }
    return ErrnoError(errno, "cannot create", path);
  }
  absl::Status s;
  while (s.ok() && !data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      s = ErrnoError(n < 0 ? errno : EIO, "cannot write", path);
    } else {
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  if (s.ok() && fchmod(fd, mode) != 0) s = ErrnoError(errno, "chmod", path);
  if (s.ok() && fsync(fd) != 0) s = ErrnoError(errno, "cannot sync", path);
  if (close(fd) != 0 && s.ok()) s = ErrnoError(errno, "cannot write", path);
  if (!s.ok()) return s;
  return FsyncDirectory(DirOf(path));
}

absl::Status WritePublic(const std::string& path, const std::string& text) {
  return WriteWith(path, O_CREAT | O_TRUNC, 0644, AsBytes(text));
}

absl::Status WriteSecret(const std::string& path, ByteView data) {
  return WriteWith(path, O_CREAT | O_EXCL, 0600, data);
}

// Lower-case hex of `secret` plus a newline, in zeroizing memory.
SecretBytes HexLine(const SecretBytes& secret) {
  static constexpr char kDigits[] = "0123456789abcdef";
  SecretBytes out(secret.size() * 2 + 1);
  auto o = out.ExposeSecretMutable();
  for (size_t i = 0; i < secret.size(); ++i) {
    const uint8_t b = secret.ExposeSecret()[i];
    o[2 * i] = static_cast<uint8_t>(kDigits[b >> 4]);
    o[2 * i + 1] = static_cast<uint8_t>(kDigits[b & 15]);
  }
  o[o.size() - 1] = '\n';
  return out;
}

int HexValue(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A file of hex digits (whitespace around them ignored) holding a key of
// `size` bytes.
absl::StatusOr<SecretBytes> ReadHexKey(const std::string& path, size_t size) {
  COFFER_ASSIGN_OR_RETURN(SecretBytes hex, ReadSecret(path));
  ByteView in = hex.ExposeSecret();
  while (!in.empty() && absl::ascii_isspace(in.front())) in.remove_prefix(1);
  while (!in.empty() && absl::ascii_isspace(in.back())) in.remove_suffix(1);
  const absl::Status bad = absl::InvalidArgumentError(
      absl::StrCat(path, " is not a ", size, "-byte key in hex"));
  if (in.size() != 2 * size) return bad;
  SecretBytes out(size);
  for (size_t i = 0; i < size; ++i) {
    const int hi = HexValue(in[2 * i]);
    const int lo = HexValue(in[2 * i + 1]);
    if (hi < 0 || lo < 0) return bad;
    out.ExposeSecretMutable()[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

absl::StatusOr<std::string> ReadLine(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(std::string text, ReadText(path));
  return std::string(absl::StripAsciiWhitespace(text));
}

absl::StatusOr<crypto::PrivateKey> LoadKey(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(SecretBytes pem, ReadSecret(path));
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::FromPem(pem);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", key.status().message()));
  }
  return key;
}

absl::StatusOr<crypto::Certificate> LoadCert(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(std::string pem, ReadText(path));
  absl::StatusOr<crypto::Certificate> cert = crypto::Certificate::FromPem(pem);
  if (!cert.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", cert.status().message()));
  }
  return cert;
}

absl::Status SaveKey(const std::string& path, const crypto::PrivateKey& key) {
  COFFER_ASSIGN_OR_RETURN(SecretBytes pem, key.ToPem());
  return WriteSecret(path, pem.ExposeSecret());
}

// `expected_kcv` must be the KCV of `key`; names `path` otherwise.
absl::Status CheckKcv(const SecretBytes& key, const std::string& expected_kcv,
                      const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(std::string kcv, crypto::KeyCheckValue(key));
  if (kcv != expected_kcv) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " does not match its key check value"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteCaFiles(const std::string& dir,
                          const CertificateAuthority& ca) {
  COFFER_RETURN_IF_ERROR(MakePrivateDirectory(dir));
  COFFER_RETURN_IF_ERROR(SaveKey(dir + "/ca.key", ca.key));
  return WritePublic(dir + "/ca.pem", ca.cert.ToPem());
}

absl::StatusOr<CertificateAuthority> ReadCaFiles(const std::string& dir) {
  COFFER_ASSIGN_OR_RETURN(crypto::PrivateKey key, LoadKey(dir + "/ca.key"));
  COFFER_ASSIGN_OR_RETURN(crypto::Certificate cert, LoadCert(dir + "/ca.pem"));
  return CertificateAuthority{std::move(key), std::move(cert)};
}

absl::Status WriteFactoryFiles(const std::string& dir, const Factory& factory) {
  struct stat st;
  if (stat((dir + "/mkbk.key").c_str(), &st) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(dir, " already holds a factory"));
  }
  COFFER_RETURN_IF_ERROR(WriteCaFiles(dir, factory.ca));
  COFFER_RETURN_IF_ERROR(
      WriteSecret(dir + "/mkbk.key", HexLine(factory.mkbk).ExposeSecret()));
  nlohmann::json doc;
  doc["format"] = 1;
  doc["manufacturer_id"] = factory.manufacturer_id;
  return WritePublic(dir + "/factory.json", doc.dump(2) + "\n");
}

absl::StatusOr<Factory> ReadFactoryFiles(const std::string& dir) {
  COFFER_ASSIGN_OR_RETURN(std::string text, ReadText(dir + "/factory.json"));
  nlohmann::json doc =
      nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("manufacturer_id") ||
      !doc["manufacturer_id"].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, "/factory.json is not a factory file"));
  }
  COFFER_ASSIGN_OR_RETURN(SecretBytes mkbk,
                          ReadHexKey(dir + "/mkbk.key", hsm::kMkbkSize));
  COFFER_ASSIGN_OR_RETURN(CertificateAuthority ca, ReadCaFiles(dir));
  return Factory{doc["manufacturer_id"].get<std::string>(), std::move(mkbk),
                 std::move(ca)};
}

absl::Status WriteIssuedFiles(const std::string& prefix,
                              const IssuedKey& issued) {
  COFFER_RETURN_IF_ERROR(SaveKey(prefix + ".key", issued.key));
  return WritePublic(prefix + ".pem", issued.cert.ToPem());
}

absl::StatusOr<IssuedKey> ReadIssuedFiles(const std::string& prefix) {
  COFFER_ASSIGN_OR_RETURN(crypto::PrivateKey key, LoadKey(prefix + ".key"));
  COFFER_ASSIGN_OR_RETURN(crypto::Certificate cert, LoadCert(prefix + ".pem"));
  return IssuedKey{std::move(key), std::move(cert)};
}

std::string ComponentPath(const std::string& dir, size_t k) {
  return absl::StrCat(dir, "/component-", k, ".key");
}

absl::Status WriteCeremonyFiles(const std::string& dir,
                                const AkbkCeremony& ceremony) {
  COFFER_RETURN_IF_ERROR(MakePrivateDirectory(dir));
  for (size_t i = 0; i < ceremony.components.size(); ++i) {
    const AkbkComponent& c = ceremony.components[i];
    COFFER_RETURN_IF_ERROR(WriteSecret(ComponentPath(dir, i + 1),
                                       HexLine(c.component).ExposeSecret()));
    COFFER_RETURN_IF_ERROR(WritePublic(
        absl::StrCat(dir, "/component-", i + 1, ".kcv"), c.kcv_hex + "\n"));
  }
  return WritePublic(dir + "/combined.kcv", ceremony.combined_kcv_hex + "\n");
}

absl::StatusOr<AkbkCeremony> ReadCeremonyFiles(const std::string& dir) {
  AkbkCeremony ceremony;
  SecretBytes combined(hsm::kAkbkSize);
  for (size_t k = 1;; ++k) {
    const std::string path = ComponentPath(dir, k);
    struct stat st;
    if (stat(path.c_str(), &st) != 0) break;
    AkbkComponent c;
    COFFER_ASSIGN_OR_RETURN(c.component, ReadHexKey(path, hsm::kAkbkSize));
    COFFER_ASSIGN_OR_RETURN(
        c.kcv_hex, ReadLine(absl::StrCat(dir, "/component-", k, ".kcv")));
    COFFER_RETURN_IF_ERROR(CheckKcv(c.component, c.kcv_hex, path));
    auto out = combined.ExposeSecretMutable();
    for (size_t j = 0; j < out.size(); ++j) {
      out[j] ^= c.component.ExposeSecret()[j];
    }
    ceremony.components.push_back(std::move(c));
  }
  if (ceremony.components.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir,
                     " does not hold an AKBK ceremony (component-1.key and "
                     "component-2.key at least)"));
  }
  COFFER_ASSIGN_OR_RETURN(ceremony.combined_kcv_hex,
                          ReadLine(dir + "/combined.kcv"));
  COFFER_RETURN_IF_ERROR(
      CheckKcv(combined, ceremony.combined_kcv_hex, dir + "/combined.kcv"));
  return ceremony;
}

absl::Status ManufactureDataDir(const Factory& factory,
                                const std::string& data_dir,
                                const std::string& serial,
                                const std::string& firmware) {
  COFFER_ASSIGN_OR_RETURN(hsm::DeviceRecord device,
                          ManufactureDevice(factory, serial, firmware));
  COFFER_RETURN_IF_ERROR(node::CreateDataDir(data_dir));
  COFFER_ASSIGN_OR_RETURN(node::DataDirStores stores,
                          node::OpenDataDir(data_dir));
  return hsm::Hsm::Manufacture(*stores.device, device);
}

}  // namespace coffer::provision
