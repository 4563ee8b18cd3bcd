// Backups: checking a backup file locally (no HSM, no secret), and taking
// or restoring one through an HSM. Files stream in chunks both ways, so
// memory stays flat whatever the backup's size.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "backup/reader.h"
#include "base/status.h"
#include "cli/commands.h"
#include "cli/io.h"
#include "cli/output.h"

namespace coffer::cli {
namespace {

constexpr size_t kReadChunk = size_t{256} << 10;

// Reads `path` in chunks; the last call returns an empty chunk.
class FileChunks {
 public:
  static absl::StatusOr<FileChunks> Open(const std::string& path) {
    FileChunks f;
    f.in_ = std::make_unique<std::ifstream>(path, std::ios::binary);
    if (!*f.in_) return UsageError(absl::StrCat("cannot read ", path));
    f.path_ = path;
    return f;
  }
  absl::StatusOr<Bytes> Next() {
    Bytes chunk(kReadChunk);
    in_->read(reinterpret_cast<char*>(chunk.data()),
              static_cast<std::streamsize>(chunk.size()));
    if (in_->bad()) return UsageError(absl::StrCat("cannot read ", path_));
    chunk.resize(static_cast<size_t>(in_->gcount()));
    return chunk;
  }
  backup::ChunkSource Source() {
    return [this] { return Next(); };
  }

 private:
  std::unique_ptr<std::ifstream> in_;
  std::string path_;
};

// The header's public facts, as `backup inspect` prints them.
Json HeaderJson(const backup::BackupHeader& h) {
  Json doc;
  doc["format_version"] = h.format_version;
  doc["backup_id"] = HexEncode(h.backup_id);
  doc["cluster_id"] = h.origin.cluster_id;
  doc["source_serial"] = h.origin.serial;
  doc["manufacturer_id"] = h.origin.manufacturer_id;
  doc["firmware_version"] = h.origin.firmware_version;
  doc["mode"] = h.origin.mode == hsm::Mode::kFips ? "fips" : "non-fips";
  doc["created"] = IsoUtc(h.created_at);
  doc["log_position"] = h.origin.log_position;
  Json records;
  records["cluster"] = h.counts.cluster;
  records["policy"] = h.counts.policy;
  records["users"] = h.counts.users;
  records["objects"] = h.counts.objects;
  records["total"] = h.counts.total();
  doc["records"] = records;
  return doc;
}

Json WireSummaryJson(const pb::BackupSummary& s) {
  Json doc;
  doc["backup_id"] = s.backup_id();
  doc["cluster_id"] = s.cluster_id();
  doc["source_serial"] = s.source_serial();
  doc["created"] = IsoUtc(s.created_unix());
  doc["log_position"] = s.log_position();
  Json records;
  records["cluster"] = s.cluster_records();
  records["policy"] = s.policy_records();
  records["users"] = s.user_records();
  records["objects"] = s.object_records();
  doc["records"] = records;
  doc["bytes"] = s.size_bytes();
  return doc;
}

// A new file written under a temporary name in the same directory and
// renamed into place once complete and synced: a crash or an error never
// leaves a partial backup under the final name. Mode 0600.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path) : path_(std::move(path)) {}
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() {
    if (fd_ >= 0) close(fd_);
    if (!tmp_.empty()) unlink(tmp_.c_str());
  }

  absl::Status Create() {
    std::string name = path_ + ".tmp.XXXXXX";
    fd_ = mkostemp(name.data(), O_CLOEXEC);  // mode 0600
    if (fd_ < 0) return Error("cannot create a file next to");
    tmp_ = name;
    return absl::OkStatus();
  }
  absl::Status Append(ByteView data) {
    while (!data.empty()) {
      const ssize_t n = write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Error("cannot write");
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }
  absl::Status Commit() {
    if (fsync(fd_) != 0) return Error("cannot sync");
    const int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0) return Error("cannot write");
    if (rename(tmp_.c_str(), path_.c_str()) != 0) return Error("cannot write");
    tmp_.clear();
    // The rename is durable once the directory is.
    std::string dir = std::filesystem::path(path_).parent_path().string();
    const int dfd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(const char* what) const {
    return UsageError(absl::StrCat(what, " ", path_, ": ", strerror(errno)));
  }
  std::string path_, tmp_;
  int fd_ = -1;
};

// Reads a whole backup file through the secret-free reader. On error the
// header is still returned in `header` when it could be read.
absl::StatusOr<backup::BackupSummary> CheckFile(
    const std::string& path, const std::string& manufacturer_ca_pem,
    std::optional<backup::BackupHeader>* header = nullptr) {
  COFFER_ASSIGN_OR_RETURN(FileChunks file, FileChunks::Open(path));
  if (header == nullptr) {
    return backup::VerifyBackup(file.Source(), manufacturer_ca_pem,
                                std::time(nullptr));
  }
  backup::BackupReader::Hooks hooks;
  hooks.on_header = [header](const backup::BackupHeader& h) {
    *header = h;
    return absl::OkStatus();
  };
  backup::BackupReader reader(std::move(hooks));
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(Bytes chunk, file.Next());
    if (chunk.empty()) return reader.Finish();
    COFFER_RETURN_IF_ERROR(reader.Feed(chunk));
  }
}

absl::Status NotABackup(const std::string& path, const absl::Status& s) {
  return absl::Status(
      s.code(), absl::StrCat(path, " is not a valid backup: ", s.message()));
}

}  // namespace

absl::Status BackupVerify(Context& ctx) {
  const std::string path = ctx.args.Get("FILE");
  const std::string ca_path = ctx.args.Get("--manufacturer-ca");
  std::string ca_pem;
  if (!ca_path.empty()) {
    COFFER_ASSIGN_OR_RETURN(ca_pem, ReadFile(ca_path));
  }
  absl::StatusOr<backup::BackupSummary> summary = CheckFile(path, ca_pem);
  if (!summary.ok()) {
    if (ExitCodeOf(summary.status()) == kExitUsage) return summary.status();
    return NotABackup(path, summary.status());
  }
  const backup::BackupHeader& h = summary->header;
  Json doc;
  doc["file"] = path;
  doc["backup_id"] = HexEncode(h.backup_id);
  doc["cluster_id"] = h.origin.cluster_id;
  doc["source_serial"] = h.origin.serial;
  doc["manufacturer_id"] = h.origin.manufacturer_id;
  doc["created"] = IsoUtc(h.created_at);
  doc["records"] = summary->records;
  doc["bytes"] = summary->size_bytes;
  doc["device"] = summary->device_subject;
  doc["signature"] = "valid";
  doc["chain"] = summary->chain_checked
                     ? absl::StrCat("verified against ", ca_path)
                     : std::string("not checked (no --manufacturer-ca)");
  doc["chain_checked"] = summary->chain_checked;
  ctx.out.Print(doc);
  return absl::OkStatus();
}

absl::Status BackupInspect(Context& ctx) {
  const std::string path = ctx.args.Get("FILE");
  std::optional<backup::BackupHeader> header;
  absl::StatusOr<backup::BackupSummary> summary = CheckFile(path, "", &header);
  if (!summary.ok() && ExitCodeOf(summary.status()) == kExitUsage) {
    return summary.status();
  }
  if (!header.has_value()) return NotABackup(path, summary.status());
  Json doc;
  doc["file"] = path;
  doc.update(HeaderJson(*header));
  if (summary.ok()) {
    doc["bytes"] = summary->size_bytes;
    doc["device"] = summary->device_subject;
  }
  doc["signature"] = summary.ok() ? "valid" : "invalid";
  if (!summary.ok()) doc["problem"] = std::string(summary.status().message());
  ctx.out.Print(doc);
  // Scripts see a damaged file in the exit code, after its facts.
  return summary.ok() ? absl::OkStatus() : NotABackup(path, summary.status());
}

absl::Status HsmBackup(Context& ctx) {
  const std::string out = ctx.args.Get("--out");
  COFFER_ASSIGN_OR_RETURN(ConnectionConfig config,
                          ResolveConfig(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(Connection conn, Connection::Open(config));
  // Before activation there is no session to give (the HSM allows it).
  if (FileExists(config.session_file)) {
    COFFER_ASSIGN_OR_RETURN(Session session, LoadSession(config.session_file));
    conn.set_session(session.token);
  }
  AtomicFile file(out);
  COFFER_RETURN_IF_ERROR(file.Create());
  uint64_t received = 0;
  COFFER_ASSIGN_OR_RETURN(
      pb::BackupSummary summary,
      conn.CreateBackup([&](ByteView chunk) -> absl::Status {
        received += chunk.size();
        ctx.out.Progress(absl::StrCat("received ", received >> 10, " KiB"));
        return file.Append(chunk);
      }));
  COFFER_RETURN_IF_ERROR(file.Commit());
  Json doc;
  doc["out"] = out;
  doc.update(WireSummaryJson(summary));
  ctx.out.Print(doc, absl::StrCat("Wrote backup ", summary.backup_id(), " to ",
                                  out, "."));
  return absl::OkStatus();
}

absl::Status HsmRestore(Context& ctx) {
  const std::string in = ctx.args.Get("--in");
  // A damaged file is refused here, before anything is sent or asked.
  absl::StatusOr<backup::BackupSummary> local = CheckFile(in, "");
  if (!local.ok()) {
    if (ExitCodeOf(local.status()) == kExitUsage) return local.status();
    return NotABackup(in, local.status());
  }
  COFFER_ASSIGN_OR_RETURN(ConnectionConfig config,
                          ResolveConfig(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(Connection conn, Connection::Open(config));
  pb::Request info_request;
  info_request.mutable_get_info();
  COFFER_ASSIGN_OR_RETURN(pb::Response info, conn.Call(info_request));
  // An ACTIVE HSM takes a restore from an admin only; a commissioned or
  // tampered one has no users, and any client it admits may restore.
  const bool active = info.get_info().state() == pb::HSM_STATE_ACTIVE;
  if (active) {
    COFFER_ASSIGN_OR_RETURN(Session session, LoadSession(config.session_file));
    conn.set_session(session.token);
  }
  const backup::BackupHeader& h = local->header;
  COFFER_RETURN_IF_ERROR(Confirm(
      ctx.args,
      absl::StrCat("Replace every user and key on HSM ",
                   info.get_info().serial(), " with backup ",
                   HexEncode(h.backup_id), " of ", h.origin.serial, " (",
                   IsoUtc(h.created_at), ")? Every session ends")));
  COFFER_ASSIGN_OR_RETURN(FileChunks file, FileChunks::Open(in));
  uint64_t sent = 0;
  COFFER_ASSIGN_OR_RETURN(
      pb::BackupSummary summary,
      conn.RestoreBackup([&]() -> absl::StatusOr<Bytes> {
        COFFER_ASSIGN_OR_RETURN(Bytes chunk, file.Next());
        sent += chunk.size();
        ctx.out.Progress(absl::StrCat("sent ", sent >> 10, " KiB"));
        return chunk;
      }));
  // The restore ended every session, ours included.
  if (active) (void)RemoveSession(config.session_file);
  Json doc;
  doc["in"] = in;
  doc.update(WireSummaryJson(summary));
  ctx.out.Print(doc, absl::StrCat("Restored backup ", summary.backup_id(),
                                  ": every session ended; log in again."));
  return absl::OkStatus();
}

}  // namespace coffer::cli
