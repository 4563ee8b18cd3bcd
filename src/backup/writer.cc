// CreateBackup: walks the snapshot in batches, wraps each batch's records
// in parallel, and emits frames in order while hashing the transcript.
#include <chrono>
#include <optional>
#include <utility>

#include "backup/backup.h"
#include "backup/internal/parallel.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "crypto/key_wrap.h"

namespace coffer::backup {
namespace {

using crypto::SecretBytes;

// Records are wrapped this many at a time, bounding memory.
constexpr size_t kBatchRecords = 512;
constexpr size_t kBatchBytes = size_t{1} << 20;

int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Emitter {
 public:
  explicit Emitter(const ByteSink& sink) : sink_(sink) {}

  absl::Status Init() {
    COFFER_ASSIGN_OR_RETURN(seal_hash_,
                            crypto::Hasher::Create(crypto::HashAlg::kSha384));
    COFFER_ASSIGN_OR_RETURN(sig_hash_,
                            crypto::Hasher::Create(crypto::HashAlg::kSha384));
    return absl::OkStatus();
  }

  // Appends bytes that both transcript digests cover (or only the
  // signature's, after the last record).
  absl::Status Put(ByteView bytes, bool into_seal) {
    if (into_seal) COFFER_RETURN_IF_ERROR(seal_hash_->Update(bytes));
    COFFER_RETURN_IF_ERROR(sig_hash_->Update(bytes));
    return Append(bytes);
  }

  absl::Status Frame(FrameType type, ByteView body, bool into_seal) {
    Bytes head;
    AppendFrameHeader(type, body.size(), head);
    COFFER_RETURN_IF_ERROR(Put(head, into_seal));
    return Put(body, into_seal);
  }

  absl::StatusOr<Bytes> SealDigest() { return seal_hash_->Finish(); }
  absl::StatusOr<Bytes> SignatureDigest() { return sig_hash_->Finish(); }

  // The signature is not hashed: it is what the digest is for.
  absl::Status Raw(ByteView bytes) { return Append(bytes); }

  absl::Status Flush() {
    if (buffer_.empty()) return absl::OkStatus();
    absl::Status s = sink_(buffer_);
    buffer_.clear();
    return s;
  }

 private:
  absl::Status Append(ByteView bytes) {
    while (!bytes.empty()) {
      const size_t room = kMaxChunkSize - buffer_.size();
      const size_t n = std::min(room, bytes.size());
      buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + n);
      bytes.remove_prefix(n);
      if (buffer_.size() == kMaxChunkSize) COFFER_RETURN_IF_ERROR(Flush());
    }
    return absl::OkStatus();
  }

  const ByteSink& sink_;
  Bytes buffer_;
  std::optional<crypto::Hasher> seal_hash_, sig_hash_;
};

}  // namespace

absl::StatusOr<BackupHeader> CreateBackup(const hsm::BackupSnapshot& snapshot,
                                          const ByteSink& sink,
                                          const CreateOptions& options) {
  crypto::RandomSource& random =
      options.random ? *options.random : crypto::SystemRandom();
  BackupHeader header;
  header.origin = snapshot.origin();
  header.counts = snapshot.counts();
  header.created_at = options.now ? options.now() : SystemNow();
  COFFER_ASSIGN_OR_RETURN(header.backup_id,
                          crypto::RandomBytes(kBackupIdSize, random));
  COFFER_ASSIGN_OR_RETURN(SecretBytes ebk,
                          crypto::RandomSecret(hsm::kBackupKeySize, random));
  COFFER_ASSIGN_OR_RETURN(header.wrapped_ebk, snapshot.WrapEbk(ebk));
  COFFER_ASSIGN_OR_RETURN(
      crypto::AesKeyWrap wrap,
      crypto::AesKeyWrap::Create(crypto::KeyWrapMode::kKwp, std::move(ebk)));

  Emitter out(sink);
  COFFER_RETURN_IF_ERROR(out.Init());
  COFFER_RETURN_IF_ERROR(out.Put(EncodePreamble(), true));
  COFFER_RETURN_IF_ERROR(
      out.Frame(FrameType::kHeader, EncodeHeaderBody(header), true));

  std::vector<SecretBytes> batch;
  size_t batch_bytes = 0;
  uint64_t records = 0;
  auto flush_batch = [&]() -> absl::Status {
    std::vector<Bytes> wrapped(batch.size());
    COFFER_RETURN_IF_ERROR(internal::ParallelFor(
        batch.size(), options.threads, [&](size_t i) -> absl::Status {
          COFFER_ASSIGN_OR_RETURN(wrapped[i],
                                  wrap.Wrap(batch[i].ExposeSecret()));
          return absl::OkStatus();
        }));
    for (const Bytes& body : wrapped) {
      COFFER_RETURN_IF_ERROR(out.Frame(FrameType::kRecord, body, true));
    }
    batch.clear();
    batch_bytes = 0;
    return absl::OkStatus();
  };
  COFFER_RETURN_IF_ERROR(
      snapshot.ForEachRecord([&](std::string_view kind, std::string_view id,
                                 const SecretBytes& payload) -> absl::Status {
        COFFER_ASSIGN_OR_RETURN(SecretBytes plain,
                                EncodeRecordPlaintext(kind, id, payload));
        batch_bytes += plain.size();
        batch.push_back(std::move(plain));
        ++records;
        if (batch.size() >= kBatchRecords || batch_bytes >= kBatchBytes) {
          return flush_batch();
        }
        return absl::OkStatus();
      }));
  COFFER_RETURN_IF_ERROR(flush_batch());
  if (records != header.counts.total()) {
    return absl::InternalError("the snapshot changed while it was written");
  }

  COFFER_ASSIGN_OR_RETURN(Bytes seal_digest, out.SealDigest());
  COFFER_ASSIGN_OR_RETURN(Bytes seal,
                          wrap.Wrap(EncodeSealPlaintext(records, seal_digest)));
  COFFER_RETURN_IF_ERROR(out.Frame(FrameType::kSeal, seal, false));
  COFFER_ASSIGN_OR_RETURN(Bytes sig_digest, out.SignatureDigest());
  COFFER_ASSIGN_OR_RETURN(Bytes signature, snapshot.SignDigest(sig_digest));
  Bytes head;
  AppendFrameHeader(FrameType::kSignature, signature.size(), head);
  COFFER_RETURN_IF_ERROR(out.Raw(head));
  COFFER_RETURN_IF_ERROR(out.Raw(signature));
  COFFER_RETURN_IF_ERROR(out.Flush());
  return header;
}

}  // namespace coffer::backup
