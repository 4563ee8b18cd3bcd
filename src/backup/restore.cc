// Restorer: the BackupReader's structure and signature checks, plus
// decryption of each record under the EBK the HSM unwrapped, staged into
// the HSM's RestoreSession and committed only at the verified end.
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backup/backup.h"
#include "backup/internal/parallel.h"
#include "base/fault.h"
#include "base/status.h"
#include "crypto/key_wrap.h"

namespace coffer::backup {
namespace {

using crypto::SecretBytes;

constexpr size_t kBatchRecords = 512;
constexpr size_t kBatchBytes = size_t{1} << 20;

}  // namespace

struct Restorer::State {
  hsm::Hsm& hsm;
  const hsm::Caller* caller;
  int threads;
  std::unique_ptr<hsm::RestoreSession> session;
  std::optional<crypto::AesKeyWrap> unwrap;
  std::vector<Bytes> batch;
  size_t batch_bytes = 0;
  uint64_t decrypted = 0;
  hsm::BackupCounts counts;
  bool sealed = false;
  BackupReader reader;

  State(hsm::Hsm& h, const hsm::Caller* c, int t)
      : hsm(h), caller(c), threads(t) {
    BackupReader::Hooks hooks;
    hooks.on_header = [this](const BackupHeader& header) {
      return OnHeader(header);
    };
    hooks.on_record = [this](ByteView wrapped) { return OnRecord(wrapped); };
    hooks.on_seal = [this](ByteView wrapped, uint64_t records,
                           ByteView digest) {
      return OnSeal(wrapped, records, digest);
    };
    reader = BackupReader(std::move(hooks));
  }

  absl::Status OnHeader(const BackupHeader& header) {
    COFFER_ASSIGN_OR_RETURN(session,
                            hsm.BeginRestore(header.origin, header.created_at,
                                             header.wrapped_ebk, caller));
    COFFER_ASSIGN_OR_RETURN(
        unwrap, crypto::AesKeyWrap::Create(crypto::KeyWrapMode::kKwp,
                                           session->ebk().Clone()));
    counts = header.counts;
    return absl::OkStatus();
  }

  absl::Status OnRecord(ByteView wrapped) {
    batch_bytes += wrapped.size();
    batch.emplace_back(wrapped.begin(), wrapped.end());
    if (batch.size() >= kBatchRecords || batch_bytes >= kBatchBytes) {
      return FlushBatch();
    }
    return absl::OkStatus();
  }

  absl::Status FlushBatch() {
    std::vector<std::optional<SecretBytes>> plain(batch.size());
    const uint64_t first = decrypted;
    COFFER_RETURN_IF_ERROR(internal::ParallelFor(
        batch.size(), threads, [&](size_t i) -> absl::Status {
          absl::StatusOr<SecretBytes> p = unwrap->Unwrap(batch[i]);
          if (!p.ok()) {
            return absl::DataLossError(absl::StrCat(
                "backup is damaged or tampered with: record ", first + i,
                " does not decrypt under the backup's EBK (altered, or "
                "spliced in from another backup)"));
          }
          plain[i] = *std::move(p);
          return absl::OkStatus();
        }));
    for (std::optional<SecretBytes>& p : plain) {
      COFFER_FAULT_POINT("restore.record");
      absl::StatusOr<RecordView> record =
          DecodeRecordPlaintext(p->ExposeSecret());
      if (!record.ok()) {
        return absl::DataLossError(absl::StrCat(
            "backup is damaged or tampered with: ", record.status().message()));
      }
      absl::Status added = session->Add(record->kind, record->id,
                                        SecretBytes::CopyOf(record->payload));
      // The record decrypted, so only the source or a tamperer wrote it.
      if (!added.ok()) {
        return absl::DataLossError(absl::StrCat(
            "backup is damaged or tampered with: ", added.message()));
      }
      ++decrypted;
    }
    batch.clear();
    batch_bytes = 0;
    return absl::OkStatus();
  }

  absl::Status OnSeal(ByteView wrapped, uint64_t records, ByteView digest) {
    COFFER_RETURN_IF_ERROR(FlushBatch());
    absl::StatusOr<SecretBytes> seal = unwrap->Unwrap(wrapped);
    const Bytes want = EncodeSealPlaintext(records, digest);
    if (!seal.ok() || !crypto::ConstantTimeEquals(seal->ExposeSecret(), want)) {
      return absl::DataLossError(
          "backup is damaged or tampered with: its seal does not match the "
          "records (reordered, dropped, duplicated or spliced)");
    }
    sealed = true;
    return absl::OkStatus();
  }
};

Restorer::Restorer(hsm::Hsm& hsm, const hsm::Caller* caller, int threads)
    : state_(std::make_unique<State>(hsm, caller, threads)) {}

Restorer::~Restorer() = default;

absl::Status Restorer::Feed(ByteView chunk) {
  return state_->reader.Feed(chunk);
}

absl::StatusOr<BackupSummary> Restorer::Finish() {
  COFFER_ASSIGN_OR_RETURN(BackupSummary summary, state_->reader.Finish());
  if (!state_->sealed || !state_->session) {
    return absl::DataLossError("backup is damaged: it was never sealed");
  }
  COFFER_RETURN_IF_ERROR(state_->session->Commit(state_->counts));
  summary.chain_checked = true;  // BeginRestore checked the chain
  return summary;
}

absl::StatusOr<BackupSummary> RestoreBackup(hsm::Hsm& hsm,
                                            const ChunkSource& read,
                                            const hsm::Caller* caller) {
  Restorer restorer(hsm, caller);
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(Bytes chunk, read());
    if (chunk.empty()) break;
    COFFER_RETURN_IF_ERROR(restorer.Feed(chunk));
  }
  return restorer.Finish();
}

}  // namespace coffer::backup
