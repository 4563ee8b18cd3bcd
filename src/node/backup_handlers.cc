// Backups on the wire. Both operations stream over the connection the
// request came in on (hsm.proto, CreateBackupRequest/RestoreBackupRequest),
// so neither the HSM nor the client ever holds a whole backup in memory.
#include <memory>
#include <optional>
#include <string>

#include "backup/backup.h"
#include "base/log.h"
#include "base/status.h"
#include "node/internal/handlers.h"

namespace coffer::node::internal {
namespace {

absl::Status NoStream() {
  return absl::FailedPreconditionError(
      "backups stream over the HSM's TLS connection; this transport cannot");
}

void SummaryToProto(const backup::BackupHeader& header, uint64_t size_bytes,
                    pb::BackupSummary* out) {
  out->set_backup_id(HexEncode(header.backup_id));
  out->set_size_bytes(size_bytes);
  out->set_cluster_id(header.origin.cluster_id);
  out->set_source_serial(header.origin.serial);
  out->set_created_unix(header.created_at);
  out->set_log_position(header.origin.log_position);
  out->set_cluster_records(header.counts.cluster);
  out->set_policy_records(header.counts.policy);
  out->set_user_records(header.counts.users);
  out->set_object_records(header.counts.objects);
}

// The session's caller, or none when the request carries no session.
absl::StatusOr<std::optional<hsm::Caller>> OptionalCaller(Call& c) {
  if (c.request.session().empty()) return std::optional<hsm::Caller>();
  COFFER_ASSIGN_OR_RETURN(hsm::Caller caller,
                          c.hsm.Authenticate(c.request.session()));
  // A restore onto an ACTIVE HSM is under quorum control (hsm.h).
  caller.quorum_token = c.request.quorum_token();
  return std::optional<hsm::Caller>(std::move(caller));
}

const hsm::Caller* PointerTo(const std::optional<hsm::Caller>& caller) {
  return caller.has_value() ? &*caller : nullptr;
}

}  // namespace

absl::Status ServeCreateBackup(Call& c) {
  if (c.stream == nullptr) return NoStream();
  COFFER_ASSIGN_OR_RETURN(std::optional<hsm::Caller> caller, OptionalCaller(c));
  // Holds the HSM's reader lock until the last chunk is out: crypto goes
  // on meanwhile, mutations wait (hsm_backup.h).
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<hsm::BackupSnapshot> snapshot,
                          c.hsm.OpenBackupSnapshot(PointerTo(caller)));
  uint64_t size = 0;
  pb::Response chunk;  // reused: one allocation for the whole stream
  chunk.set_id(c.request.id());
  std::string wire;
  const backup::ByteSink sink = [&](ByteView bytes) -> absl::Status {
    size += bytes.size();
    chunk.mutable_backup_chunk()->set_data(bytes.data(), bytes.size());
    wire.clear();
    chunk.SerializeToString(&wire);
    return c.stream->Send(AsBytes(wire));
  };
  COFFER_ASSIGN_OR_RETURN(backup::BackupHeader header,
                          backup::CreateBackup(*snapshot, sink));
  snapshot.reset();
  SummaryToProto(header, size,
                 c.response.mutable_create_backup()->mutable_summary());
  Log("backup %s created by %s: %llu records, %llu bytes",
      HexEncode(header.backup_id).c_str(),
      caller ? caller->user.c_str() : "(no session)",
      static_cast<unsigned long long>(header.counts.total()),
      static_cast<unsigned long long>(size));
  return absl::OkStatus();
}

absl::Status ServeRestoreBackup(Call& c) {
  if (c.stream == nullptr) return NoStream();
  // Errors before the last chunk are kept, not returned: every chunk is
  // still read, so the connection stays in step and the client finds the
  // error in the one answer it waits for.
  absl::StatusOr<std::optional<hsm::Caller>> caller = OptionalCaller(c);
  absl::Status status = caller.status();
  std::unique_ptr<backup::Restorer> restorer;
  if (status.ok()) {
    restorer = std::make_unique<backup::Restorer>(c.hsm, PointerTo(*caller));
  }
  pb::Request chunk;
  for (bool last = false; !last;) {
    // A transport error ends the handler; the restorer's destructor
    // discards whatever was staged, so nothing changes.
    COFFER_ASSIGN_OR_RETURN(ByteView frame, c.stream->Receive());
    chunk.Clear();
    if (!chunk.ParseFromArray(frame.data(), static_cast<int>(frame.size())) ||
        !chunk.has_backup_chunk()) {
      return absl::InvalidArgumentError(
          "a restore takes backup_chunk requests until one with `last` set, "
          "and got something else: restore aborted, nothing changed");
    }
    last = chunk.backup_chunk().last();
    if (!status.ok()) continue;
    status = restorer->Feed(AsBytes(chunk.backup_chunk().data()));
    if (!status.ok()) restorer.reset();  // free the staged state now
  }
  COFFER_RETURN_IF_ERROR(status);
  COFFER_ASSIGN_OR_RETURN(backup::BackupSummary summary, restorer->Finish());
  restorer.reset();
  // The restored cluster identity brings its own TLS certificate and
  // client trust anchors.
  if (c.hooks.credentials_changed) c.hooks.credentials_changed();
  SummaryToProto(summary.header, summary.size_bytes,
                 c.response.mutable_restore_backup()->mutable_summary());
  Log("backup %s of %s restored (%s): every session ended",
      HexEncode(summary.header.backup_id).c_str(),
      summary.header.origin.serial.c_str(),
      *caller ? (*caller)->user.c_str() : "no session");
  return absl::OkStatus();
}

}  // namespace coffer::node::internal
