// Backups end to end inside real HSM cores: a restored HSM is the same HSM
// to its clients, and every refused restore leaves the target untouched.
#include <algorithm>

#include "backup/backup_test_fixture.h"
#include "base/fault.h"
#include "crypto/asymmetric.h"
#include "hsm/quorum.h"

namespace coffer::backup {
namespace {

using hsm::Caller;
using hsm::KeyType;
using hsm::Mode;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;

struct Populated {
  hsm::ObjectHandle aes = 0;
  hsm::KeyPairHandles ec;
  std::vector<hsm::KeyInfo> objects;
};

// Users of every role, keys of several types, one shared.
Populated Populate(hsm::Hsm& h) {
  Caller admin = BackupTest::Login(h, "admin", "admin-password");
  EXPECT_THAT(h.users().CreateUser(admin, "alice", hsm::Role::kCryptoUser,
                                   Secret("alice-pw-123")),
              IsOk());
  EXPECT_THAT(h.users().CreateUser(admin, "bob", hsm::Role::kCryptoUser,
                                   Secret("bob-pw-123")),
              IsOk());
  EXPECT_THAT(h.users().CreateUser(admin, "sync", hsm::Role::kApplianceUser,
                                   Secret("sync-pw-123")),
              IsOk());
  Caller alice = BackupTest::Login(h, "alice", "alice-pw-123");
  Populated p;
  hsm::KeyTemplate aes;
  aes.key_type = KeyType::kAes;
  aes.bits = 256;
  aes.label = "payments";
  p.aes = h.keys().GenerateSecretKey(alice, aes).value();
  EXPECT_THAT(h.keys().Share(alice, p.aes, "bob"), IsOk());
  hsm::KeyTemplate ec;
  ec.key_type = KeyType::kEcP256;
  ec.label = "signing";
  p.ec = h.keys().GenerateKeyPair(alice, ec).value();
  p.objects = h.keys().Find(alice, {}).value();
  return p;
}

// A populated ACTIVE source HSM "SRC-1" of acme and service A, and its
// backup made by its admin.
struct Source {
  Node node;
  Populated populated;
  Bytes backup;
};
Source MakeSource(Mode mode) {
  Source s{BackupTest::Active(*BackupTest::acme_, *BackupTest::service_a_, mode,
                              "SRC-1")};
  s.populated = Populate(*s.node.hsm);
  Caller admin = BackupTest::Login(*s.node.hsm, "admin", "admin-password");
  s.backup = BackupTest::MakeBackup(*s.node.hsm, &admin).value();
  return s;
}

TEST_F(BackupTest, RestoredHsmIsTheSameToItsClients) {
  Node source = Active(*acme_, *service_a_, Mode::kFips, "SRC-1");
  Populated before = Populate(*source.hsm);
  Caller admin = Login(*source.hsm, "admin", "admin-password");
  auto backup = MakeBackup(*source.hsm, &admin);
  ASSERT_THAT(backup, IsOk());

  Node target = Commissioned(*acme_, *service_a_, Mode::kFips, "DST-1");
  auto summary = Restore(*target.hsm, *backup, nullptr);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->header.origin.serial, "SRC-1");
  EXPECT_EQ(summary->header.counts.users, 4u);
  EXPECT_EQ(summary->header.counts.objects, 3u);

  for (int pass = 0; pass < 2; ++pass) {  // then again after a restart
    hsm::HsmInfo info = target.hsm->Info();
    EXPECT_EQ(info.state, hsm::HsmState::kActive);
    EXPECT_EQ(info.cluster_id, "cluster-1");
    EXPECT_EQ(info.serial, "DST-1");
    Caller alice = Login(*target.hsm, "alice", "alice-pw-123");
    auto objects = target.hsm->keys().Find(alice, {});
    ASSERT_THAT(objects, IsOk());
    ASSERT_EQ(objects->size(), before.objects.size());
    for (size_t i = 0; i < objects->size(); ++i) {
      EXPECT_EQ((*objects)[i].handle, before.objects[i].handle);
      EXPECT_EQ((*objects)[i].attributes.label,
                before.objects[i].attributes.label);
      EXPECT_EQ((*objects)[i].attributes.shared_with,
                before.objects[i].attributes.shared_with);
      EXPECT_EQ((*objects)[i].public_der, before.objects[i].public_der);
    }
    // The same private key: the source verifies what the target signs.
    hsm::MechanismParams ecdsa;
    ecdsa.mechanism = hsm::Mechanism::kEcdsa;
    auto signature = target.hsm->keys().Sign(alice, before.ec.private_key,
                                             ecdsa, AsBytes("message"));
    ASSERT_THAT(signature, IsOk());
    Caller src_alice = Login(*source.hsm, "alice", "alice-pw-123");
    EXPECT_THAT(
        source.hsm->keys().Verify(src_alice, before.ec.public_key, ecdsa,
                                  AsBytes("message"), *signature),
        IsOk());
    // The shared key is usable by bob, as on the source.
    Caller bob = Login(*target.hsm, "bob", "bob-pw-123");
    EXPECT_THAT(target.hsm->keys().GetAttributes(bob, before.aes), IsOk());
    Reopen(target);
  }
  // Its TLS identity is its own, under the restored cluster certificate.
  auto tls = target.hsm->CurrentTlsCredentials();
  ASSERT_THAT(tls, IsOk());
  EXPECT_THAT(tls->cert_chain_pem, HasSubstr("BEGIN CERTIFICATE"));
}

TEST_F(BackupTest, VerifyNeedsNoSecretAndChecksTheChain) {
  Node source = Active(*acme_, *service_a_, Mode::kNonFips, "SRC-1");
  Caller admin = Login(*source.hsm, "admin", "admin-password");
  Bytes backup = MakeBackup(*source.hsm, &admin).value();
  auto whole = [&backup, done = false]() mutable -> absl::StatusOr<Bytes> {
    if (done) return Bytes();
    done = true;
    return backup;
  };
  auto summary =
      VerifyBackup(whole, acme_->ca.cert.ToPem(), std::time(nullptr));
  ASSERT_THAT(summary, IsOk());
  EXPECT_TRUE(summary->chain_checked);
  EXPECT_EQ(summary->device_subject, "SRC-1");
  EXPECT_EQ(summary->header.origin.mode, Mode::kNonFips);
  EXPECT_EQ(summary->size_bytes, backup.size());
  auto again = [&backup, done = false]() mutable -> absl::StatusOr<Bytes> {
    if (done) return Bytes();
    done = true;
    return backup;
  };
  EXPECT_THAT(
      VerifyBackup(again, other_factory_->ca.cert.ToPem(), std::time(nullptr)),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("manufacturer CA")));
}

// Device certificates last 825 days; backups must outlive them, and the
// chain is checked as of the (sealed) creation time.
TEST_F(BackupTest, BackupOutlivesTheDeviceCertificate) {
  Source src = MakeSource(Mode::kFips);
  Node& source = src.node;
  Bytes& backup = src.backup;
  Caller admin = Login(*source.hsm, "admin", "admin-password");
  CreateOptions future;
  future.now = [] {
    return static_cast<int64_t>(std::time(nullptr)) + 3 * 86400;
  };
  Bytes from_future = MakeBackup(*source.hsm, &admin, future).value();

  Node target = Commissioned(*acme_, *service_a_, Mode::kFips, "DST-1");
  EXPECT_THAT(Restore(*target.hsm, from_future, nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("in the future")));
  const int64_t later = int64_t{1000} * 86400;
  clock_offset_ = later;
  Reopen(target);
  clock_offset_ = 0;
  EXPECT_THAT(Restore(*target.hsm, backup, nullptr), IsOk());
  EXPECT_EQ(target.hsm->Info().state, hsm::HsmState::kActive);
  auto whole = [&backup, done = false]() mutable -> absl::StatusOr<Bytes> {
    if (done) return Bytes();
    done = true;
    return backup;
  };
  EXPECT_THAT(
      VerifyBackup(whole, acme_->ca.cert.ToPem(), std::time(nullptr) + later),
      IsOk());
}

// Each refusal names its cause and leaves the target's disk untouched.
void ExpectRefused(Node& target, ByteView backup, const Caller* caller,
                   absl::StatusCode code, const std::string& cause) {
  const std::string disk = BackupTest::DiskDigest(target);
  const hsm::HsmInfo info = target.hsm->Info();
  EXPECT_THAT(BackupTest::Restore(*target.hsm, backup, caller),
              StatusIs(code, HasSubstr(cause)));
  EXPECT_EQ(BackupTest::DiskDigest(target), disk) << cause;
  EXPECT_EQ(target.hsm->Info().state, info.state);
  EXPECT_EQ(target.hsm->Info().keys, info.keys);
}

TEST_F(BackupTest, RestoreRefusesAnotherManufacturerServiceOrMode) {
  Source src = MakeSource(Mode::kFips);
  Node& source = src.node;
  Bytes& backup = src.backup;
  Caller admin = Login(*source.hsm, "admin", "admin-password");

  Node globex = Commissioned(*other_factory_, *service_a_, Mode::kFips, "G-1");
  ExpectRefused(globex, backup, nullptr, absl::StatusCode::kFailedPrecondition,
                "manufacturer");
  Node service_b = Commissioned(*acme_, *service_b_, Mode::kFips, "B-1");
  ExpectRefused(service_b, backup, nullptr,
                absl::StatusCode::kFailedPrecondition, "another service");
  Node non_fips = Commissioned(*acme_, *service_a_, Mode::kNonFips, "N-1");
  ExpectRefused(non_fips, backup, nullptr,
                absl::StatusCode::kFailedPrecondition,
                "a FIPS backup cannot be restored onto a non-FIPS HSM");
  Node other_cluster =
      Active(*acme_, *service_a_, Mode::kFips, "C-2", "cluster-2");
  Caller other_admin = Login(*other_cluster.hsm, "admin", "admin-password");
  ExpectRefused(other_cluster, backup, &other_admin,
                absl::StatusCode::kFailedPrecondition, "cluster-2");
}

TEST_F(BackupTest, RestoreRefusesDamagedBackupsAndChangesNothing) {
  Source src = MakeSource(Mode::kFips);
  Node& source = src.node;
  Bytes& backup = src.backup;
  Caller admin = Login(*source.hsm, "admin", "admin-password");
  Bytes other = MakeBackup(*source.hsm, &admin).value();
  Node target = Active(*acme_, *service_a_, Mode::kFips, "DST-1");
  Caller target_admin = Login(*target.hsm, "admin", "admin-password");

  // Truncated anywhere.
  for (size_t cut : {size_t{0}, size_t{5}, size_t{200}, backup.size() / 2,
                     backup.size() - 1}) {
    Bytes truncated(backup.begin(), backup.begin() + cut);
    ExpectRefused(target, truncated, &target_admin, absl::StatusCode::kDataLoss,
                  "truncated");
  }
  // Any flipped byte, sampled across the whole stream.
  for (size_t at = kPreambleSize; at < backup.size(); at += 97) {
    Bytes flipped = backup;
    flipped[at] ^= 0x01;
    const hsm::HsmInfo info = target.hsm->Info();
    EXPECT_FALSE(Restore(*target.hsm, flipped, &target_admin).ok()) << at;
    EXPECT_EQ(target.hsm->Info().keys, info.keys);
  }
  // An unknown format version.
  Bytes future = backup;
  future[kMagicSize + 1] = 2;
  ExpectRefused(target, future, &target_admin, absl::StatusCode::kUnimplemented,
                "format version 2");
  // Not a backup at all.
  ExpectRefused(target, AsBytes("hello, this is not a backup file"),
                &target_admin, absl::StatusCode::kInvalidArgument,
                "not a Coffer backup");
}

// Frames of a backup: [start, end) offsets after the preamble.
std::vector<std::pair<size_t, size_t>> Frames(const Bytes& b) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t at = kPreambleSize; at < b.size();) {
    const size_t size = size_t{b[at + 1]} << 24 | size_t{b[at + 2]} << 16 |
                        size_t{b[at + 3]} << 8 | b[at + 4];
    out.emplace_back(at, at + kFrameHeaderSize + size);
    at += kFrameHeaderSize + size;
  }
  return out;
}

Bytes Join(const Bytes& b, const std::vector<std::pair<size_t, size_t>>& fs,
           const Bytes* splice_from = nullptr, size_t splice_index = 0) {
  Bytes out(b.begin(), b.begin() + kPreambleSize);
  for (size_t i = 0; i < fs.size(); ++i) {
    if (splice_from != nullptr && i == splice_index) {
      auto theirs = Frames(*splice_from)[i];
      out.insert(out.end(), splice_from->begin() + theirs.first,
                 splice_from->begin() + theirs.second);
      continue;
    }
    out.insert(out.end(), b.begin() + fs[i].first, b.begin() + fs[i].second);
  }
  return out;
}

TEST_F(BackupTest, RestoreRefusesReorderedDroppedDuplicatedSplicedRecords) {
  Source src = MakeSource(Mode::kFips);
  Node& source = src.node;
  Bytes& backup = src.backup;
  Caller admin = Login(*source.hsm, "admin", "admin-password");
  Bytes other = MakeBackup(*source.hsm, &admin).value();
  Node target = Commissioned(*acme_, *service_a_, Mode::kFips, "DST-1");
  auto frames = Frames(backup);
  ASSERT_GE(frames.size(), 8u);  // header, 7 records, seal, signature
  const size_t first_record = 1, last_record = frames.size() - 3;

  auto reordered = frames;
  std::swap(reordered[first_record + 2], reordered[first_record + 3]);
  ExpectRefused(target, Join(backup, reordered), nullptr,
                absl::StatusCode::kDataLoss, "seal does not match");

  auto dropped = frames;
  dropped.erase(dropped.begin() + static_cast<ptrdiff_t>(last_record));
  ExpectRefused(target, Join(backup, dropped), nullptr,
                absl::StatusCode::kDataLoss, "records; its header counts");

  auto duplicated = frames;
  duplicated[first_record + 3] = duplicated[first_record + 2];
  ExpectRefused(target, Join(backup, duplicated), nullptr,
                absl::StatusCode::kDataLoss, "twice");

  ExpectRefused(target, Join(backup, frames, &other, first_record + 1), nullptr,
                absl::StatusCode::kDataLoss,
                "does not decrypt under the backup's EBK");
  // The header of another backup (another EBK) over these records.
  ExpectRefused(target, Join(backup, frames, &other, 0), nullptr,
                absl::StatusCode::kDataLoss, "does not decrypt");
  // And the untouched backup still restores.
  EXPECT_THAT(Restore(*target.hsm, backup, nullptr), IsOk());
}

TEST_F(BackupTest, RestoreOntoActiveHsmReplacesEverythingAndEndsSessions) {
  Node node = Active(*acme_, *service_a_, Mode::kFips, "SRC-1");
  Populated p = Populate(*node.hsm);
  Caller admin = Login(*node.hsm, "admin", "admin-password");
  Bytes backup = MakeBackup(*node.hsm, &admin).value();
  Caller alice = Login(*node.hsm, "alice", "alice-pw-123");
  hsm::KeyTemplate aes;
  aes.bits = 128;
  auto later = node.hsm->keys().GenerateSecretKey(alice, aes);
  ASSERT_THAT(later, IsOk());

  EXPECT_THAT(Restore(*node.hsm, backup, &alice),
              StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_THAT(Restore(*node.hsm, backup, &admin), IsOk());
  EXPECT_THAT(node.hsm->Authenticate(admin.session_key),
              StatusIs(absl::StatusCode::kUnauthenticated));
  Caller alice2 = Login(*node.hsm, "alice", "alice-pw-123");
  EXPECT_THAT(node.hsm->keys().GetAttributes(alice2, *later),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(node.hsm->keys().GetAttributes(alice2, p.aes), IsOk());
}

// One admin must not undo what M admins decided by restoring an older
// backup: a restore onto an ACTIVE HSM takes the user-management quorum.
TEST_F(BackupTest, RestoreOntoActiveHsmNeedsTheQuorum) {
  Node node = Active(*acme_, *service_a_, Mode::kFips, "SRC-1");
  hsm::Hsm& h = *node.hsm;
  Caller admin = Login(h, "admin", "admin-password");
  ASSERT_THAT(h.users().CreateUser(admin, "admin2", hsm::Role::kAdmin,
                                   Secret("admin2-password")),
              IsOk());
  Caller admin2 = Login(h, "admin2", "admin2-password");
  auto key1 = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEcP256);
  auto key2 = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEcP256);
  ASSERT_THAT(h.quorum().RegisterKey(admin, key1->public_key().ToDer().value()),
              IsOk());
  ASSERT_THAT(
      h.quorum().RegisterKey(admin2, key2->public_key().ToDer().value()),
      IsOk());
  Bytes backup = MakeBackup(h, &admin).value();
  ASSERT_THAT(
      h.quorum().SetQuorum(admin, hsm::QuorumService::kUserManagement, 2),
      IsOk());
  EXPECT_THAT(
      Restore(h, backup, &admin),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("quorum")));
  auto token =
      h.quorum().CreateToken(admin, hsm::QuorumService::kUserManagement);
  ASSERT_THAT(token, IsOk());
  const crypto::SignatureParams ecdsa{crypto::SignatureAlgorithm::kEcdsaDer,
                                      crypto::HashAlg::kSha256};
  ASSERT_THAT(h.quorum().Approve(token->id, "admin",
                                 key1->Sign(ecdsa, token->challenge).value()),
              IsOk());
  ASSERT_THAT(h.quorum().Approve(token->id, "admin2",
                                 key2->Sign(ecdsa, token->challenge).value()),
              IsOk());
  Caller with_token = admin;
  with_token.quorum_token = token->id;
  ASSERT_THAT(Restore(h, backup, &with_token), IsOk());
  // The backup predates the quorum: M is 1 again, as the backup says.
  EXPECT_EQ(h.quorum().Quorum(hsm::QuorumService::kUserManagement), 1u);
}

TEST_F(BackupTest, RestoreClearsTamperedState) {
  const Bytes backup = MakeSource(Mode::kFips).backup;

  Node target = Active(*acme_, *service_a_, Mode::kFips, "DST-1");
  target.hsm->TamperResponse("test: lid opened");
  Reopen(target);
  ASSERT_EQ(target.hsm->Info().state, hsm::HsmState::kTampered);
  EXPECT_THAT(MakeBackup(*target.hsm, nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_THAT(Restore(*target.hsm, backup, nullptr), IsOk());
  EXPECT_EQ(target.hsm->Info().state, hsm::HsmState::kActive);
  Reopen(target);
  EXPECT_EQ(target.hsm->Info().state, hsm::HsmState::kActive);
  EXPECT_EQ(target.hsm->Info().tamper_reason, "");
}

// A crash right after the state commit: the next start finishes the
// restore (tamper marker cleared, TLS identity issued).
TEST_F(BackupTest, CrashAfterStateCommitFinishesAtNextStart) {
  if (!fault::kFaultInjectionEnabled) GTEST_SKIP() << "no fault points";
  const Bytes backup = MakeSource(Mode::kFips).backup;
  Node target = Active(*acme_, *service_a_, Mode::kFips, "DST-1");
  target.hsm->TamperResponse("test");

  fault::Arm("restore.after_replace", fault::FaultAction::kError);
  EXPECT_THAT(Restore(*target.hsm, backup, nullptr),
              StatusIs(absl::StatusCode::kInternal));
  fault::Disarm();
  Reopen(target);  // as after a crash: memory is rebuilt from disk
  EXPECT_EQ(target.hsm->Info().state, hsm::HsmState::kActive);
  EXPECT_EQ(target.hsm->Info().keys, 3u);

  fault::Arm("restore.before_replace", fault::FaultAction::kError);
  Node fresh = Commissioned(*acme_, *service_a_, Mode::kFips, "DST-2");
  EXPECT_THAT(Restore(*fresh.hsm, backup, nullptr),
              StatusIs(absl::StatusCode::kInternal));
  fault::Disarm();
  Reopen(fresh);
  EXPECT_EQ(fresh.hsm->Info().state, hsm::HsmState::kCommissioned);
}

}  // namespace
}  // namespace coffer::backup
