// libFuzzer target for backups, the project's most exposed decoder: a
// backup file comes from an object store and anyone who can write there
// controls every byte (docs/backup-format.md, docs/threat-model.md).
//
// Each input goes through
//   (a) BackupReader, the secret-free verifier, fed whole and in 7-byte
//       chunks: both must give the same status (chunking is invisible);
//   (b) Restorer into a real HSM core (SQLite stores in a temp dir) that is
//       COMMISSIONED for the same factory and service as the seeds' source
//       HSMs, so a header that survives mutation reaches the EBK unwrap,
//       record decryption and staging. A failed restore must leave the
//       target COMMISSIONED; a successful one (an unmutated seed) must only
//       happen for an input the reader accepted, and the target is then
//       rebuilt so the next input meets a COMMISSIONED HSM again.
// Any broken invariant aborts, which libFuzzer reports as a crash.
//
// Seeds: LLVMFuzzerInitialize makes real backups (small, more keys, FIPS
// and non-FIPS) and writes them into $COFFER_FUZZ_SEED_DIR when it is set.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "backup/backup.h"
#include "hsm/hsm.h"
#include "hsm/key_manager.h"
#include "hsm/user_manager.h"
#include "provision/provision.h"
#include "store/sealed_store.h"

namespace coffer {
namespace {

using crypto::SecretBytes;
using hsm::Mode;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "backup_fuzz: %s\n", what.c_str());
  std::abort();
}

template <typename T>
T Must(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) Die(absl::StrCat(what, ": ", value.status().ToString()));
  return *std::move(value);
}

void Must(const absl::Status& status, const char* what) {
  if (!status.ok()) Die(absl::StrCat(what, ": ", status.ToString()));
}

SecretBytes Secret(std::string_view s) {
  return SecretBytes::CopyOf(AsBytes(s));
}

struct World {
  std::string root;  // removed at exit
  int next_dir = 0;
  provision::Factory factory;
  provision::CertificateAuthority customer_ca;
  provision::AkbkCeremony service;
  // Restore targets, one per mode: a backup keeps its mode.
  std::unique_ptr<hsm::Hsm> target[2];
  std::string target_dir[2];
};
World* world = nullptr;

std::unique_ptr<hsm::Hsm> OpenHsm(const std::string& dir) {
  store::SqliteStoreOptions fast;
  fast.sync = store::SyncMode::kNormal;  // no fsync: a crash here is moot
  auto open = [&](const char* name) {
    return Must(
        store::OpenSqliteSealedStore(dir + "/" + name, SecretBytes(32), fast),
        "opening a store");
  };
  hsm::HsmOptions options;
  options.password_params.n = 1 << 10;  // cheap password hashes
  return Must(hsm::Hsm::Open(open("device.db"), open("state.db"), options),
              "opening an HSM");
}

// A new HSM of world->factory, commissioned for world->service.
std::unique_ptr<hsm::Hsm> Commissioned(Mode mode, std::string& dir) {
  dir = absl::StrCat(world->root, "/hsm", world->next_dir++);
  std::filesystem::create_directory(dir);
  const std::string serial = absl::StrCat("FUZZ-", world->next_dir);
  {
    auto device =
        Must(store::OpenSqliteSealedStore(dir + "/device.db", SecretBytes(32)),
             "opening a device store");
    Must(hsm::Hsm::Manufacture(
             *device,
             Must(provision::ManufactureDevice(world->factory, serial, "1.0.0"),
                  "manufacturing")),
         "writing the device record");
  }
  std::unique_ptr<hsm::Hsm> h = OpenHsm(dir);
  const provision::AkbkCeremony& s = world->service;
  Must(h->BeginCommission(mode, 2, s.combined_kcv_hex,
                          world->customer_ca.cert.ToPem()),
       "commissioning");
  for (size_t i = 0; i < 2; ++i) {
    Must(h->AddAkbkComponent(i == 0 ? "alice" : "bob",
                             s.components[i].component.Clone(),
                             s.components[i].kcv_hex),
         "adding an AKBK component");
  }
  return h;
}

hsm::Caller Login(hsm::Hsm& h, std::string_view user, std::string_view pw) {
  std::string token = Must(h.Login(user, Secret(pw)), "logging in");
  return Must(h.Authenticate(token), "authenticating");
}

// An ACTIVE source HSM with `users` crypto users and `keys` AES keys plus
// one EC key pair per user; returns a backup of it.
Bytes SourceBackup(Mode mode, int users, int keys) {
  std::string dir;
  std::unique_ptr<hsm::Hsm> h = Commissioned(mode, dir);
  std::string csr = Must(h->CreateClusterCsr("fuzz-cluster"), "cluster CSR");
  crypto::Certificate cert = Must(
      provision::SignClusterCsr(world->customer_ca, csr), "signing the CSR");
  Must(h->InstallClusterCertificate(cert.ToPem(),
                                    world->customer_ca.cert.ToPem()),
       "installing the cluster certificate");
  Must(h->Activate(Secret("admin-password")), "activating");
  hsm::Caller admin = Login(*h, "admin", "admin-password");
  for (int u = 0; u < users; ++u) {
    const std::string name = absl::StrCat("user", u);
    Must(h->users().CreateUser(admin, name, hsm::Role::kCryptoUser,
                               Secret("user-password")),
         "creating a user");
    hsm::Caller cu = Login(*h, name, "user-password");
    for (int k = 0; k < keys; ++k) {
      hsm::KeyTemplate aes;
      aes.key_type = hsm::KeyType::kAes;
      aes.bits = 256;
      aes.label = absl::StrCat(name, "-aes-", k);
      Must(h->keys().GenerateSecretKey(cu, aes), "generating a key");
    }
    hsm::KeyTemplate ec;
    ec.key_type = hsm::KeyType::kEcP256;
    ec.label = absl::StrCat(name, "-ec");
    Must(h->keys().GenerateKeyPair(cu, ec), "generating a key pair");
  }
  auto snapshot = Must(h->OpenBackupSnapshot(&admin), "opening a snapshot");
  Bytes out;
  Must(backup::CreateBackup(*snapshot,
                            [&](ByteView chunk) {
                              out.insert(out.end(), chunk.begin(), chunk.end());
                              return absl::OkStatus();
                            })
           .status(),
       "creating a backup");
  return out;
}

// The mode a restore target needs: the header's, when it decodes.
int TargetFor(ByteView input) {
  constexpr size_t kStart = backup::kPreambleSize + backup::kFrameHeaderSize;
  if (input.size() < kStart) return 1;
  const size_t size = size_t{input[11]} << 24 | size_t{input[12]} << 16 |
                      size_t{input[13]} << 8 | input[14];
  if (size > input.size() - kStart) return 1;
  auto header = backup::DecodeHeaderBody(input.subspan(kStart, size));
  if (!header.ok()) return 1;
  return header->origin.mode == Mode::kFips ? 1 : 0;
}

absl::Status Read(ByteView input, size_t chunk) {
  backup::BackupReader reader;
  for (size_t at = 0; at < input.size(); at += chunk) {
    absl::Status fed = reader.Feed(input.subspan(at, chunk));
    if (!fed.ok()) return fed;
  }
  return reader.Finish().status();
}

absl::Status Restore(ByteView input) {
  const int t = TargetFor(input);
  absl::Status status;
  {
    // One thread: records are few, and threads would blur the coverage.
    backup::Restorer restorer(*world->target[t], nullptr, 1);
    status = restorer.Feed(input);
    if (status.ok()) status = restorer.Finish().status();
  }
  if (status.ok()) {
    // Rebuilding costs a few milliseconds; only unmutated seeds get here.
    world->target[t].reset();
    std::filesystem::remove_all(world->target_dir[t]);
    world->target[t] = Commissioned(t == 1 ? Mode::kFips : Mode::kNonFips,
                                    world->target_dir[t]);
  } else if (world->target[t]->Info().state != hsm::HsmState::kCommissioned) {
    Die(absl::StrCat("a failed restore changed the target HSM: ",
                     status.ToString()));
  }
  return status;
}

void WriteSeed(const char* dir, const char* name, const Bytes& backup) {
  const std::string path = absl::StrCat(dir, "/", name);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(backup.data()),
            static_cast<std::streamsize>(backup.size()));
  if (!out) Die(absl::StrCat("cannot write seed ", path));
}

void FuzzOne(ByteView input) {
  const absl::Status whole = Read(input, input.empty() ? 1 : input.size());
  const absl::Status chunked = Read(input, 7);
  if (whole != chunked) {
    Die(absl::StrCat("the reader's verdict depends on chunking: ",
                     whole.ToString(), " vs ", chunked.ToString()));
  }
  const absl::Status restored = Restore(input);
  if (restored.ok() && !whole.ok()) {
    Die(absl::StrCat("restore accepted a backup the verifier refuses: ",
                     whole.ToString()));
  }
}

void Setup() {
  std::string tmpl =
      absl::StrCat(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp",
                   "/backup_fuzz.XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) Die("cannot make a temp directory");
  world = new World{
      tmpl,
      0,
      Must(provision::CreateFactory("fuzz-mfr"), "creating the factory"),
      Must(provision::CreateCa("fuzz customer", "fuzz"), "creating a CA"),
      Must(provision::GenerateAkbk(2), "generating the AKBK"),
      {},
      {}};
  std::atexit([] { std::filesystem::remove_all(world->root); });
  for (int t = 0; t < 2; ++t) {
    world->target[t] = Commissioned(t == 1 ? Mode::kFips : Mode::kNonFips,
                                    world->target_dir[t]);
  }
  const struct {
    const char* name;
    Bytes backup;
  } seeds[] = {
      {"small-fips.bak", SourceBackup(Mode::kFips, 0, 0)},
      {"keys-fips.bak", SourceBackup(Mode::kFips, 3, 4)},
      {"keys-nonfips.bak", SourceBackup(Mode::kNonFips, 2, 2)},
  };
  const char* seed_dir = std::getenv("COFFER_FUZZ_SEED_DIR");
  for (const auto& seed : seeds) {
    // A seed that does not restore would make the fuzzer blind to
    // everything past the header checks.
    Must(Read(seed.backup, seed.backup.size()), "reading a seed");
    Must(Restore(seed.backup), "restoring a seed");
    if (seed_dir != nullptr && *seed_dir != '\0') {
      WriteSeed(seed_dir, seed.name, seed.backup);
    }
  }
}

}  // namespace
}  // namespace coffer

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  coffer::Setup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  coffer::FuzzOne(coffer::ByteView(data, size));
  return 0;
}
