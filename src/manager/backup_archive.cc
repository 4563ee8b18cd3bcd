// The backup archive (backup_archive.h; object keys and the metadata
// encoding in docs/archive.md, "Archive").
//
// Streams: ObjectStore::Put pulls its content and Get pushes it, while a
// Writer is pushed to and a Reader pulled from. Each stream therefore runs
// the store call on a worker thread, joined to the caller by a ChunkPipe: a
// queue that holds about 1 MiB before its producer waits. Either side may
// stop at any time (an error, a destroyed Writer or Reader), and the pipe
// then fails the other side's next call instead of letting it wait, so the
// worker always ends and is joined.
#include "manager/backup_archive.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "base/status.h"

namespace coffer::manager {
namespace {

constexpr char kMetadataLabel[] = "coffer.archive.backup.v1";
constexpr size_t kMaxIdSize = 128;
// Bytes a pipe queues before its producer waits. A chunk is at most one
// envelope segment (1 MiB at most, 64 KiB by default), so a stream holds
// this, one chunk more, and a segment or two inside the envelope.
constexpr size_t kPipeCapacity = size_t{1} << 20;

// ------------------------------------------------------- keys and metadata

absl::Status ValidateId(absl::string_view field, absl::string_view id) {
  const bool ok = !id.empty() && id.size() <= kMaxIdSize &&
                  std::all_of(id.begin(), id.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '-' || c == '_';
                  });
  if (ok) return absl::OkStatus();
  // An id with '/' or '.' could make two backups share an object key.
  return absl::InvalidArgumentError(
      absl::StrCat(field, " \"", id.substr(0, 64), "\" is not an id: use 1 to ",
                   kMaxIdSize, " of A-Z, a-z, 0-9, - and _"));
}

absl::Status Validate(const ArchivedBackup& m) {
  COFFER_RETURN_IF_ERROR(ValidateId("backup_id", m.backup_id));
  COFFER_RETURN_IF_ERROR(ValidateId("cluster_id", m.cluster_id));
  COFFER_RETURN_IF_ERROR(kms::ValidateRegion(m.region));
  if (!m.source_backup_id.empty()) {
    COFFER_RETURN_IF_ERROR(ValidateId("source_backup_id", m.source_backup_id));
  }
  if (m.mode != ClusterMode::kFips && m.mode != ClusterMode::kNonFips) {
    return absl::InvalidArgumentError("mode must be FIPS or NON_FIPS");
  }
  return absl::OkStatus();
}

std::string ObjectKey(const ArchivedBackup& m) {
  return absl::StrCat("backups/", m.cluster_id, "/", m.backup_id, ".cbe");
}

std::string Describe(const ArchivedBackup& m) {
  return absl::StrCat("archived backup ", m.backup_id, " (cluster ",
                      m.cluster_id, ", region ", m.region, ")");
}

void PutBe(Bytes& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }
}

void PutField(Bytes& out, absl::string_view field) {
  PutBe(out, field.size(), 2);  // ids and regions are short (validated)
  out.insert(out.end(), field.begin(), field.end());
}

// The envelope metadata: label || 00 || len16 backup_id || len16 cluster_id
// || len16 region || mode (1) || create_time (8) || len16 source_backup_id.
// Length prefixes keep two field lists from encoding alike.
Bytes Metadata(const ArchivedBackup& m) {
  Bytes out(kMetadataLabel, kMetadataLabel + sizeof(kMetadataLabel));
  PutField(out, m.backup_id);
  PutField(out, m.cluster_id);
  PutField(out, m.region);
  out.push_back(static_cast<uint8_t>(m.mode));
  PutBe(out, static_cast<uint64_t>(m.create_time), 8);
  PutField(out, m.source_backup_id);
  return out;
}

absl::Status Annotate(const absl::Status& s, absl::string_view context) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(context, ": ", s.message()));
}

// ------------------------------------------------------------------- pipe

// A bounded queue of chunks from one producer thread to one consumer thread.
// The producer ends the stream with Close() (OK: after the queued chunks;
// an error: at once, dropping them, as a consumer must discard a failed
// stream anyway). The consumer gives up with Abandon(), which fails the
// producer's next Push. So neither waits for a peer that is gone.
class ChunkPipe {
 public:
  // Blocks while kPipeCapacity bytes are queued. An empty chunk is not
  // queued (it is the consumer's end marker) but still reports whether the
  // consumer is gone.
  absl::Status Push(ByteView chunk) ABSL_LOCKS_EXCLUDED(mu_) {
    if (chunk.empty()) {
      absl::MutexLock lock(&mu_);
      return abandoned_.value_or(absl::OkStatus());
    }
    absl::MutexLock lock(&mu_, absl::Condition(this, &ChunkPipe::CanPush));
    if (abandoned_.has_value()) return *abandoned_;
    if (closed_.has_value()) {
      return absl::FailedPreconditionError("chunk after the end of a stream");
    }
    chunks_.emplace_back(chunk.begin(), chunk.end());
    bytes_ += chunk.size();
    return absl::OkStatus();
  }
  void Close(absl::Status end) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (closed_.has_value()) return;
    if (!end.ok()) Drop();
    closed_ = std::move(end);
  }
  // The next chunk; once closed, an empty chunk (OK) or the error, again
  // and again.
  absl::StatusOr<Bytes> Pop() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_, absl::Condition(this, &ChunkPipe::CanPop));
    if (abandoned_.has_value()) return *abandoned_;
    if (chunks_.empty()) {
      if (closed_->ok()) return Bytes();
      return *closed_;
    }
    Bytes chunk = std::move(chunks_.front());
    chunks_.pop_front();
    bytes_ -= chunk.size();
    return chunk;
  }
  void Abandon(absl::Status why) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (!abandoned_.has_value()) abandoned_ = std::move(why);
    Drop();
  }

 private:
  bool CanPush() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return bytes_ < kPipeCapacity || abandoned_.has_value() ||
           closed_.has_value();
  }
  bool CanPop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !chunks_.empty() || abandoned_.has_value() || closed_.has_value();
  }
  void Drop() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    chunks_.clear();
    bytes_ = 0;
  }

  absl::Mutex mu_;
  std::deque<Bytes> chunks_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<absl::Status> closed_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> abandoned_ ABSL_GUARDED_BY(mu_);
};

// std::thread reports failure only by throwing; it must not escape.
absl::StatusOr<std::thread> StartThread(std::function<void()> body) {
  try {
    return std::thread(std::move(body));
  } catch (const std::system_error& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot start an archive worker thread: ", e.what()));
  }
}

// Pulls what a push-style producer (a store's Get, and what it feeds) emits
// on a worker thread. The producer's status ends the stream. Destroying the
// stream midway fails the producer's next push, so the worker stops.
class PullStream final : public BackupArchive::Reader {
 public:
  using Producer = std::function<absl::Status(const kms::ByteSink& out)>;
  static absl::StatusOr<std::unique_ptr<PullStream>> Start(Producer produce) {
    std::unique_ptr<PullStream> stream(new PullStream());
    PullStream* self = stream.get();
    COFFER_ASSIGN_OR_RETURN(
        stream->worker_, StartThread([self, p = std::move(produce)] {
          self->pipe_.Close(
              p([self](ByteView chunk) { return self->pipe_.Push(chunk); }));
        }));
    return stream;
  }
  ~PullStream() override {
    pipe_.Abandon(absl::CancelledError("the reader was closed"));
    if (worker_.joinable()) worker_.join();
  }
  absl::StatusOr<Bytes> Next() override { return pipe_.Pop(); }

 private:
  PullStream() = default;
  ChunkPipe pipe_;
  std::thread worker_;
};

// Feeds a pull-style consumer (a store's Put) on a worker thread. Close(OK)
// ends the stream for it (Put commits), Close(error) or destruction without
// Close aborts it (Put discards its temp file). A consumer that fails fails
// the next Write.
class PushStream {
 public:
  using Consumer =
      std::function<absl::Status(const archive::ChunkSource& source)>;
  static absl::StatusOr<std::unique_ptr<PushStream>> Start(Consumer consume) {
    std::unique_ptr<PushStream> stream(new PushStream());
    PushStream* self = stream.get();
    COFFER_ASSIGN_OR_RETURN(
        stream->worker_, StartThread([self, c = std::move(consume)] {
          absl::Status s = c([self] { return self->pipe_.Pop(); });
          self->pipe_.Abandon(
              s.ok() ? absl::InternalError("the store ended the stream early")
                     : s);
          self->result_ = std::move(s);  // read only after the join
        }));
    return stream;
  }
  ~PushStream() {
    Close(absl::CancelledError("abandoned before the end: nothing stored"))
        .IgnoreError();
  }
  absl::Status Write(ByteView chunk) { return pipe_.Push(chunk); }
  // Ends the stream and returns the consumer's status.
  absl::Status Close(absl::Status end) {
    pipe_.Close(std::move(end));
    if (worker_.joinable()) worker_.join();
    return result_;
  }

 private:
  PushStream() = default;
  ChunkPipe pipe_;
  std::thread worker_;
  absl::Status result_;
};

// ----------------------------------------------------------------- writer

class ArchiveWriter final : public BackupArchive::Writer {
 public:
  ArchiveWriter(std::unique_ptr<PushStream> out, std::string what)
      : out_(std::move(out)), what_(std::move(what)) {}
  void set_envelope(std::unique_ptr<kms::EnvelopeWriter> envelope) {
    envelope_ = std::move(envelope);
  }

  absl::Status Write(ByteView chunk) override {
    COFFER_RETURN_IF_ERROR(CheckOpen());
    if (absl::Status s = envelope_->Write(chunk); !s.ok()) End(s);
    return status_;
  }
  absl::Status Finish() override {
    COFFER_RETURN_IF_ERROR(CheckOpen());
    // The envelope's last segment is queued before the end: the store
    // commits an object that a reader will accept, or none.
    End(envelope_->Finish());
    finished_ = status_.ok();
    return status_;
  }

 private:
  absl::Status CheckOpen() const {
    if (finished_) {
      return absl::FailedPreconditionError(
          absl::StrCat(what_, " is already stored; this writer is done"));
    }
    return status_;
  }
  // Ends the store's stream with `s`. A failed write usually comes from the
  // store (its error failed the envelope's output); the store knows best.
  void End(const absl::Status& s) {
    absl::Status stored = out_->Close(s);
    status_ =
        Annotate(stored.ok() ? s : stored, absl::StrCat("storing ", what_));
  }

  std::unique_ptr<PushStream> out_;
  std::unique_ptr<kms::EnvelopeWriter> envelope_;  // writes into out_
  const std::string what_;
  absl::Status status_;
  bool finished_ = false;
};

// ----------------------------------------------------------------- reader

// A read's error with its context; DataLoss says what to do about it.
absl::Status ReadError(const absl::Status& s, const ArchivedBackup& meta) {
  if (absl::IsDataLoss(s)) {
    return Annotate(s, absl::StrCat(Describe(meta),
                                    " is damaged or does not match its "
                                    "catalog entry; do not restore it"));
  }
  return Annotate(s, absl::StrCat("reading ", Describe(meta)));
}

absl::Status KeepGoing(ByteView) { return absl::OkStatus(); }

// What a failed read means to the catalog's owner. Damaged stored bytes are
// DataLoss even where the envelope saw something else first (a flipped byte
// in the wrapped key's id reads as an unknown key: NotFound), so the
// object's checksum is checked then; `probe` is called with every chunk of
// that check and may stop it (a Reader destroyed meanwhile).
absl::Status Explain(absl::Status s, archive::ObjectStore& store,
                     const ArchivedBackup& meta, const kms::ByteSink& probe) {
  if (s.ok() || absl::IsCancelled(s)) return s;
  if (!absl::IsDataLoss(s)) {
    absl::Status check = store.Get(ObjectKey(meta), probe);
    if (absl::IsDataLoss(check)) s = check;
  }
  return ReadError(s, meta);
}

absl::Status ReadObject(kms::Kms& kms, archive::ObjectStore& store,
                        const ArchivedBackup& meta, const kms::ByteSink& out) {
  kms::EnvelopeReader envelope(kms, meta.region, Metadata(meta), out);
  absl::Status s = store.Get(ObjectKey(meta), [&envelope](ByteView chunk) {
    return envelope.Feed(chunk);
  });
  // The last segment, and with it the end, is released only now, after
  // Get verified the object's checksum.
  if (s.ok()) s = envelope.Finish();
  return Explain(std::move(s), store, meta,
                 [&out](ByteView) { return out(ByteView()); });
}

}  // namespace

// ---------------------------------------------------------------- archive

BackupArchive::BackupArchive(std::unique_ptr<kms::Kms> kms,
                             StoreOpener open_store,
                             kms::EnvelopeOptions options)
    : kms_(std::move(kms)),
      open_store_(std::move(open_store)),
      options_(options) {}

std::unique_ptr<BackupArchive> BackupArchive::Create(
    std::unique_ptr<kms::Kms> kms, StoreOpener open_store,
    kms::EnvelopeOptions options) {
  return std::unique_ptr<BackupArchive>(
      new BackupArchive(std::move(kms), std::move(open_store), options));
}

absl::StatusOr<std::unique_ptr<BackupArchive>> BackupArchive::OpenLocal(
    const std::string& dir) {
  COFFER_RETURN_IF_ERROR(MakePrivateDirectory(dir));
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<kms::Kms> kms,
                          kms::OpenLocalKeyring(absl::StrCat(dir, "/kms")));
  const std::string objects = absl::StrCat(dir, "/objects");
  // Region names are [a-z0-9-]{1,32} (validated first): safe path parts.
  return Create(std::move(kms), [objects](const std::string& region) {
    return archive::OpenLocalDirectoryStore(absl::StrCat(objects, "/", region));
  });
}

absl::StatusOr<archive::ObjectStore*> BackupArchive::Store(
    const std::string& region, bool need_key) {
  absl::MutexLock lock(&mu_);
  auto it = stores_.find(region);
  if (it == stores_.end()) {
    COFFER_ASSIGN_OR_RETURN(std::unique_ptr<archive::ObjectStore> store,
                            open_store_(region));
    it = stores_.emplace(region, std::move(store)).first;
  }
  // Under mu_, so two first uses do not create two keys.
  if (need_key && !keyed_regions_.contains(region)) {
    absl::StatusOr<std::string> key = kms_->CurrentKeyId(region);
    if (absl::IsNotFound(key.status())) key = kms_->CreateKey(region);
    COFFER_RETURN_IF_ERROR(
        Annotate(key.status(), absl::StrCat("KMS key of region ", region)));
    keyed_regions_.insert(region);
  }
  return it->second.get();
}

absl::StatusOr<std::unique_ptr<BackupArchive::Writer>>
BackupArchive::BeginStore(const ArchivedBackup& meta) {
  COFFER_RETURN_IF_ERROR(Validate(meta));
  COFFER_ASSIGN_OR_RETURN(archive::ObjectStore * store,
                          Store(meta.region, /*need_key=*/true));
  COFFER_ASSIGN_OR_RETURN(
      std::unique_ptr<PushStream> out,
      PushStream::Start(
          [store, key = ObjectKey(meta)](const archive::ChunkSource& source) {
            return store->Put(key, source);
          }));
  PushStream* raw = out.get();
  auto writer = std::make_unique<ArchiveWriter>(std::move(out), Describe(meta));
  // On an error here `writer` goes, aborting the Put: no object.
  COFFER_ASSIGN_OR_RETURN(
      std::unique_ptr<kms::EnvelopeWriter> envelope,
      kms::EnvelopeWriter::Create(
          *kms_, meta.region, Metadata(meta),
          [raw](ByteView chunk) { return raw->Write(chunk); }, options_));
  writer->set_envelope(std::move(envelope));
  return std::unique_ptr<Writer>(std::move(writer));
}

absl::StatusOr<std::unique_ptr<BackupArchive::Reader>>
BackupArchive::OpenForRead(const ArchivedBackup& meta) {
  COFFER_RETURN_IF_ERROR(Validate(meta));
  COFFER_ASSIGN_OR_RETURN(archive::ObjectStore * store,
                          Store(meta.region, /*need_key=*/false));
  // A missing object is NotFound here rather than at the first Next().
  COFFER_RETURN_IF_ERROR(
      ReadError(store->Stat(ObjectKey(meta)).status(), meta));
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<PullStream> in,
                          PullStream::Start([kms = kms_.get(), store,
                                             meta](const kms::ByteSink& out) {
                            return ReadObject(*kms, *store, meta, out);
                          }));
  return std::unique_ptr<Reader>(std::move(in));
}

absl::Status BackupArchive::Copy(const ArchivedBackup& source,
                                 const ArchivedBackup& copy) {
  COFFER_RETURN_IF_ERROR(Validate(source));
  COFFER_RETURN_IF_ERROR(Validate(copy));
  if (source.region == copy.region && ObjectKey(source) == ObjectKey(copy)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a copy of ", Describe(source), " needs its own backup id or region"));
  }
  COFFER_ASSIGN_OR_RETURN(archive::ObjectStore * from,
                          Store(source.region, /*need_key=*/false));
  COFFER_ASSIGN_OR_RETURN(archive::ObjectStore * to,
                          Store(copy.region, /*need_key=*/true));
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<PullStream> in,
                          PullStream::Start([from, key = ObjectKey(source)](
                                                const kms::ByteSink& out) {
                            return from->Get(key, out);
                          }));
  COFFER_ASSIGN_OR_RETURN(
      std::unique_ptr<PushStream> out,
      PushStream::Start(
          [to, key = ObjectKey(copy)](const archive::ChunkSource& chunks) {
            return to->Put(key, chunks);
          }));
  const kms::ReencryptParams params{.from_kms = kms_.get(),
                                    .from_region = source.region,
                                    .from_metadata = Metadata(source),
                                    .to_kms = kms_.get(),
                                    .to_region = copy.region,
                                    .to_metadata = Metadata(copy),
                                    .options = options_};
  bool store_failed = false;
  absl::Status s = kms::Reencrypt(
      params, [&in] { return in->Next(); },
      [&](ByteView chunk) {
        absl::Status w = out->Write(chunk);
        store_failed = !w.ok();
        return w;
      });
  // Reencrypt returns OK only after the whole source verified; only then
  // may the copy commit.
  absl::Status stored = out->Close(s);
  if (!s.ok() && !store_failed)
    return Explain(std::move(s), *from, source, KeepGoing);
  return Annotate(stored.ok() ? s : stored,
                  absl::StrCat("storing the copy ", copy.backup_id, " of ",
                               Describe(source), " in region ", copy.region));
}

absl::Status BackupArchive::Delete(const ArchivedBackup& meta) {
  COFFER_RETURN_IF_ERROR(Validate(meta));
  COFFER_ASSIGN_OR_RETURN(archive::ObjectStore * store,
                          Store(meta.region, /*need_key=*/false));
  return Annotate(store->Delete(ObjectKey(meta)),
                  absl::StrCat("deleting ", Describe(meta)));
}

absl::StatusOr<bool> BackupArchive::Exists(const ArchivedBackup& meta) {
  COFFER_RETURN_IF_ERROR(Validate(meta));
  COFFER_ASSIGN_OR_RETURN(archive::ObjectStore * store,
                          Store(meta.region, /*need_key=*/false));
  absl::StatusOr<archive::ObjectInfo> info = store->Stat(ObjectKey(meta));
  if (info.ok()) return true;
  if (absl::IsNotFound(info.status())) return false;
  return Annotate(info.status(), Describe(meta));
}

}  // namespace coffer::manager
