// The embedded keyring (kms.h, docs/archive.md). Keys are read from disk on
// first use of a region and cached; CreateKey rewrites the region's file
// atomically under the mutex, so readers of the cache never see a key that
// is not durable yet.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/fault.h"
#include "base/files.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "kms/internal/keyring_format.h"
#include "kms/kms.h"

namespace coffer::kms {
namespace {

using crypto::SecretBytes;
using internal::KeyEntry;

constexpr size_t kMaxKeyFileSize = size_t{1} << 20;
constexpr char kTempMarker[] = ".tmp-";

// A test crashes here to leave a temp file behind.
absl::Status BeforeRename() {
  COFFER_FAULT_POINT("kms.keyring.before_rename");
  return absl::OkStatus();
}

// Temp file in `dir` (mode 0600 from mkstemp), fsync, rename over `name`,
// fsync of `dir`: after a crash the file is either the old or the new one.
absl::Status WriteFileAtomically(const std::string& dir,
                                 const std::string& name, ByteView contents) {
  COFFER_ASSIGN_OR_RETURN(
      AtomicFile file,
      AtomicFile::Create(dir, absl::StrCat(".", name, kTempMarker)));
  COFFER_RETURN_IF_ERROR(file.Write(contents));
  return file.Commit(absl::StrCat(dir, "/", name), BeforeRename);
}

// Reads a key file straight into secure memory (never a std::string).
absl::StatusOr<SecretBytes> ReadKeyFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ErrnoError(errno, "opening", path);
  struct stat st {};
  absl::Status status;
  if (fstat(fd, &st) != 0) {
    status = ErrnoError(errno, "inspecting", path);
  } else if (!S_ISREG(st.st_mode) ||
             static_cast<size_t>(st.st_size) > kMaxKeyFileSize) {
    status = absl::DataLossError(absl::StrCat(path, " is not a key file"));
  } else if ((st.st_mode & 077) != 0) {
    // Like ssh with its private keys: refuse rather than use exposed keys.
    status = absl::FailedPreconditionError(
        absl::StrCat(path,
                     " is accessible to other users; check who read it, then "
                     "chmod 600 it"));
  }
  SecretBytes contents(status.ok() ? static_cast<size_t>(st.st_size) : 0);
  for (size_t done = 0; status.ok() && done < contents.size();) {
    const ssize_t n = read(fd, contents.ExposeSecretMutable().data() + done,
                           contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) status = ErrnoError(n < 0 ? errno : EIO, "reading", path);
    if (n > 0) done += static_cast<size_t>(n);
  }
  close(fd);
  if (!status.ok()) return status;
  return contents;
}

class LocalKeyring final : public Kms {
 public:
  LocalKeyring(std::string dir, OwnerLock lock)
      : dir_(std::move(dir)), lock_(std::move(lock)) {}

  absl::StatusOr<std::string> CreateKey(const std::string& region) override;
  absl::StatusOr<std::string> CurrentKeyId(const std::string& region) override;
  absl::StatusOr<Bytes> WrapDataKey(const std::string& region,
                                    const SecretBytes& data_key,
                                    ByteView aad) override;
  absl::StatusOr<SecretBytes> UnwrapDataKey(const std::string& region,
                                            ByteView wrapped,
                                            ByteView aad) override;

 private:
  struct Key {
    KeyEntry entry;
    std::shared_ptr<const crypto::AesGcm> aead;
  };
  using Region = std::vector<Key>;  // oldest first; the last is current

  static absl::StatusOr<Key> MakeKey(KeyEntry entry);
  std::string KeyFile(const std::string& region) const {
    return absl::StrCat(dir_, "/", region, ".keyring");
  }
  // The cached keys of `region`, loaded from disk on first use. NotFound if
  // the region has no key file.
  absl::StatusOr<Region*> LoadLocked(const std::string& region)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The key `key_id` (or the current one if empty) of `region`.
  absl::StatusOr<Key> FindKey(const std::string& region,
                              const std::string& key_id);

  const std::string dir_;
  const OwnerLock lock_;  // held while the object lives: one owner of dir_
  absl::Mutex mu_;
  std::map<std::string, Region> regions_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<LocalKeyring::Key> LocalKeyring::MakeKey(KeyEntry entry) {
  COFFER_ASSIGN_OR_RETURN(crypto::AesGcm aead,
                          crypto::AesGcm::Create(entry.kek.Clone()));
  return Key{std::move(entry),
             std::make_shared<const crypto::AesGcm>(std::move(aead))};
}

absl::StatusOr<LocalKeyring::Region*> LocalKeyring::LoadLocked(
    const std::string& region) {
  if (auto it = regions_.find(region); it != regions_.end()) {
    return &it->second;
  }
  absl::StatusOr<SecretBytes> file = ReadKeyFile(KeyFile(region));
  if (absl::IsNotFound(file.status())) {
    return absl::NotFoundError(
        absl::StrCat("region ", region, " has no KMS key; create one first"));
  }
  if (!file.ok()) return file.status();
  COFFER_ASSIGN_OR_RETURN(
      std::vector<KeyEntry> entries,
      internal::DecodeKeyFile(region, file->ExposeSecret()));
  Region keys;
  for (KeyEntry& entry : entries) {
    COFFER_ASSIGN_OR_RETURN(Key key, MakeKey(std::move(entry)));
    keys.push_back(std::move(key));
  }
  return &(regions_[region] = std::move(keys));
}

absl::StatusOr<std::string> LocalKeyring::CreateKey(const std::string& region) {
  COFFER_RETURN_IF_ERROR(ValidateRegion(region));
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Region*> loaded = LoadLocked(region);
  if (!loaded.ok() && !absl::IsNotFound(loaded.status())) {
    return loaded.status();
  }
  COFFER_ASSIGN_OR_RETURN(Bytes id_bytes, crypto::RandomBytes(8));
  COFFER_ASSIGN_OR_RETURN(SecretBytes kek,
                          crypto::RandomSecret(internal::kKekSize));
  COFFER_ASSIGN_OR_RETURN(
      Key key, MakeKey({absl::StrCat(region, "/", HexEncode(id_bytes)),
                        std::move(kek)}));
  std::vector<KeyEntry> entries;
  if (loaded.ok()) {
    for (const Key& old : **loaded) {
      entries.push_back({old.entry.id, old.entry.kek.Clone()});
    }
  }
  if (entries.size() >= 0xffff) {
    return absl::ResourceExhaustedError(
        absl::StrCat("region ", region, " already has 65535 keys"));
  }
  entries.push_back({key.entry.id, key.entry.kek.Clone()});
  COFFER_ASSIGN_OR_RETURN(SecretBytes file,
                          internal::EncodeKeyFile(region, entries));
  COFFER_RETURN_IF_ERROR(WriteFileAtomically(
      dir_, absl::StrCat(region, ".keyring"), file.ExposeSecret()));
  std::string id = key.entry.id;
  regions_[region].push_back(std::move(key));
  return id;
}

absl::StatusOr<LocalKeyring::Key> LocalKeyring::FindKey(
    const std::string& region, const std::string& key_id) {
  absl::MutexLock lock(&mu_);
  COFFER_ASSIGN_OR_RETURN(Region * keys, LoadLocked(region));
  for (const Key& key : *keys) {
    if (key_id.empty() ? &key == &keys->back() : key.entry.id == key_id) {
      return Key{{key.entry.id, SecretBytes()}, key.aead};
    }
  }
  return absl::NotFoundError(
      absl::StrCat("KMS key ", key_id, " is not in the keyring of region ",
                   region, "; was the keyring replaced?"));
}

absl::StatusOr<std::string> LocalKeyring::CurrentKeyId(
    const std::string& region) {
  COFFER_RETURN_IF_ERROR(ValidateRegion(region));
  COFFER_ASSIGN_OR_RETURN(Key key, FindKey(region, ""));
  return key.entry.id;
}

absl::StatusOr<Bytes> LocalKeyring::WrapDataKey(const std::string& region,
                                                const SecretBytes& data_key,
                                                ByteView aad) {
  COFFER_RETURN_IF_ERROR(ValidateRegion(region));
  if (data_key.empty() || data_key.size() > kMaxDataKeySize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a data key must be 1 to ", kMaxDataKeySize, " bytes long"));
  }
  COFFER_ASSIGN_OR_RETURN(Key key, FindKey(region, ""));
  COFFER_ASSIGN_OR_RETURN(Bytes iv, crypto::RandomBytes(internal::kWrapIvSize));
  COFFER_ASSIGN_OR_RETURN(
      Bytes sealed,
      key.aead->EncryptWithIv(iv, data_key.ExposeSecret(),
                              internal::WrapAad(region, key.entry.id, aad)));
  Bytes out = internal::EncodeWrappedPrefix(key.entry.id);
  out.insert(out.end(), iv.begin(), iv.end());
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

absl::StatusOr<SecretBytes> LocalKeyring::UnwrapDataKey(
    const std::string& region, ByteView wrapped, ByteView aad) {
  COFFER_RETURN_IF_ERROR(ValidateRegion(region));
  {
    // An unknown region is NotFound even for a blob that is garbage.
    absl::MutexLock lock(&mu_);
    COFFER_RETURN_IF_ERROR(LoadLocked(region).status());
  }
  COFFER_ASSIGN_OR_RETURN(internal::WrappedKey blob,
                          internal::ParseWrapped(wrapped));
  const std::string prefix = absl::StrCat(region, "/");
  if (blob.key_id.compare(0, prefix.size(), prefix) != 0) {
    return absl::DataLossError(
        absl::StrCat("the data key was not wrapped for region ", region,
                     " (another region's envelope, or tampered with)"));
  }
  COFFER_ASSIGN_OR_RETURN(Key key, FindKey(region, blob.key_id));
  absl::StatusOr<SecretBytes> data_key = key.aead->DecryptWithIv(
      blob.iv, blob.sealed, internal::WrapAad(region, blob.key_id, aad));
  if (!data_key.ok()) {
    return absl::DataLossError(
        absl::StrCat("the wrapped data key does not verify under ", blob.key_id,
                     ": tampered with, or other associated data"));
  }
  return data_key;
}

}  // namespace

absl::Status ValidateRegion(std::string_view region) {
  bool ok = !region.empty() && region.size() <= kMaxRegionSize;
  for (char c : region) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "region name must match [a-z0-9-]{1,", kMaxRegionSize, "}; got \"",
      absl::CHexEscape(std::string(region.substr(0, 64))), "\""));
}

absl::StatusOr<std::unique_ptr<Kms>> OpenLocalKeyring(const std::string& dir) {
  COFFER_RETURN_IF_ERROR(MakePrivateDirectory(dir));
  COFFER_ASSIGN_OR_RETURN(OwnerLock lock,
                          OwnerLock::Acquire(absl::StrCat(dir, "/.lock"),
                                             absl::StrCat("keyring ", dir)));
  // Temp files a crash left between mkstemp and rename.
  RemoveStaleTempFiles(dir, kTempMarker, /*recursive=*/false);
  return std::make_unique<LocalKeyring>(dir, std::move(lock));
}

}  // namespace coffer::kms
