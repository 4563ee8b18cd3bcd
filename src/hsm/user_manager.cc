#include "hsm/user_manager.h"

#include <mutex>
#include <shared_mutex>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/password.h"
#include "hsm/internal/core.h"
#include "hsm/internal/key_util.h"

namespace coffer::hsm {
namespace {

using crypto::SecretBytes;

constexpr size_t kMaxUserName = 32;
constexpr size_t kMinPassword = 8;
constexpr size_t kMaxPassword = 128;

absl::Status RequireAdmin(const Caller& caller, std::string_view what) {
  if (caller.role != Role::kAdmin) {
    return absl::PermissionDeniedError(absl::StrCat(
        "only an admin may ", std::string(what), "; '", caller.user, "' is a ",
        std::string(RoleName(caller.role))));
  }
  return absl::OkStatus();
}

absl::Status CommitUser(internal::Core& core, const UserRecord& user) {
  std::vector<store::RecordWrite> writes;
  writes.push_back({kUserKind, user.name, Encode(user)});
  return core.CommitState(std::move(writes));
}

absl::StatusOr<UserRecord> FindUser(const internal::Core& core,
                                    std::string_view name) {
  auto it = core.users.find(std::string(name));
  if (it == core.users.end()) {
    return absl::NotFoundError(
        absl::StrCat("no user named '", std::string(name), "'"));
  }
  return it->second;
}

void EndSessionsOf(internal::Core& core, std::string_view user,
                   std::string_view keep_session) {
  for (auto it = core.sessions.begin(); it != core.sessions.end();) {
    if (it->second.user == user && it->first != keep_session) {
      it = core.sessions.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace

absl::Status CheckUserName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxUserName && name[0] != '.' &&
            name[0] != '-' && name[0] != '_';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '_' || c == '-');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "user names are 1-", kMaxUserName,
        " characters of a-z, 0-9, '.', '_' and '-', starting with a letter or "
        "digit"));
  }
  if (name == "service") {
    return absl::InvalidArgumentError(
        "the user name 'service' is reserved for the service's session");
  }
  return absl::OkStatus();
}

absl::Status CheckPasswordStrength(const SecretBytes& password) {
  if (password.size() < kMinPassword || password.size() > kMaxPassword) {
    return absl::InvalidArgumentError(
        absl::StrCat("passwords must be ", kMinPassword, " to ", kMaxPassword,
                     " bytes long"));
  }
  return absl::OkStatus();
}

absl::Status UserManager::CreateUser(const Caller& caller,
                                     std::string_view name, Role role,
                                     const SecretBytes& password) {
  COFFER_RETURN_IF_ERROR(RequireAdmin(caller, "create users"));
  COFFER_RETURN_IF_ERROR(
      quorum_.Require(caller, QuorumService::kUserManagement));
  COFFER_RETURN_IF_ERROR(CheckUserName(name));
  COFFER_RETURN_IF_ERROR(CheckPasswordStrength(password));
  // Hash outside the lock: it is deliberately slow.
  COFFER_ASSIGN_OR_RETURN(
      std::string hash, crypto::HashPassword(password, core_.password_params));
  std::unique_lock lock(core_.mu);
  if (core_.users.count(std::string(name)) != 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("a user named '", std::string(name), "' already exists"));
  }
  UserRecord user;
  user.name = std::string(name);
  user.role = role;
  user.password_hash = std::move(hash);
  return CommitUser(core_, user);
}

absl::Status UserManager::DeleteUser(const Caller& caller,
                                     std::string_view name) {
  COFFER_RETURN_IF_ERROR(RequireAdmin(caller, "delete users"));
  COFFER_RETURN_IF_ERROR(
      quorum_.Require(caller, QuorumService::kUserManagement));
  std::unique_lock lock(core_.mu);
  COFFER_ASSIGN_OR_RETURN(UserRecord user, FindUser(core_, name));
  if (user.name == caller.user) {
    return absl::PermissionDeniedError("you cannot delete yourself");
  }
  if (user.role == Role::kAdmin) {
    size_t admins = 0;
    for (const auto& [n, u] : core_.users) admins += u.role == Role::kAdmin;
    if (admins <= 1) {
      return absl::PermissionDeniedError("the last admin cannot be deleted");
    }
  }
  size_t owned = 0;
  for (const auto& [handle, key] : core_.keys) {
    owned += key.attributes.owner == user.name;
  }
  if (owned > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "user '", std::string(name), "' owns ", owned,
        " keys; delete them first so no key is left without an owner"));
  }
  // The user's shares go in the same commit, so a later user of the same
  // name cannot inherit them.
  std::vector<store::RecordWrite> writes =
      internal::DropSharesOf(core_, user.name);
  writes.push_back({kUserKind, user.name, std::nullopt});
  COFFER_RETURN_IF_ERROR(core_.CommitState(std::move(writes)));
  EndSessionsOf(core_, user.name, "");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<UserInfo>> UserManager::ListUsers(
    const Caller& /*caller*/) const {
  std::shared_lock lock(core_.mu);
  std::vector<UserInfo> out;
  for (const auto& [name, u] : core_.users) {
    out.push_back(
        {u.name, u.role, u.locked, u.failed_logins, !u.quorum_key_der.empty()});
  }
  return out;
}

absl::Status UserManager::ChangePassword(const Caller& caller,
                                         std::string_view name,
                                         const SecretBytes& new_password) {
  if (caller.user != name) {
    COFFER_RETURN_IF_ERROR(
        RequireAdmin(caller, "change another user's password"));
    COFFER_RETURN_IF_ERROR(
        quorum_.Require(caller, QuorumService::kUserManagement));
  }
  COFFER_RETURN_IF_ERROR(CheckPasswordStrength(new_password));
  COFFER_ASSIGN_OR_RETURN(
      std::string hash,
      crypto::HashPassword(new_password, core_.password_params));
  std::unique_lock lock(core_.mu);
  COFFER_ASSIGN_OR_RETURN(UserRecord user, FindUser(core_, name));
  user.password_hash = std::move(hash);
  user.failed_logins = 0;
  COFFER_RETURN_IF_ERROR(CommitUser(core_, user));
  EndSessionsOf(core_, user.name, caller.session_key);
  return absl::OkStatus();
}

absl::Status UserManager::UnlockUser(const Caller& caller,
                                     std::string_view name) {
  COFFER_RETURN_IF_ERROR(RequireAdmin(caller, "unlock users"));
  COFFER_RETURN_IF_ERROR(
      quorum_.Require(caller, QuorumService::kUserManagement));
  std::unique_lock lock(core_.mu);
  COFFER_ASSIGN_OR_RETURN(UserRecord user, FindUser(core_, name));
  user.locked = false;
  user.failed_logins = 0;
  return CommitUser(core_, user);
}

absl::Status UserManager::SetMaxFailedLogins(const Caller& caller,
                                             uint32_t max) {
  COFFER_RETURN_IF_ERROR(RequireAdmin(caller, "change the lockout policy"));
  if (max < 1 || max > 100) {
    return absl::InvalidArgumentError(
        "the failed-login limit must be 1 to 100");
  }
  std::unique_lock lock(core_.mu);
  PolicyRecord policy = core_.policy;
  policy.max_failed_logins = max;
  std::vector<store::RecordWrite> writes;
  writes.push_back({kPolicyKind, "policy", Encode(policy)});
  return core_.CommitState(std::move(writes));
}

}  // namespace coffer::hsm
