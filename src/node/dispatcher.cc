#include "node/dispatcher.h"

#include "base/status.h"
#include "hsm/cluster_sync.h"
#include "hsm/quorum.h"
#include "hsm/user_manager.h"
#include "node/convert.h"
#include "node/internal/handlers.h"

namespace coffer::node {
namespace internal {
namespace {

absl::Status GetInfo(Call& c) {
  hsm::HsmInfo info = c.hsm.Info();
  pb::GetInfoResponse* out = c.response.mutable_get_info();
  out->set_manufacturer_id(info.manufacturer_id);
  out->set_serial(info.serial);
  out->set_firmware_version(info.firmware_version);
  out->set_mode(ToProto(info.mode));
  out->set_state(ToProto(info.state));
  out->set_cluster_id(info.cluster_id);
  out->set_tamper_reason(info.tamper_reason);
  out->set_sessions(static_cast<uint32_t>(info.sessions));
  out->set_keys(static_cast<uint32_t>(info.keys));
  out->set_users(static_cast<uint32_t>(info.users));
  out->set_log_position(info.log_position);
  out->set_sync_error(info.sync_error);
  if (c.hooks.load) {
    Load load = c.hooks.load();
    out->set_requests_in_flight(load.requests_in_flight);
    out->set_connections(load.connections);
  }
  return absl::OkStatus();
}

void CredentialsChanged(Call& c) {
  if (c.hooks.credentials_changed) c.hooks.credentials_changed();
}

absl::Status Commission(Call& c) {
  if (c.request.has_begin_commission()) {
    const pb::BeginCommissionRequest& r = c.request.begin_commission();
    COFFER_ASSIGN_OR_RETURN(hsm::Mode mode, FromProto(r.mode()));
    COFFER_RETURN_IF_ERROR(c.hsm.BeginCommission(
        mode, r.component_count(), r.combined_kcv(), r.service_ca_pem()));
    c.response.mutable_begin_commission();
    return absl::OkStatus();
  }
  pb::AddAkbkComponentRequest* r = c.request.mutable_add_akbk_component();
  COFFER_ASSIGN_OR_RETURN(
      uint32_t missing,
      c.hsm.AddAkbkComponent(r->custodian(), TakeSecret(r->mutable_component()),
                             r->kcv()));
  c.response.mutable_add_akbk_component()->set_components_missing(missing);
  if (missing == 0) CredentialsChanged(c);
  return absl::OkStatus();
}

absl::Status ClusterIdentity(Call& c) {
  if (c.request.has_create_cluster_csr()) {
    COFFER_ASSIGN_OR_RETURN(
        std::string csr,
        c.hsm.CreateClusterCsr(c.request.create_cluster_csr().cluster_id()));
    c.response.mutable_create_cluster_csr()->set_csr_pem(std::move(csr));
    return absl::OkStatus();
  }
  const pb::InstallClusterCertificateRequest& r =
      c.request.install_cluster_certificate();
  COFFER_RETURN_IF_ERROR(c.hsm.InstallClusterCertificate(
      r.cluster_cert_pem(), r.customer_anchor_pem()));
  c.response.mutable_install_cluster_certificate();
  CredentialsChanged(c);
  return absl::OkStatus();
}

absl::Status Sessions(Call& c) {
  if (c.request.has_activate()) {
    COFFER_RETURN_IF_ERROR(c.hsm.Activate(
        TakeSecret(c.request.mutable_activate()->mutable_admin_password())));
    c.response.mutable_activate();
    return absl::OkStatus();
  }
  if (c.request.has_login()) {
    pb::LoginRequest* r = c.request.mutable_login();
    COFFER_ASSIGN_OR_RETURN(
        std::string token,
        c.hsm.Login(r->user(), TakeSecret(r->mutable_password())));
    COFFER_ASSIGN_OR_RETURN(hsm::Caller caller, c.hsm.Authenticate(token));
    c.response.mutable_login()->set_session(std::move(token));
    c.response.mutable_login()->set_role(ToProto(caller.role));
    return absl::OkStatus();
  }
  if (c.request.has_service_login()) {
    if (c.peer == nullptr) {
      return absl::PermissionDeniedError(
          "a service session needs the connection's client certificate");
    }
    COFFER_ASSIGN_OR_RETURN(std::string token,
                            c.hsm.ServiceLogin(c.peer->certificate_der));
    c.response.mutable_login()->set_session(std::move(token));
    c.response.mutable_login()->set_role(pb::ROLE_APPLIANCE_USER);
    return absl::OkStatus();
  }
  COFFER_RETURN_IF_ERROR(c.hsm.Logout(c.request.session()));
  c.response.mutable_logout();
  return absl::OkStatus();
}

absl::Status Users(Call& c, const hsm::Caller& caller) {
  hsm::UserManager& users = c.hsm.users();
  switch (c.request.op_case()) {
    case pb::Request::kCreateUser: {
      pb::CreateUserRequest* r = c.request.mutable_create_user();
      COFFER_ASSIGN_OR_RETURN(hsm::Role role, FromProto(r->role()));
      COFFER_RETURN_IF_ERROR(users.CreateUser(
          caller, r->name(), role, TakeSecret(r->mutable_password())));
      c.response.mutable_create_user();
      return absl::OkStatus();
    }
    case pb::Request::kDeleteUser:
      COFFER_RETURN_IF_ERROR(
          users.DeleteUser(caller, c.request.delete_user().name()));
      c.response.mutable_delete_user();
      return absl::OkStatus();
    case pb::Request::kListUsers: {
      COFFER_ASSIGN_OR_RETURN(std::vector<hsm::UserInfo> list,
                              users.ListUsers(caller));
      pb::ListUsersResponse* out = c.response.mutable_list_users();
      for (const hsm::UserInfo& u : list) {
        pb::UserInfo* info = out->add_users();
        info->set_name(u.name);
        info->set_role(ToProto(u.role));
        info->set_locked(u.locked);
        info->set_failed_logins(u.failed_logins);
        info->set_has_quorum_key(u.has_quorum_key);
      }
      return absl::OkStatus();
    }
    case pb::Request::kChangePassword: {
      pb::ChangePasswordRequest* r = c.request.mutable_change_password();
      COFFER_RETURN_IF_ERROR(users.ChangePassword(
          caller, r->name(), TakeSecret(r->mutable_new_password())));
      c.response.mutable_change_password();
      return absl::OkStatus();
    }
    case pb::Request::kUnlockUser:
      COFFER_RETURN_IF_ERROR(
          users.UnlockUser(caller, c.request.unlock_user().name()));
      c.response.mutable_unlock_user();
      return absl::OkStatus();
    case pb::Request::kSetLockoutPolicy:
      COFFER_RETURN_IF_ERROR(users.SetMaxFailedLogins(
          caller, c.request.set_lockout_policy().max_failed_logins()));
      c.response.mutable_set_lockout_policy();
      return absl::OkStatus();
    default:
      return absl::InternalError("not a user operation");
  }
}

absl::StatusOr<hsm::QuorumService> ServiceFromProto(pb::QuorumService s) {
  switch (s) {
    case pb::QUORUM_SERVICE_USER_MANAGEMENT:
      return hsm::QuorumService::kUserManagement;
    case pb::QUORUM_SERVICE_QUORUM_CHANGES:
      return hsm::QuorumService::kQuorumChanges;
    case pb::QUORUM_SERVICE_KEY_USE:
      return hsm::QuorumService::kKeyUse;
    default:
      return absl::InvalidArgumentError("a quorum service is required");
  }
}

void TokenToProto(const hsm::QuorumToken& t, pb::QuorumToken* out) {
  out->set_id(t.id);
  out->set_service(
      static_cast<pb::QuorumService>(static_cast<int>(t.service) + 1));
  out->set_requested_by(t.requested_by);
  out->set_expires_unix(t.expires_unix);
  out->set_challenge(std::string(t.challenge.begin(), t.challenge.end()));
  for (const std::string& a : t.approvers) out->add_approvers(a);
  out->set_required(t.required);
}

absl::Status Quorum(Call& c, const hsm::Caller& caller) {
  hsm::QuorumManager& quorum = c.hsm.quorum();
  switch (c.request.op_case()) {
    case pb::Request::kRegisterQuorumKey:
      COFFER_RETURN_IF_ERROR(quorum.RegisterKey(
          caller, AsBytes(c.request.register_quorum_key().public_key_der())));
      c.response.mutable_register_quorum_key();
      return absl::OkStatus();
    case pb::Request::kSetQuorum: {
      COFFER_ASSIGN_OR_RETURN(
          hsm::QuorumService service,
          ServiceFromProto(c.request.set_quorum().service()));
      COFFER_RETURN_IF_ERROR(
          quorum.SetQuorum(caller, service, c.request.set_quorum().m()));
      c.response.mutable_set_quorum();
      return absl::OkStatus();
    }
    case pb::Request::kCreateQuorumToken: {
      COFFER_ASSIGN_OR_RETURN(
          hsm::QuorumService service,
          ServiceFromProto(c.request.create_quorum_token().service()));
      COFFER_ASSIGN_OR_RETURN(hsm::QuorumToken token,
                              quorum.CreateToken(caller, service));
      TokenToProto(token,
                   c.response.mutable_create_quorum_token()->mutable_token());
      return absl::OkStatus();
    }
    case pb::Request::kApproveQuorumToken: {
      const pb::ApproveQuorumTokenRequest& r = c.request.approve_quorum_token();
      COFFER_ASSIGN_OR_RETURN(
          hsm::QuorumToken token,
          quorum.Approve(r.token_id(), r.admin(), AsBytes(r.signature())));
      TokenToProto(token,
                   c.response.mutable_approve_quorum_token()->mutable_token());
      return absl::OkStatus();
    }
    case pb::Request::kListQuorum: {
      pb::ListQuorumResponse* out = c.response.mutable_list_quorum();
      out->set_user_management(
          quorum.Quorum(hsm::QuorumService::kUserManagement));
      out->set_quorum_changes(
          quorum.Quorum(hsm::QuorumService::kQuorumChanges));
      out->set_key_use(quorum.Quorum(hsm::QuorumService::kKeyUse));
      for (const hsm::QuorumToken& t : quorum.ListTokens()) {
        TokenToProto(t, out->add_tokens());
      }
      return absl::OkStatus();
    }
    default:
      return absl::InternalError("not a quorum operation");
  }
}

}  // namespace

absl::Status ServeLifecycleOrUsers(Call& c) {
  switch (c.request.op_case()) {
    case pb::Request::kGetInfo:
      return GetInfo(c);
    case pb::Request::kBeginCommission:
    case pb::Request::kAddAkbkComponent:
      return Commission(c);
    case pb::Request::kCreateClusterCsr:
    case pb::Request::kInstallClusterCertificate:
      return ClusterIdentity(c);
    case pb::Request::kActivate:
    case pb::Request::kLogin:
    case pb::Request::kLogout:
    case pb::Request::kServiceLogin:
      return Sessions(c);
    case pb::Request::kCreateBackup:
      return ServeCreateBackup(c);
    case pb::Request::kRestoreBackup:
      return ServeRestoreBackup(c);
    case pb::Request::kBackupChunk:
      return absl::InvalidArgumentError(
          "a backup chunk outside a restore: start one with restore_backup");
    case pb::Request::OP_NOT_SET:
      return absl::InvalidArgumentError(
          "the request names no operation (is the client newer than this "
          "HSM?)");
    default:
      break;
  }
  // Everything else needs a session.
  COFFER_ASSIGN_OR_RETURN(hsm::Caller caller,
                          c.hsm.Authenticate(c.request.session()));
  caller.quorum_token = c.request.quorum_token();
  switch (c.request.op_case()) {
    case pb::Request::kRegisterQuorumKey:
    case pb::Request::kSetQuorum:
    case pb::Request::kCreateQuorumToken:
    case pb::Request::kApproveQuorumToken:
    case pb::Request::kListQuorum:
      return Quorum(c, caller);
    case pb::Request::kCreateUser:
    case pb::Request::kDeleteUser:
    case pb::Request::kListUsers:
    case pb::Request::kChangePassword:
    case pb::Request::kUnlockUser:
    case pb::Request::kSetLockoutPolicy:
      return Users(c, caller);
    default:
      return ServeKeys(c, caller);
  }
}

}  // namespace internal

namespace {

// How often a change that keeps losing the race for the log is retried
// before the client hears Aborted (each loss means another HSM's change
// went in, so the cluster as a whole makes progress).
constexpr int kMaxLogConflicts = 32;

// Requests never run twice: streams (their frames are gone), and a login,
// whose refusal may have counted a failed attempt (Hsm::Login catches up
// with the log itself before calling a user unknown).
bool RunOnce(const internal::pb::Request& request) {
  return request.has_create_backup() || request.has_restore_backup() ||
         request.has_backup_chunk() || request.has_login();
}

bool LostLogRace(const absl::Status& status) {
  return absl::IsAborted(status) &&
         status.message() == hsm::kLogConflictMessage;
}

// Codes a stale replica could cause: the key, user, session owner or
// share the request names may be newer than this HSM's copy.
bool MaybeStale(const absl::Status& status) {
  return absl::IsNotFound(status) || absl::IsUnauthenticated(status) ||
         absl::IsPermissionDenied(status) || absl::IsFailedPrecondition(status);
}

}  // namespace

Bytes Dispatcher::Handle(ByteView frame, net::FrameStream* stream,
                         const net::PeerIdentity* peer) {
  internal::pb::Request request;
  internal::pb::Response response;
  absl::Status status;
  bool caught_up = false;
  for (int attempt = 0;; ++attempt) {
    request.Clear();
    response.Clear();
    if (!request.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
      status = absl::InvalidArgumentError(
          "malformed request: not a coffer.hsm.v1.Request message");
      break;
    }
    response.set_id(request.id());
    internal::Call call{hsm_, hooks_, request, response, stream, peer};
    status = internal::ServeLifecycleOrUsers(call);
    if (status.ok() || RunOnce(request)) break;
    if (LostLogRace(status)) {
      if (attempt < kMaxLogConflicts) continue;
      break;
    }
    if (caught_up || !MaybeStale(status)) break;
    caught_up = true;
    const uint64_t before = hsm_.Info().log_position;
    absl::StatusOr<uint64_t> after = hsm_.CatchUp();
    if (!after.ok() || *after == before) break;
  }
  if (!status.ok()) response.clear_result();
  *response.mutable_status() = ToProto(status);
  Bytes out(response.ByteSizeLong());
  response.SerializeWithCachedSizesToArray(out.data());
  return out;
}

}  // namespace coffer::node
