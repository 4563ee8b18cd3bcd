// Several real HSM cores (SQLite stores in their own temporary
// directories) from two manufacturers and two services, for backup tests.
#ifndef COFFER_BACKUP_BACKUP_TEST_FIXTURE_H_
#define COFFER_BACKUP_BACKUP_TEST_FIXTURE_H_

#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "backup/backup.h"
#include "crypto/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hsm/hsm.h"
#include "hsm/key_manager.h"
#include "hsm/user_manager.h"
#include "provision/provision.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::backup {

inline crypto::SecretBytes Secret(std::string_view s) {
  return crypto::SecretBytes::CopyOf(AsBytes(s));
}

struct Node {
  std::unique_ptr<testing::TempDir> dir = std::make_unique<testing::TempDir>();
  std::unique_ptr<hsm::Hsm> hsm;
};

class BackupTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    acme_ = new provision::Factory(provision::CreateFactory("acme").value());
    other_factory_ =
        new provision::Factory(provision::CreateFactory("globex").value());
    customer_ca_ = new provision::CertificateAuthority(
        provision::CreateCa("customer root", "customer").value());
    service_a_ =
        new provision::AkbkCeremony(provision::GenerateAkbk(2).value());
    service_b_ =
        new provision::AkbkCeremony(provision::GenerateAkbk(2).value());
  }
  static void TearDownTestSuite() {
    delete acme_;
    delete other_factory_;
    delete customer_ca_;
    delete service_a_;
    delete service_b_;
  }

  static std::unique_ptr<hsm::Hsm> Open(const Node& node) {
    hsm::HsmOptions options;
    options.password_params.n = 1 << 10;  // fast hashes for tests
    options.now = [] {
      return static_cast<int64_t>(std::time(nullptr)) + clock_offset_;
    };
    auto open = [&](const char* name) {
      return store::OpenSqliteSealedStore(node.dir->File(name),
                                          crypto::SecretBytes(32))
          .value();
    };
    auto hsm = hsm::Hsm::Open(open("device.db"), open("state.db"), options);
    EXPECT_THAT(hsm, testing::IsOk());
    return hsm.ok() ? *std::move(hsm) : nullptr;
  }

  static void Reopen(Node& node) {
    node.hsm.reset();
    node.hsm = Open(node);
  }

  // Manufactured and commissioned (COMMISSIONED, no cluster yet).
  static Node Commissioned(const provision::Factory& factory,
                           const provision::AkbkCeremony& service,
                           hsm::Mode mode, const std::string& serial) {
    Node node;
    {
      auto device = store::OpenSqliteSealedStore(node.dir->File("device.db"),
                                                 crypto::SecretBytes(32))
                        .value();
      EXPECT_THAT(
          hsm::Hsm::Manufacture(
              *device,
              provision::ManufactureDevice(factory, serial, "1.0.0").value()),
          testing::IsOk());
    }
    node.hsm = Open(node);
    hsm::Hsm& h = *node.hsm;
    EXPECT_THAT(h.BeginCommission(mode, 2, service.combined_kcv_hex,
                                  customer_ca_->cert.ToPem()),
                testing::IsOk());
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_THAT(h.AddAkbkComponent(i == 0 ? "alice" : "bob",
                                     service.components[i].component.Clone(),
                                     service.components[i].kcv_hex),
                  testing::IsOk());
    }
    return node;
  }

  // ACTIVE in cluster `cluster_id`, admin password "admin-password".
  static Node Active(const provision::Factory& factory,
                     const provision::AkbkCeremony& service, hsm::Mode mode,
                     const std::string& serial,
                     const std::string& cluster_id = "cluster-1") {
    Node node = Commissioned(factory, service, mode, serial);
    hsm::Hsm& h = *node.hsm;
    auto csr = h.CreateClusterCsr(cluster_id);
    EXPECT_THAT(csr, testing::IsOk());
    auto cert = provision::SignClusterCsr(*customer_ca_, csr.value());
    EXPECT_THAT(h.InstallClusterCertificate(cert.value().ToPem(),
                                            customer_ca_->cert.ToPem()),
                testing::IsOk());
    EXPECT_THAT(h.Activate(Secret("admin-password")), testing::IsOk());
    return node;
  }

  static hsm::Caller Login(hsm::Hsm& h, std::string_view user,
                           std::string_view password) {
    auto token = h.Login(user, Secret(password));
    EXPECT_THAT(token, testing::IsOk());
    auto caller = h.Authenticate(token.value_or(""));
    EXPECT_THAT(caller, testing::IsOk());
    return caller.value_or(hsm::Caller{});
  }

  static absl::StatusOr<Bytes> MakeBackup(hsm::Hsm& h,
                                          const hsm::Caller* caller,
                                          const CreateOptions& options = {}) {
    auto snapshot = h.OpenBackupSnapshot(caller);
    if (!snapshot.ok()) return snapshot.status();
    Bytes out;
    auto header = CreateBackup(
        **snapshot,
        [&](ByteView chunk) {
          out.insert(out.end(), chunk.begin(), chunk.end());
          return absl::OkStatus();
        },
        options);
    if (!header.ok()) return header.status();
    return out;
  }

  // Feeds `backup` in chunks of `chunk` bytes.
  static absl::StatusOr<BackupSummary> Restore(hsm::Hsm& h, ByteView backup,
                                               const hsm::Caller* caller,
                                               size_t chunk = 7001) {
    size_t offset = 0;
    return RestoreBackup(
        h,
        [&]() -> absl::StatusOr<Bytes> {
          const size_t n = std::min(chunk, backup.size() - offset);
          Bytes out(backup.begin() + offset, backup.begin() + offset + n);
          offset += n;
          return out;
        },
        caller);
  }

  // A digest of every file in the node's directory: equal before and after
  // means nothing on disk changed.
  static std::string DiskDigest(const Node& node) {
    std::string all;
    for (const std::string& path : node.dir->ListFiles()) {
      std::ifstream in(path, std::ios::binary);
      all += path;
      all.append(std::istreambuf_iterator<char>(in), {});
    }
    return HexEncode(
        crypto::Digest(crypto::HashAlg::kSha256, AsBytes(all)).value());
  }

  // Seconds added to the clock of every HSM opened from now on.
  static inline int64_t clock_offset_ = 0;
  static inline provision::Factory* acme_ = nullptr;
  static inline provision::Factory* other_factory_ = nullptr;
  static inline provision::CertificateAuthority* customer_ca_ = nullptr;
  static inline provision::AkbkCeremony* service_a_ = nullptr;
  static inline provision::AkbkCeremony* service_b_ = nullptr;
};

}  // namespace coffer::backup

#endif  // COFFER_BACKUP_BACKUP_TEST_FIXTURE_H_
