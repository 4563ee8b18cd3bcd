// The published test vector of backup format v1 (docs/backup-format.md,
// testdata/backup/vectors-v1.txt): a small backup made without an HSM from
// fixed keys, fixed "random" values and a fixed clock, printed in hex step
// by step so an independent implementation can check itself byte by byte.
//
// Every value is also recomputed here from first principles (HMAC-SHA256
// for the KDF, SHA-384 over the exact spans, AES-KW/KWP) and the backup is
// read back through BackupReader, so the vector is a valid backup and the
// document describes what the code does.
//
// Regenerate (after a deliberate format change, which needs a new version):
//   COFFER_REGENERATE_VECTORS=1 ./backup_vectors_test
// rewrites testdata/backup/vectors-v1.txt and the copy in the document.
#include <openssl/hmac.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backup/backup.h"
#include "crypto/asymmetric.h"
#include "crypto/hash.h"
#include "crypto/kcv.h"
#include "crypto/kdf.h"
#include "crypto/key_wrap.h"
#include "crypto/password.h"
#include "crypto/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hsm/records.h"
#include "testing/status_matchers.h"
#include "testing/test_files.h"

namespace coffer::backup {
namespace {

using crypto::SecretBytes;
using ::testing::HasSubstr;
using testing::IsOk;

constexpr char kManufacturer[] = "vector-mfr";
constexpr int64_t kCreatedAt = 1767225600;  // 2026-01-01T00:00:00Z
constexpr char kDocBegin[] = "<!-- vectors-v1.txt begin -->\n```text\n";
constexpr char kDocEnd[] = "```\n<!-- vectors-v1.txt end -->";

Bytes Counting(uint8_t first, size_t n) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(first + i);
  return out;
}

SecretBytes SecretCounting(uint8_t first, size_t n) {
  return SecretBytes::CopyOf(Counting(first, n));
}

Bytes Concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes U32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

// Hands out the given values in order: backup id, then EBK.
class FixedRandom : public crypto::RandomSource {
 public:
  explicit FixedRandom(std::vector<Bytes> values)
      : values_(std::move(values)) {}
  absl::Status Fill(absl::Span<uint8_t> out) override {
    if (next_ >= values_.size() || values_[next_].size() != out.size()) {
      return absl::InternalError("the vector asked for unexpected randomness");
    }
    std::copy(values_[next_].begin(), values_[next_].end(), out.begin());
    ++next_;
    return absl::OkStatus();
  }
  size_t used() const { return next_; }

 private:
  std::vector<Bytes> values_;
  size_t next_ = 0;
};

std::string TestData(const std::string& name) {
  return testing::TestDataDir() + "/backup/" + name;
}

// The vector's content: the cluster-scope state of a tiny cluster, as
// hsm/records.h encodes it. The cluster record is minimal (no cluster key
// or certificates), which the format allows and a restore would refuse.
struct Contents {
  hsm::ClusterRecord cluster;
  hsm::PolicyRecord policy;
  hsm::UserRecord user;
  hsm::KeyObject key;

  Contents() {
    cluster.cluster_id = "vector-cluster";
    cluster.sync_key = SecretCounting(0x40, 32);
    cluster.log_position = 42;
    user.name = "alice";
    user.role = hsm::Role::kCryptoUser;
    // scrypt of "vector-password", salt c0..cf, n = 2^10: see the test.
    user.password_hash =
        "$scrypt$v=1$ln=10,r=8,p=1$wMHCw8TFxsfIycrLzM3Ozw$"
        "+rXPstrttrrGPM6NsfR5Sm47BwXMVrFEKCVycVwl9b0";
    key.handle = 1;
    key.attributes.key_type = hsm::KeyType::kAes;
    key.attributes.label = "vector-aes";
    key.attributes.bits = 256;
    key.attributes.owner = "alice";
    key.attributes.encrypt = key.attributes.decrypt = true;
    key.secret = SecretCounting(0x60, 32);
  }

  struct Record {
    const char* kind;
    uint8_t code;
    std::string id;
    SecretBytes payload;
  };
  // Backup order: cluster, policy, users by name, objects by handle.
  std::vector<Record> Records() const {
    std::vector<Record> out;
    out.push_back({hsm::kClusterKind, 1, "identity", hsm::Encode(cluster)});
    out.push_back({hsm::kPolicyKind, 2, "policy", hsm::Encode(policy)});
    out.push_back({hsm::kUserKind, 3, user.name, hsm::Encode(user)});
    out.push_back({hsm::kKeyKind, 4, "1", hsm::Encode(key)});
    return out;
  }
};

// A BackupSnapshot with no HSM behind it: fixed records, the real PBK
// derivation on fixed MKBK/AKBK, a fixed device key.
class VectorSnapshot : public hsm::BackupSnapshot {
 public:
  VectorSnapshot(hsm::BackupOrigin origin, crypto::PrivateKey device_key)
      : origin_(std::move(origin)), device_key_(std::move(device_key)) {}

  const hsm::BackupOrigin& origin() const override { return origin_; }
  hsm::BackupCounts counts() const override { return {1, 1, 1, 1}; }
  absl::Status ForEachRecord(const hsm::RecordVisitor& fn) const override {
    for (const Contents::Record& r : Contents().Records()) {
      absl::Status s = fn(r.kind, r.id, r.payload);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<Bytes> WrapEbk(const SecretBytes& ebk) const override {
    absl::StatusOr<SecretBytes> pbk = hsm::DerivePbk(
        SecretCounting(0x00, 32), SecretCounting(0x20, 32), kManufacturer);
    if (!pbk.ok()) return pbk.status();
    auto kw =
        crypto::AesKeyWrap::Create(crypto::KeyWrapMode::kKw, *std::move(pbk));
    if (!kw.ok()) return kw.status();
    return kw->Wrap(ebk.ExposeSecret());
  }
  absl::StatusOr<Bytes> SignDigest(ByteView sha384) const override {
    return device_key_.SignDigest(
        {crypto::SignatureAlgorithm::kEcdsaDer, crypto::HashAlg::kSha384},
        sha384);
  }

 private:
  hsm::BackupOrigin origin_;
  crypto::PrivateKey device_key_;
};

// The text of the vector file: "name:" then hex, 32 bytes a line.
class VectorText {
 public:
  void Comment(const std::string& line) { text_ += line + "\n"; }
  void Hex(const std::string& name, ByteView bytes) {
    text_ += name + ":\n";
    const std::string hex = HexEncode(bytes);
    for (size_t i = 0; i < hex.size(); i += 64) {
      text_ += "  " + hex.substr(i, 64) + "\n";
    }
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

struct Frame {
  uint8_t type;
  ByteView whole;  // type || length || body
  ByteView body;
};

// Splits a backup into its preamble and frames, independently of the
// reader (the format is simple enough to parse in ten lines).
std::vector<Frame> SplitFrames(ByteView backup) {
  std::vector<Frame> frames;
  size_t at = kPreambleSize;
  while (at + kFrameHeaderSize <= backup.size()) {
    const size_t size = size_t{backup[at + 1]} << 24 |
                        size_t{backup[at + 2]} << 16 |
                        size_t{backup[at + 3]} << 8 | backup[at + 4];
    if (at + kFrameHeaderSize + size > backup.size()) break;
    ByteView whole = backup.subspan(at, kFrameHeaderSize + size);
    frames.push_back({backup[at], whole, whole.subspan(kFrameHeaderSize)});
    at += whole.size();
  }
  EXPECT_EQ(at, backup.size()) << "the backup does not split into frames";
  return frames;
}

// PBK from the definition: one HMAC-SHA256 block, PRF input
// [1]_32 || label || 0x00 || context || [256]_32, keyed with MKBK || AKBK.
Bytes PbkFromHmac(ByteView key_in, ByteView prf_input) {
  Bytes out(32);
  unsigned int len = 0;
  EXPECT_NE(HMAC(EVP_sha256(), key_in.data(), static_cast<int>(key_in.size()),
                 prf_input.data(), prf_input.size(), out.data(), &len),
            nullptr);
  EXPECT_EQ(len, 32u);
  return out;
}

std::string ReadOrEmpty(const std::string& path) {
  absl::StatusOr<std::string> text = testing::ReadTestFile(path);
  return text.ok() ? *text : std::string();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// Builds the vector backup in SetUp; each step checks one part of it from
// the definition and appends that part to the vector text, in order.
class BackupVectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key_pem = testing::ReadTestFile(TestData("device-key.pem"));
    auto cert_pem = testing::ReadTestFile(TestData("device-cert.pem"));
    ASSERT_THAT(key_pem, IsOk());
    ASSERT_THAT(cert_pem, IsOk());
    auto device_key =
        crypto::PrivateKey::FromPem(SecretBytes::CopyOf(AsBytes(*key_pem)));
    auto cert = crypto::Certificate::FromPem(*cert_pem);
    ASSERT_THAT(device_key, IsOk());
    ASSERT_THAT(cert, IsOk());
    device_cert_ = *std::move(cert);
    auto kcv = crypto::KeyCheckValue(akbk_);
    ASSERT_THAT(kcv, IsOk());
    kcv_ = *kcv;

    hsm::BackupOrigin origin;
    origin.cluster_id = "vector-cluster";
    origin.serial = device_cert_->subject_common_name();  // VEC-0001
    origin.manufacturer_id = kManufacturer;
    origin.firmware_version = "1.0.0";
    origin.mode = hsm::Mode::kFips;
    origin.log_position = 42;
    origin.service_kcv = kcv_;
    origin.device_cert_der = device_cert_->ToDer();
    VectorSnapshot snapshot(origin, *std::move(device_key));

    FixedRandom random({backup_id_, ebk_});
    CreateOptions options;
    options.random = &random;
    options.now = [] { return kCreatedAt; };
    options.threads = 1;
    auto header = CreateBackup(
        snapshot,
        [&](ByteView chunk) {
          backup_.insert(backup_.end(), chunk.begin(), chunk.end());
          return absl::OkStatus();
        },
        options);
    ASSERT_THAT(header, IsOk());
    EXPECT_EQ(random.used(), 2u);
    header_ = *std::move(header);
    frames_ = SplitFrames(backup_);
    ASSERT_EQ(frames_.size(), 3 + records_.size());
  }

  // The PBK three ways: HMAC by hand, the generic KDF, hsm::DerivePbk.
  void KeyHierarchy() {
    const ByteView label = AsBytes(hsm::kPbkLabel);
    const ByteView context = AsBytes(kManufacturer);
    const Bytes key_in = Concat({mkbk_.ExposeSecret(), akbk_.ExposeSecret()});
    const Bytes prf_input =
        Concat({U32(1), label, Bytes{0x00}, context, U32(256)});
    const Bytes pbk = PbkFromHmac(key_in, prf_input);
    auto pbk_generic =
        crypto::KbkdfCounter(SecretBytes::CopyOf(key_in), label, context, 32);
    auto pbk_hsm = hsm::DerivePbk(mkbk_, akbk_, kManufacturer);
    ASSERT_THAT(pbk_generic, IsOk());
    ASSERT_THAT(pbk_hsm, IsOk());
    EXPECT_EQ(HexEncode(pbk_generic->ExposeSecret()), HexEncode(pbk));
    EXPECT_EQ(HexEncode(pbk_hsm->ExposeSecret()), HexEncode(pbk));
    auto kw = crypto::AesKeyWrap::Create(crypto::KeyWrapMode::kKw,
                                         SecretBytes::CopyOf(pbk));
    ASSERT_THAT(kw, IsOk());
    auto wrapped_ebk = kw->Wrap(ebk_);
    ASSERT_THAT(wrapped_ebk, IsOk());
    EXPECT_EQ(wrapped_ebk->size(), 40u);
    EXPECT_EQ(HexEncode(header_.wrapped_ebk), HexEncode(*wrapped_ebk));

    out_.Comment("# Coffer backup format v1 test vector");
    out_.Comment("# (src/backup/vectors_test.cc; docs/backup-format.md)");
    out_.Comment("# Hex, 32 bytes a line. ECDSA signatures are randomized, so");
    out_.Comment("# the vector covers every byte up to and including the SEAL");
    out_.Comment("# frame; the SIGNATURE frame must verify under the key of");
    out_.Comment("# testdata/backup/device-cert.pem (signer: device-key.pem).");
    out_.Comment("# Key hierarchy");
    out_.Hex("MKBK", mkbk_.ExposeSecret());
    out_.Hex("AKBK", akbk_.ExposeSecret());
    out_.Hex("manufacturer id (\"vector-mfr\", the KBKDF context)", context);
    out_.Hex("KBKDF PRF input ([1]_32 || label || 00 || context || [256]_32)",
             prf_input);
    out_.Hex("PBK = HMAC-SHA256(MKBK || AKBK, PRF input)", pbk);
    out_.Hex("EBK (random draw 2)", ebk_);
    out_.Hex("wrapped EBK = AES-KW(PBK, EBK)", *wrapped_ebk);
  }

  // The preamble and header, then every record: its plaintext from the
  // definition, which the RECORD frame unwraps to.
  void HeaderAndRecords() {
    const Frame& header = frames_[0];
    EXPECT_EQ(header.type, 1);
    EXPECT_EQ(HexEncode(ByteView(backup_).first(kPreambleSize)),
              HexEncode(AsBytes(std::string_view("COFFERBK\x00\x01", 10))));
    auto decoded = DecodeHeaderBody(header.body);
    ASSERT_THAT(decoded, IsOk());
    EXPECT_EQ(decoded->backup_id, backup_id_);
    EXPECT_EQ(decoded->created_at, kCreatedAt);
    out_.Comment("# Stream");
    out_.Hex("backup id (random draw 1)", backup_id_);
    out_.Hex("preamble || HEADER frame",
             ByteView(backup_).first(kPreambleSize + header.whole.size()));
    for (size_t i = 0; i < records_.size(); ++i) {
      const Contents::Record& r = records_[i];
      const Frame& frame = frames_[1 + i];
      EXPECT_EQ(frame.type, 2);
      const Bytes plaintext =
          Concat({Bytes{r.code, 0, static_cast<uint8_t>(r.id.size())},
                  AsBytes(r.id), r.payload.ExposeSecret()});
      auto unwrapped = kwp_->Unwrap(frame.body);
      ASSERT_THAT(unwrapped, IsOk());
      EXPECT_EQ(HexEncode(unwrapped->ExposeSecret()), HexEncode(plaintext));
      auto view = DecodeRecordPlaintext(unwrapped->ExposeSecret());
      ASSERT_THAT(view, IsOk());
      EXPECT_EQ(view->kind, r.kind);
      EXPECT_EQ(view->id, r.id);
      const std::string name =
          absl::StrCat("record ", i + 1, " (", r.kind, "/", r.id, ")");
      out_.Hex(absl::StrCat(name, " plaintext"), plaintext);
      out_.Hex(absl::StrCat(name, " RECORD frame"), frame.whole);
    }
  }

  // The seal over preamble .. last RECORD; the signature over .. SEAL.
  void SealAndSignature() {
    const Frame& seal_frame = frames_[1 + records_.size()];
    const Frame& sig_frame = frames_.back();
    EXPECT_EQ(seal_frame.type, 3);
    EXPECT_EQ(sig_frame.type, 4);
    auto seal_digest = DigestUpTo(seal_frame);
    ASSERT_THAT(seal_digest, IsOk());
    const Bytes seal_plain =
        Concat({U32(0), U32(records_.size()), *seal_digest});
    auto seal = kwp_->Unwrap(seal_frame.body);
    ASSERT_THAT(seal, IsOk());
    EXPECT_EQ(HexEncode(seal->ExposeSecret()), HexEncode(seal_plain));
    out_.Hex("seal digest = SHA-384(preamble .. last RECORD frame)",
             *seal_digest);
    out_.Hex("seal plaintext = [record count]_64 || seal digest", seal_plain);
    out_.Hex("SEAL frame", seal_frame.whole);

    auto sig_digest = DigestUpTo(sig_frame);
    ASSERT_THAT(sig_digest, IsOk());
    out_.Hex("signature digest = SHA-384(preamble .. SEAL frame)", *sig_digest);
    EXPECT_THAT(
        device_cert_->public_key().VerifyDigest(
            {crypto::SignatureAlgorithm::kEcdsaDer, crypto::HashAlg::kSha384},
            *sig_digest, sig_frame.body),
        IsOk());
  }

  // The vector is a valid backup to the reader, and its records decode.
  void ReadBack() {
    BackupReader reader;
    ASSERT_THAT(reader.Feed(backup_), IsOk());
    auto summary = reader.Finish();
    ASSERT_THAT(summary, IsOk());
    EXPECT_EQ(summary->records, 4u);
    EXPECT_EQ(summary->device_subject, "VEC-0001");
    EXPECT_EQ(summary->header.origin.service_kcv, kcv_);
    EXPECT_THAT(hsm::DecodeCluster(records_[0].payload), IsOk());
    EXPECT_THAT(hsm::DecodePolicy(records_[1].payload), IsOk());
    EXPECT_THAT(hsm::DecodeKey(records_[3].payload), IsOk());
    auto user = hsm::DecodeUser(records_[2].payload);
    ASSERT_THAT(user, IsOk());
    EXPECT_THAT(
        crypto::VerifyPassword(SecretBytes::CopyOf(AsBytes("vector-password")),
                               user->password_hash),
        IsOk());
  }

  // Compares with (or regenerates) the committed file and the document.
  void CompareOrRegenerate() {
    const std::string file = TestData("vectors-v1.txt");
    const std::string doc =
        testing::TestDataDir() + "/../docs/backup-format.md";
    const char* regenerate = std::getenv("COFFER_REGENERATE_VECTORS");
    if (regenerate != nullptr && std::string(regenerate) == "1") {
      WriteFile(file, out_.text());
      std::string text = ReadOrEmpty(doc);
      const size_t begin = text.find(kDocBegin);
      const size_t end = text.find(kDocEnd);
      ASSERT_TRUE(begin != std::string::npos && end != std::string::npos &&
                  begin < end)
          << doc << " lacks the vector block markers";
      text.replace(begin + std::strlen(kDocBegin),
                   end - begin - std::strlen(kDocBegin), out_.text());
      WriteFile(doc, text);
      GTEST_SKIP() << "regenerated " << file << " and its copy in " << doc;
    }
    EXPECT_EQ(ReadOrEmpty(file), out_.text())
        << "the backup format changed, or " << file
        << " is stale; if the change is deliberate, bump the format version "
           "and regenerate with COFFER_REGENERATE_VECTORS=1";
    EXPECT_THAT(ReadOrEmpty(doc),
                HasSubstr(absl::StrCat(kDocBegin, out_.text(), kDocEnd)))
        << doc << " must carry " << file << " verbatim";
  }

 private:
  absl::StatusOr<Bytes> DigestUpTo(const Frame& frame) const {
    const auto at = static_cast<size_t>(frame.whole.data() - backup_.data());
    return crypto::Digest(crypto::HashAlg::kSha384,
                          ByteView(backup_).first(at));
  }

  const SecretBytes mkbk_ = SecretCounting(0x00, 32);
  const SecretBytes akbk_ = SecretCounting(0x20, 32);
  const Bytes backup_id_ = Counting(0x80, 16);
  const Bytes ebk_ = Counting(0xa0, 32);
  const std::vector<Contents::Record> records_ = Contents().Records();
  std::optional<crypto::AesKeyWrap> kwp_ =
      crypto::AesKeyWrap::Create(crypto::KeyWrapMode::kKwp,
                                 SecretBytes::CopyOf(ebk_))
          .value();
  std::optional<crypto::Certificate> device_cert_;
  std::string kcv_;
  BackupHeader header_;
  Bytes backup_;
  std::vector<Frame> frames_;
  VectorText out_;
};

TEST_F(BackupVectorTest, Version1) {
  ASSERT_NO_FATAL_FAILURE(KeyHierarchy());
  ASSERT_NO_FATAL_FAILURE(HeaderAndRecords());
  ASSERT_NO_FATAL_FAILURE(SealAndSignature());
  ASSERT_NO_FATAL_FAILURE(ReadBack());
  CompareOrRegenerate();
}

}  // namespace
}  // namespace coffer::backup
