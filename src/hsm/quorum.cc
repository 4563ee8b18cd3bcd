#include "hsm/quorum.h"

#include <algorithm>
#include <shared_mutex>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "base/tlv.h"
#include "crypto/asymmetric.h"
#include "crypto/random.h"
#include "hsm/internal/core.h"

namespace coffer::hsm {
namespace {

constexpr uint32_t kMaxQuorum = 16;
constexpr size_t kMaxTokens = 64;

uint32_t PolicyM(const PolicyRecord& policy, QuorumService service) {
  switch (service) {
    case QuorumService::kUserManagement:
      return policy.quorum_user_management;
    case QuorumService::kQuorumChanges:
      return policy.quorum_changes;
    case QuorumService::kKeyUse:
      return policy.quorum_key_use;
  }
  return 1;
}

absl::Status RequireAdmin(const Caller& caller) {
  if (caller.role != Role::kAdmin) {
    return absl::PermissionDeniedError(
        "only admins take part in quorum authentication");
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view QuorumServiceName(QuorumService service) {
  switch (service) {
    case QuorumService::kUserManagement:
      return "user-management";
    case QuorumService::kQuorumChanges:
      return "quorum-changes";
    case QuorumService::kKeyUse:
      return "key-use";
  }
  return "unknown";
}

absl::Status QuorumManager::RegisterKey(const Caller& caller,
                                        ByteView public_key_der) {
  COFFER_RETURN_IF_ERROR(RequireAdmin(caller));
  COFFER_ASSIGN_OR_RETURN(crypto::PublicKey key,
                          crypto::PublicKey::FromDer(public_key_der));
  if (key.algorithm() != crypto::KeyAlgorithm::kEcP256) {
    return absl::InvalidArgumentError(
        "a quorum approval key must be an EC P-256 public key");
  }
  std::unique_lock lock(core_.mu);
  auto it = core_.users.find(caller.user);
  if (it == core_.users.end()) return absl::NotFoundError("no such user");
  UserRecord user = it->second;
  user.quorum_key_der = Bytes(public_key_der.begin(), public_key_der.end());
  std::vector<store::RecordWrite> writes;
  writes.push_back({kUserKind, user.name, Encode(user)});
  return core_.CommitState(std::move(writes));
}

uint32_t QuorumManager::Quorum(QuorumService service) const {
  std::shared_lock lock(core_.mu);
  return PolicyM(core_.policy, service);
}

absl::Status QuorumManager::SetQuorum(const Caller& caller,
                                      QuorumService service, uint32_t m) {
  COFFER_RETURN_IF_ERROR(RequireAdmin(caller));
  if (m < 1 || m > kMaxQuorum) {
    return absl::InvalidArgumentError(
        absl::StrCat("a quorum must be 1 to ", kMaxQuorum));
  }
  {
    std::shared_lock lock(core_.mu);
    uint32_t keyed = 0;
    for (const auto& [name, u] : core_.users) {
      keyed += u.role == Role::kAdmin && !u.quorum_key_der.empty();
    }
    if (m > 1 && m > keyed) {
      return absl::FailedPreconditionError(absl::StrCat(
          "a quorum of ", m, " needs at least ", m,
          " admins with registered quorum keys; there are ", keyed));
    }
  }
  COFFER_RETURN_IF_ERROR(Require(caller, QuorumService::kQuorumChanges));
  std::unique_lock lock(core_.mu);
  PolicyRecord policy = core_.policy;
  switch (service) {
    case QuorumService::kUserManagement:
      policy.quorum_user_management = m;
      break;
    case QuorumService::kQuorumChanges:
      policy.quorum_changes = m;
      break;
    case QuorumService::kKeyUse:
      policy.quorum_key_use = m;
      break;
  }
  std::vector<store::RecordWrite> writes;
  writes.push_back({kPolicyKind, "policy", Encode(policy)});
  return core_.CommitState(std::move(writes));
}

absl::StatusOr<QuorumToken> QuorumManager::CreateToken(const Caller& caller,
                                                       QuorumService service) {
  QuorumToken token;
  COFFER_ASSIGN_OR_RETURN(Bytes id, crypto::RandomBytes(16));
  token.id = HexEncode(id);
  token.service = service;
  token.requested_by = caller.user;
  std::string cluster_id;
  {
    std::shared_lock lock(core_.mu);
    token.expires_unix = core_.now() + kQuorumTokenLifetimeSeconds;
    token.required = PolicyM(core_.policy, service);
    if (core_.cluster) cluster_id = core_.cluster->cluster_id;
  }
  ZeroizingBuffer challenge =
      TlvWriter()
          .String(1, "coffer.quorum.token.v1")
          .String(2, token.id)
          .String(3, std::string(QuorumServiceName(service)))
          .String(4, cluster_id)
          .String(5, token.requested_by)
          .U64(6, static_cast<uint64_t>(token.expires_unix))
          .Finish();
  token.challenge = Bytes(challenge.begin(), challenge.end());
  std::lock_guard lock(mu_);
  const int64_t now = core_.now();
  std::erase_if(tokens_,
                [now](const auto& t) { return t.second.expires_unix <= now; });
  if (tokens_.size() >= kMaxTokens) {
    return absl::ResourceExhaustedError(
        "too many open quorum tokens; let some expire");
  }
  tokens_[token.id] = token;
  return token;
}

absl::StatusOr<QuorumToken> QuorumManager::Approve(std::string_view token_id,
                                                   std::string_view admin,
                                                   ByteView signature) {
  Bytes key_der;
  {
    std::shared_lock lock(core_.mu);
    auto it = core_.users.find(std::string(admin));
    if (it == core_.users.end() || it->second.role != Role::kAdmin ||
        it->second.quorum_key_der.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("'", std::string(admin),
                       "' is not an admin with a registered quorum key"));
    }
    key_der = it->second.quorum_key_der;
  }
  COFFER_ASSIGN_OR_RETURN(crypto::PublicKey key,
                          crypto::PublicKey::FromDer(key_der));
  std::lock_guard lock(mu_);
  auto it = tokens_.find(std::string(token_id));
  if (it == tokens_.end() || it->second.expires_unix <= core_.now()) {
    return absl::FailedPreconditionError(
        "no such quorum token (it may have expired after 10 minutes)");
  }
  QuorumToken& token = it->second;
  const crypto::SignatureParams params{crypto::SignatureAlgorithm::kEcdsaDer,
                                       crypto::HashAlg::kSha256};
  if (!key.Verify(params, token.challenge, signature).ok()) {
    return absl::DataLossError(
        absl::StrCat("the approval signature of '", std::string(admin),
                     "' does not verify over this token's challenge"));
  }
  if (std::find(token.approvers.begin(), token.approvers.end(), admin) ==
      token.approvers.end()) {
    token.approvers.emplace_back(admin);
  }
  return token;
}

std::vector<QuorumToken> QuorumManager::ListTokens() const {
  std::lock_guard lock(mu_);
  std::vector<QuorumToken> out;
  for (const auto& [id, token] : tokens_) out.push_back(token);
  return out;
}

absl::Status QuorumManager::Require(const Caller& caller,
                                    QuorumService service) {
  const uint32_t m = Quorum(service);
  if (m <= 1) return absl::OkStatus();
  const std::string name(QuorumServiceName(service));
  if (caller.quorum_token.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        name, " is under quorum control (", m,
        " admins): create a quorum token, have it approved, and pass it"));
  }
  std::lock_guard lock(mu_);
  auto it = tokens_.find(caller.quorum_token);
  if (it == tokens_.end() || it->second.expires_unix <= core_.now() ||
      it->second.service != service) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the quorum token is unknown, expired, or not for ", name));
  }
  if (it->second.approvers.size() < m) {
    return absl::PermissionDeniedError(
        absl::StrCat("the quorum token has ", it->second.approvers.size(),
                     " of the ", m, " approvals ", name, " needs"));
  }
  if (service != QuorumService::kKeyUse) {
    tokens_.erase(it);
  } else if (it->second.requested_by != caller.user) {
    return absl::PermissionDeniedError(
        "a key-use quorum token serves only the user who requested it");
  }
  return absl::OkStatus();
}

void QuorumManager::ForgetTokens() {
  std::lock_guard lock(mu_);
  tokens_.clear();
}

}  // namespace coffer::hsm
