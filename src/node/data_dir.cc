#include "node/data_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/kdf.h"
#include "crypto/random.h"

namespace coffer::node {
namespace {

using crypto::SecretBytes;

constexpr size_t kRootKeySize = 32;

std::string RootKeyPath(const std::string& dir) { return dir + "/device.key"; }

absl::Status WriteRootKey(const std::string& path, const SecretBytes& key) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat(path,
                       " already exists: this directory already holds "
                       "an HSM"));
    }
    return absl::InternalError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  ByteView bytes = key.ExposeSecret();
  const bool ok = write(fd, bytes.data(), bytes.size()) ==
                      static_cast<ssize_t>(bytes.size()) &&
                  fsync(fd) == 0;
  close(fd);
  if (!ok) {
    unlink(path.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretBytes> ReadRootKey(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, " (", std::strerror(errno),
                     "): is this an HSM data directory made by `coffer factory "
                     "manufacture`?"));
  }
  SecretBytes key(kRootKeySize);
  const ssize_t n = read(fd, key.ExposeSecretMutable().data(), kRootKeySize);
  char extra = 0;
  const ssize_t more = read(fd, &extra, 1);
  close(fd);
  if (n != static_cast<ssize_t>(kRootKeySize) || more != 0) {
    return absl::DataLossError(
        absl::StrCat(path, " is not a ", kRootKeySize, "-byte root key"));
  }
  return key;
}

absl::StatusOr<SecretBytes> StoreKey(const SecretBytes& root,
                                     const char* label) {
  return crypto::KbkdfCounter(root, AsBytes(label), {}, 32);
}

void RemoveStoreFiles(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ignored;
    std::filesystem::remove(db + suffix, ignored);
  }
}

}  // namespace

absl::Status CreateDataDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  chmod(dir.c_str(), 0700);
  COFFER_ASSIGN_OR_RETURN(SecretBytes root, crypto::RandomSecret(kRootKeySize));
  return WriteRootKey(RootKeyPath(dir), root);
}

absl::StatusOr<DataDirStores> OpenDataDir(const std::string& dir) {
  COFFER_ASSIGN_OR_RETURN(SecretBytes root, ReadRootKey(RootKeyPath(dir)));
  COFFER_ASSIGN_OR_RETURN(SecretBytes device_key,
                          StoreKey(root, "coffer.store.device"));
  COFFER_ASSIGN_OR_RETURN(SecretBytes state_key,
                          StoreKey(root, "coffer.store.state"));
  DataDirStores stores;
  COFFER_ASSIGN_OR_RETURN(
      stores.device,
      store::OpenSqliteSealedStore(dir + "/device.db", std::move(device_key)));
  const std::string state_db = dir + "/state.db";
  absl::StatusOr<std::unique_ptr<store::SealedStore>> state =
      store::OpenSqliteSealedStore(state_db, state_key.Clone());
  if (!state.ok() && state.status().code() == absl::StatusCode::kDataLoss) {
    stores.tamper_reason = absl::StrCat("state.db failed authentication: ",
                                        state.status().message());
    RemoveStoreFiles(state_db);
    state = store::OpenSqliteSealedStore(state_db, std::move(state_key));
  }
  if (!state.ok()) return state.status();
  stores.state = *std::move(state);
  return stores;
}

}  // namespace coffer::node
