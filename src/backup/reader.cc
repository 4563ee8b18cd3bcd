#include "backup/reader.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/asymmetric.h"
#include "crypto/hash.h"
#include "crypto/x509.h"

namespace coffer::backup {
namespace {

constexpr size_t kMaxHeaderBody = size_t{1} << 20;
constexpr size_t kMaxSignatureBody = 1024;
constexpr int64_t kMaxClockSkewSeconds = 24 * 3600;

enum class Expect { kPreamble, kHeader, kRecordOrSeal, kSignature, kEnd };

absl::Status Corrupt(std::string_view what) {
  return absl::DataLossError(
      absl::StrCat("backup is damaged or tampered with: ", std::string(what)));
}

}  // namespace

struct BackupReader::State {
  Hooks hooks;
  Expect expect = Expect::kPreamble;
  Bytes pending;  // unparsed bytes
  size_t offset = 0;
  absl::Status error;
  std::optional<crypto::Hasher> seal_hash;  // preamble .. last RECORD
  std::optional<crypto::Hasher> sig_hash;   // preamble .. SEAL
  BackupSummary summary;
  std::optional<crypto::Certificate> device_cert;

  absl::Status Hash(ByteView bytes, bool into_seal) {
    if (into_seal) COFFER_RETURN_IF_ERROR(seal_hash->Update(bytes));
    return sig_hash->Update(bytes);
  }

  absl::Status OnPreamble(ByteView preamble) {
    COFFER_RETURN_IF_ERROR(CheckPreamble(preamble));
    COFFER_ASSIGN_OR_RETURN(seal_hash,
                            crypto::Hasher::Create(crypto::HashAlg::kSha384));
    COFFER_ASSIGN_OR_RETURN(sig_hash,
                            crypto::Hasher::Create(crypto::HashAlg::kSha384));
    expect = Expect::kHeader;
    return Hash(preamble, true);
  }

  absl::Status OnFrame(FrameType type, ByteView frame, ByteView body) {
    switch (expect) {
      case Expect::kHeader: {
        if (type != FrameType::kHeader) return Corrupt("no header frame");
        COFFER_ASSIGN_OR_RETURN(summary.header, DecodeHeaderBody(body));
        absl::StatusOr<crypto::Certificate> cert =
            crypto::Certificate::FromDer(summary.header.origin.device_cert_der);
        if (!cert.ok()) return Corrupt("the device certificate is malformed");
        summary.device_subject = cert->subject_common_name();
        device_cert = *std::move(cert);
        COFFER_RETURN_IF_ERROR(Hash(frame, true));
        expect = Expect::kRecordOrSeal;
        if (hooks.on_header) return hooks.on_header(summary.header);
        return absl::OkStatus();
      }
      case Expect::kRecordOrSeal:
        if (type == FrameType::kRecord) {
          if (++summary.records > summary.header.counts.total()) {
            return Corrupt("more records than its header counts");
          }
          COFFER_RETURN_IF_ERROR(Hash(frame, true));
          if (hooks.on_record) return hooks.on_record(body);
          return absl::OkStatus();
        }
        if (type == FrameType::kSeal) {
          if (summary.records != summary.header.counts.total()) {
            return Corrupt(absl::StrCat("it holds ", summary.records,
                                        " records; its header counts ",
                                        summary.header.counts.total()));
          }
          COFFER_ASSIGN_OR_RETURN(Bytes digest, seal_hash->Finish());
          COFFER_RETURN_IF_ERROR(Hash(frame, false));
          expect = Expect::kSignature;
          if (hooks.on_seal)
            return hooks.on_seal(body, summary.records, digest);
          return absl::OkStatus();
        }
        return Corrupt("a frame out of order before the seal");
      case Expect::kSignature: {
        if (type != FrameType::kSignature) return Corrupt("no signature frame");
        COFFER_ASSIGN_OR_RETURN(Bytes digest, sig_hash->Finish());
        absl::Status verified = device_cert->public_key().VerifyDigest(
            {crypto::SignatureAlgorithm::kEcdsaDer, crypto::HashAlg::kSha384},
            digest, body);
        if (!verified.ok()) {
          return Corrupt(
              "the source HSM's signature does not verify over its content");
        }
        expect = Expect::kEnd;
        return absl::OkStatus();
      }
      default:
        return Corrupt("data after the signature");
    }
  }

  // Parses every complete unit in `pending`.
  absl::Status Drain() {
    for (;;) {
      ByteView rest = ByteView(pending).subspan(offset);
      if (expect == Expect::kPreamble) {
        if (rest.size() < kPreambleSize) return absl::OkStatus();
        COFFER_RETURN_IF_ERROR(OnPreamble(rest.first(kPreambleSize)));
        offset += kPreambleSize;
        continue;
      }
      if (rest.empty()) return absl::OkStatus();
      if (expect == Expect::kEnd) return Corrupt("data after the signature");
      if (rest.size() < kFrameHeaderSize) return absl::OkStatus();
      const uint8_t type = rest[0];
      const size_t size = size_t{rest[1]} << 24 | size_t{rest[2]} << 16 |
                          size_t{rest[3]} << 8 | rest[4];
      if (type < 1 || type > 4) return Corrupt("an unknown frame type");
      const size_t limit = type == 1   ? kMaxHeaderBody
                           : type == 4 ? kMaxSignatureBody
                                       : kMaxFrameBody;
      if (size > limit) return Corrupt("a frame larger than the format allows");
      if (rest.size() < kFrameHeaderSize + size) return absl::OkStatus();
      ByteView frame = rest.first(kFrameHeaderSize + size);
      COFFER_RETURN_IF_ERROR(OnFrame(static_cast<FrameType>(type), frame,
                                     frame.subspan(kFrameHeaderSize)));
      offset += frame.size();
    }
  }
};

BackupReader::BackupReader() : BackupReader(Hooks{}) {}
BackupReader::BackupReader(Hooks hooks) : state_(std::make_unique<State>()) {
  state_->hooks = std::move(hooks);
}
BackupReader::BackupReader(BackupReader&&) noexcept = default;
BackupReader& BackupReader::operator=(BackupReader&&) noexcept = default;
BackupReader::~BackupReader() = default;

absl::Status BackupReader::Feed(ByteView chunk) {
  State& s = *state_;
  if (!s.error.ok()) return s.error;
  s.summary.size_bytes += chunk.size();
  // Drop what was parsed, so the buffer stays about one frame long.
  if (s.offset > 0) {
    s.pending.erase(s.pending.begin(),
                    s.pending.begin() + static_cast<ptrdiff_t>(s.offset));
    s.offset = 0;
  }
  s.pending.insert(s.pending.end(), chunk.begin(), chunk.end());
  s.error = s.Drain();
  return s.error;
}

absl::StatusOr<BackupSummary> BackupReader::Finish() {
  State& s = *state_;
  if (!s.error.ok()) return s.error;
  if (s.expect != Expect::kEnd) {
    s.error = Corrupt("truncated (the stream ended before its signature)");
    return s.error;
  }
  return s.summary;
}

absl::StatusOr<BackupSummary> VerifyBackup(const ChunkSource& read,
                                           std::string_view manufacturer_ca_pem,
                                           int64_t now) {
  BackupReader reader;
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(Bytes chunk, read());
    if (chunk.empty()) break;
    COFFER_RETURN_IF_ERROR(reader.Feed(chunk));
  }
  COFFER_ASSIGN_OR_RETURN(BackupSummary summary, reader.Finish());
  if (manufacturer_ca_pem.empty()) return summary;
  COFFER_ASSIGN_OR_RETURN(crypto::Certificate ca,
                          crypto::Certificate::FromPem(manufacturer_ca_pem));
  COFFER_ASSIGN_OR_RETURN(
      crypto::Certificate cert,
      crypto::Certificate::FromDer(summary.header.origin.device_cert_der));
  // At creation time: a backup outlives its maker's certificate.
  if (summary.header.created_at > now + kMaxClockSkewSeconds) {
    return absl::FailedPreconditionError(
        "the backup claims to be made in the future; check the clocks");
  }
  absl::Status chained =
      crypto::VerifyChain(cert, {}, {ca}, summary.header.created_at);
  if (!chained.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the backup's device certificate does not chain to the given "
        "manufacturer CA: ",
        chained.message()));
  }
  if (cert.subject_common_name() != summary.header.origin.serial) {
    return absl::FailedPreconditionError(
        "the backup's device certificate names another HSM than its header");
  }
  summary.chain_checked = true;
  return summary;
}

}  // namespace coffer::backup
