// SealedStore over one SQLite file. Format and reasoning: docs/state-store.md.
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/fault.h"
#include "base/status.h"
#include "crypto/secret_bytes.h"
#include "sqlite/sqlite_db.h"
#include "store/internal/record_seal.h"
#include "store/internal/sqlite_open.h"
#include "store/sealed_store.h"

namespace coffer::store {
namespace {

using internal::DescribeRecord;
using internal::Manifest;
using internal::RecordRef;
using internal::RecordSealer;
using internal::SetDigest;
using internal::XorInto;
using sqlite::Connection;
using sqlite::ResetOnExit;
using sqlite::Statement;

constexpr uint64_t kMaxCounter = std::numeric_limits<int64_t>::max();

struct Statements {
  Statement begin, commit, rollback;
  Statement select_row, upsert, erase, erase_all, select_all, put_manifest,
      count_all;
};

absl::StatusOr<Statements> PrepareStatements(const Connection& conn) {
  Statements s;
  auto prep = [&conn](Statement& out, std::string_view sql) -> absl::Status {
    COFFER_ASSIGN_OR_RETURN(out, Statement::Prepare(conn, sql));
    return absl::OkStatus();
  };
  COFFER_RETURN_IF_ERROR(prep(s.begin, "BEGIN IMMEDIATE"));
  COFFER_RETURN_IF_ERROR(prep(s.commit, "COMMIT"));
  COFFER_RETURN_IF_ERROR(prep(s.rollback, "ROLLBACK"));
  COFFER_RETURN_IF_ERROR(prep(
      s.select_row,
      "SELECT version, generation, sealed FROM records WHERE kind = ?1 AND "
      "id = ?2"));
  COFFER_RETURN_IF_ERROR(
      prep(s.upsert,
           "INSERT INTO records(kind, id, version, generation, sealed) "
           "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(kind, id) DO UPDATE SET "
           "version = excluded.version, generation = excluded.generation, "
           "sealed = excluded.sealed"));
  COFFER_RETURN_IF_ERROR(
      prep(s.erase, "DELETE FROM records WHERE kind = ?1 AND id = ?2"));
  COFFER_RETURN_IF_ERROR(prep(s.erase_all, "DELETE FROM records"));
  COFFER_RETURN_IF_ERROR(prep(s.select_all,
                              "SELECT kind, id, version, generation, sealed "
                              "FROM records ORDER BY kind, id"));
  COFFER_RETURN_IF_ERROR(prep(s.put_manifest, internal::kPutManifestSql));
  COFFER_RETURN_IF_ERROR(prep(s.count_all, "SELECT COUNT(*) FROM records"));
  return s;
}

// Checks names and sizes, and that no (kind, id) appears twice.
absl::Status ValidateWrite(const RecordWrite& w, bool require_payload) {
  {
    if (w.kind.empty() || w.kind.size() > kMaxNameSize || w.id.empty() ||
        w.id.size() > kMaxNameSize) {
      return absl::InvalidArgumentError(absl::StrCat(
          "record kind and id must be 1 to ", kMaxNameSize,
          " bytes; got kind of ", w.kind.size(), ", id of ", w.id.size()));
    }
    if (w.payload.has_value() && w.payload->size() > kMaxPayloadSize) {
      return absl::InvalidArgumentError(absl::StrCat(
          "payload of ", DescribeRecord(w.kind, w.id), " is ",
          w.payload->size(), " bytes; the limit is ", kMaxPayloadSize));
    }
    if (require_payload && !w.payload.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ReplaceAll needs a payload for every record; ",
                       DescribeRecord(w.kind, w.id), " has none"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateWrites(const std::vector<RecordWrite>& writes,
                            bool require_payload) {
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (const RecordWrite& w : writes) {
    COFFER_RETURN_IF_ERROR(ValidateWrite(w, require_payload));
    if (!seen.emplace(w.kind, w.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(DescribeRecord(w.kind, w.id),
                       " appears twice in one batch; merge the writes"));
    }
  }
  return absl::OkStatus();
}

class SqliteSealedStore final : public SealedStore {
 public:
  SqliteSealedStore(std::string path, Connection conn, Statements stmts,
                    RecordSealer sealer, Manifest manifest)
      : path_(std::move(path)),
        sealer_(std::move(sealer)),
        conn_(std::move(conn)),
        stmts_(std::move(stmts)),
        manifest_(manifest) {}

  absl::StatusOr<std::vector<StoredRecord>> LoadAll() override;
  absl::StatusOr<std::vector<uint64_t>> Commit(
      std::vector<RecordWrite> writes) override;
  absl::Status ReplaceAll(std::vector<RecordWrite> records) override;
  absl::Status ReplaceAllFrom(const RecordSource& next) override;
  uint64_t generation() const override {
    absl::MutexLock lock(&mu_);
    return manifest_.generation;
  }

 private:
  struct Row {
    uint64_t version;
    uint64_t generation;
  };

  absl::Status CheckUsable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // BEGIN IMMEDIATE; body; COMMIT. Rolls back if `body` fails; on success
  // the manifest it returns becomes current.
  absl::Status InTransaction(absl::FunctionRef<absl::StatusOr<Manifest>()> body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RollBack() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Manifest> ApplyWrites(const std::vector<RecordWrite>& writes,
                                       std::vector<uint64_t>& versions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Manifest> ApplyReplace(const RecordSource& next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads and authenticates the current row of (kind, id), if any.
  absl::StatusOr<std::optional<Row>> ReadRow(std::string_view kind,
                                             std::string_view id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PutRecord(const RecordRef& ref, ByteView payload)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EraseRecord(std::string_view kind, std::string_view id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PutManifest(const Manifest& m)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const RecordSealer sealer_;
  mutable absl::Mutex mu_;
  // Declared before stmts_ so the statements are finalised first.
  Connection conn_ ABSL_GUARDED_BY(mu_);
  Statements stmts_ ABSL_GUARDED_BY(mu_);
  Manifest manifest_ ABSL_GUARDED_BY(mu_);
  // Set when a COMMIT failed: its outcome is unknown, so the in-memory
  // manifest may be stale. Only a reopen (which re-reads it) recovers.
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
};

absl::Status SqliteSealedStore::CheckUsable() const {
  if (!broken_) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("the store ", path_,
                   " is unusable after a failed commit whose outcome is "
                   "unknown; close and reopen it"));
}

void SqliteSealedStore::RollBack() {
  // After some errors (I/O, disk full) SQLite has already rolled back.
  if (sqlite3_get_autocommit(conn_.get()) != 0) return;
  if (!stmts_.rollback.Run().ok()) broken_ = true;
}

absl::Status SqliteSealedStore::InTransaction(
    absl::FunctionRef<absl::StatusOr<Manifest>()> body) {
  COFFER_RETURN_IF_ERROR(stmts_.begin.Run());
  absl::StatusOr<Manifest> next = body();
  if (!next.ok()) {
    RollBack();
    return next.status();
  }
  absl::Status s = absl::OkStatus();
  if constexpr (fault::kFaultInjectionEnabled) {
    // error: behaves as if COMMIT itself failed; exit: dies just before it.
    s = fault::Hit("store.sql_commit");
  }
  if (s.ok()) s = stmts_.commit.Run();
  if (!s.ok()) {
    RollBack();
    broken_ = true;
    return absl::UnknownError(
        absl::StrCat(s.message(),
                     "; the commit's outcome is unknown: reopen the store and "
                     "LoadAll to see whether it landed"));
  }
  manifest_ = *next;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<SqliteSealedStore::Row>>
SqliteSealedStore::ReadRow(std::string_view kind, std::string_view id) {
  Statement& st = stmts_.select_row;
  ResetOnExit reset(st);
  COFFER_RETURN_IF_ERROR(st.BindBlob(1, AsBytes(kind)));
  COFFER_RETURN_IF_ERROR(st.BindBlob(2, AsBytes(id)));
  COFFER_ASSIGN_OR_RETURN(bool found, st.Step());
  if (!found) return std::nullopt;
  Row row{static_cast<uint64_t>(st.ColumnInt64(0)),
          static_cast<uint64_t>(st.ColumnInt64(1))};
  // Never build on a tampered row: its seal must hold before it is replaced.
  COFFER_RETURN_IF_ERROR(
      sealer_
          .OpenRecord({kind, id, row.version, row.generation}, st.ColumnBlob(2))
          .status());
  if (row.version >= kMaxCounter) {
    return absl::DataLossError(absl::StrCat(
        DescribeRecord(kind, id), " has an impossible version ", row.version));
  }
  return row;
}

absl::Status SqliteSealedStore::PutRecord(const RecordRef& ref,
                                          ByteView payload) {
  COFFER_ASSIGN_OR_RETURN(Bytes sealed, sealer_.SealRecord(ref, payload));
  Statement& st = stmts_.upsert;
  ResetOnExit reset(st);
  COFFER_RETURN_IF_ERROR(st.BindBlob(1, AsBytes(ref.kind)));
  COFFER_RETURN_IF_ERROR(st.BindBlob(2, AsBytes(ref.id)));
  COFFER_RETURN_IF_ERROR(st.BindInt64(3, static_cast<int64_t>(ref.version)));
  COFFER_RETURN_IF_ERROR(st.BindInt64(4, static_cast<int64_t>(ref.generation)));
  COFFER_RETURN_IF_ERROR(st.BindBlob(5, sealed));
  return st.Run();
}

absl::Status SqliteSealedStore::EraseRecord(std::string_view kind,
                                            std::string_view id) {
  Statement& st = stmts_.erase;
  ResetOnExit reset(st);
  COFFER_RETURN_IF_ERROR(st.BindBlob(1, AsBytes(kind)));
  COFFER_RETURN_IF_ERROR(st.BindBlob(2, AsBytes(id)));
  return st.Run();
}

absl::Status SqliteSealedStore::PutManifest(const Manifest& m) {
  COFFER_ASSIGN_OR_RETURN(Bytes sealed, sealer_.SealManifest(m));
  Statement& st = stmts_.put_manifest;
  ResetOnExit reset(st);
  COFFER_RETURN_IF_ERROR(st.BindBlob(1, sealed));
  return st.Run();
}

absl::StatusOr<Manifest> SqliteSealedStore::ApplyWrites(
    const std::vector<RecordWrite>& writes, std::vector<uint64_t>& versions) {
  Manifest next = manifest_;
  next.generation = manifest_.generation + 1;
  versions.clear();
  for (const RecordWrite& w : writes) {
    COFFER_ASSIGN_OR_RETURN(std::optional<Row> prev, ReadRow(w.kind, w.id));
    if (prev.has_value()) {
      COFFER_ASSIGN_OR_RETURN(
          SetDigest old_element,
          sealer_.SetElement({w.kind, w.id, prev->version, prev->generation}));
      XorInto(next.set_digest, old_element);
    }
    const uint64_t version = prev.has_value() ? prev->version + 1 : 1;
    versions.push_back(version);
    if (!w.payload.has_value()) {
      if (!prev.has_value()) {
        return absl::NotFoundError(absl::StrCat(
            "cannot delete ", DescribeRecord(w.kind, w.id),
            ": no such record; nothing in this batch was applied"));
      }
      COFFER_RETURN_IF_ERROR(EraseRecord(w.kind, w.id));
      --next.record_count;
    } else {
      const RecordRef ref{w.kind, w.id, version, next.generation};
      COFFER_RETURN_IF_ERROR(PutRecord(ref, w.payload->ExposeSecret()));
      COFFER_ASSIGN_OR_RETURN(SetDigest element, sealer_.SetElement(ref));
      XorInto(next.set_digest, element);
      if (!prev.has_value()) ++next.record_count;
    }
    COFFER_FAULT_POINT("store.commit.after_write");
  }
  COFFER_RETURN_IF_ERROR(PutManifest(next));
  COFFER_FAULT_POINT("store.commit.before_commit");
  return next;
}

absl::StatusOr<Manifest> SqliteSealedStore::ApplyReplace(
    const RecordSource& next_record) {
  Manifest next;
  next.generation = manifest_.generation + 1;
  COFFER_RETURN_IF_ERROR(stmts_.erase_all.Run());
  COFFER_FAULT_POINT("store.replace_all.after_delete");
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(std::optional<RecordWrite> r, next_record());
    if (!r) break;
    COFFER_RETURN_IF_ERROR(ValidateWrite(*r, /*require_payload=*/true));
    const RecordRef ref{r->kind, r->id, 1, next.generation};
    COFFER_RETURN_IF_ERROR(PutRecord(ref, r->payload->ExposeSecret()));
    COFFER_ASSIGN_OR_RETURN(SetDigest element, sealer_.SetElement(ref));
    XorInto(next.set_digest, element);
    ++next.record_count;
  }
  // A (kind, id) given twice would have been upserted over itself: the
  // table then holds fewer rows than were written.
  {
    Statement& st = stmts_.count_all;
    ResetOnExit reset(st);
    COFFER_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || static_cast<uint64_t>(st.ColumnInt64(0)) != next.record_count) {
      return absl::InvalidArgumentError(
          "ReplaceAll was given the same (kind, id) twice");
    }
  }
  COFFER_RETURN_IF_ERROR(PutManifest(next));
  COFFER_FAULT_POINT("store.replace_all.before_commit");
  return next;
}

absl::StatusOr<std::vector<uint64_t>> SqliteSealedStore::Commit(
    std::vector<RecordWrite> writes) {
  COFFER_RETURN_IF_ERROR(ValidateWrites(writes, /*require_payload=*/false));
  if (writes.empty()) return std::vector<uint64_t>();
  absl::MutexLock lock(&mu_);
  COFFER_RETURN_IF_ERROR(CheckUsable());
  std::vector<uint64_t> versions;
  COFFER_RETURN_IF_ERROR(InTransaction([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return ApplyWrites(writes, versions);
  }));
  return versions;
}

absl::Status SqliteSealedStore::ReplaceAll(std::vector<RecordWrite> records) {
  COFFER_RETURN_IF_ERROR(ValidateWrites(records, /*require_payload=*/true));
  size_t i = 0;
  return ReplaceAllFrom([&]() -> absl::StatusOr<std::optional<RecordWrite>> {
    if (i == records.size()) return std::nullopt;
    return std::move(records[i++]);
  });
}

absl::Status SqliteSealedStore::ReplaceAllFrom(const RecordSource& next) {
  absl::MutexLock lock(&mu_);
  COFFER_RETURN_IF_ERROR(CheckUsable());
  return InTransaction(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return ApplyReplace(next); });
}

absl::StatusOr<std::vector<StoredRecord>> SqliteSealedStore::LoadAll() {
  absl::MutexLock lock(&mu_);
  COFFER_RETURN_IF_ERROR(CheckUsable());
  COFFER_RETURN_IF_ERROR(internal::QuickCheck(conn_, path_));
  Statement& st = stmts_.select_all;
  ResetOnExit reset(st);
  std::vector<StoredRecord> out;
  Manifest found;
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    std::string kind = st.ColumnString(0);
    std::string id = st.ColumnString(1);
    const RecordRef ref{kind, id, static_cast<uint64_t>(st.ColumnInt64(2)),
                        static_cast<uint64_t>(st.ColumnInt64(3))};
    if (!out.empty() &&
        std::tie(out.back().kind, out.back().id) >= std::tie(kind, id)) {
      return absl::DataLossError(
          absl::StrCat("the store ", path_, " holds ", DescribeRecord(kind, id),
                       " twice or out of order: its table was modified"));
    }
    COFFER_ASSIGN_OR_RETURN(crypto::SecretBytes payload,
                            sealer_.OpenRecord(ref, st.ColumnBlob(4)));
    COFFER_ASSIGN_OR_RETURN(SetDigest element, sealer_.SetElement(ref));
    XorInto(found.set_digest, element);
    ++found.record_count;
    const uint64_t version = ref.version;
    out.push_back(StoredRecord{std::move(kind), std::move(id), version,
                               std::move(payload)});
  }
  if (found.record_count != manifest_.record_count ||
      !crypto::ConstantTimeEquals(found.set_digest, manifest_.set_digest)) {
    return absl::DataLossError(absl::StrCat(
        "records missing or rolled back in the store ", path_, ": it holds ",
        found.record_count, " records that do not match its manifest (",
        manifest_.record_count, " records at generation ", manifest_.generation,
        "); rows were deleted, added or replaced by older versions behind "
        "the store's back. Restore from a backup"));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SealedStore>> OpenSqliteSealedStore(
    const std::string& path, crypto::SecretBytes storage_key,
    const SqliteStoreOptions& options) {
  COFFER_ASSIGN_OR_RETURN(RecordSealer sealer,
                          RecordSealer::Create(storage_key));
  storage_key = crypto::SecretBytes();  // only the derived keys are kept
  COFFER_ASSIGN_OR_RETURN(internal::OpenedDb db,
                          internal::OpenStoreDb(path, sealer, options));
  COFFER_ASSIGN_OR_RETURN(Statements stmts, PrepareStatements(db.conn));
  return std::make_unique<SqliteSealedStore>(path, std::move(db.conn),
                                             std::move(stmts),
                                             std::move(sealer), db.manifest);
}

}  // namespace coffer::store
