#include "hsm/hsm.h"

#include <chrono>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "crypto/kcv.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "hsm/internal/core.h"
#include "hsm/key_manager.h"
#include "hsm/quorum.h"
#include "hsm/user_manager.h"

namespace coffer::hsm {

using crypto::SecretBytes;
using internal::Core;

namespace {

constexpr char kInitialAdmin[] = "admin";
// The service's session user; not a stored user, so no password exists.
constexpr char kServiceUser[] = "service";
constexpr uint32_t kMaxComponents = 9;

int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status WrongState(HsmState have, std::string_view step) {
  return absl::FailedPreconditionError(
      absl::StrCat(std::string(step), " is not allowed in state ",
                   std::string(StateName(have))));
}

std::string SessionKey(std::string_view token) {
  return HexEncode(crypto::Digest(crypto::HashAlg::kSha256, AsBytes(token))
                       .value_or(Bytes()));
}

}  // namespace

namespace internal {

// The state implied by what is stored.
HsmState DeriveState(const Core& core) {
  if (!core.commission) return HsmState::kUncommissioned;
  if (!core.cluster || core.cluster->cluster_cert_pem.empty()) {
    return HsmState::kCommissioned;
  }
  auto admin = core.users.find(kInitialAdmin);
  if (admin == core.users.end() || admin->second.password_hash.empty()) {
    return HsmState::kUnactivated;
  }
  return HsmState::kActive;
}

}  // namespace internal

using internal::DeriveState;

struct Hsm::Ceremony {
  Mode mode = Mode::kNonFips;
  uint32_t expected = 0;
  std::string combined_kcv;
  std::string service_ca_pem;
  std::set<std::string> custodians;
  SecretBytes combined;
};

std::string_view StateName(HsmState state) {
  switch (state) {
    case HsmState::kUncommissioned:
      return "UNCOMMISSIONED";
    case HsmState::kCommissioned:
      return "COMMISSIONED";
    case HsmState::kUnactivated:
      return "UNACTIVATED";
    case HsmState::kActive:
      return "ACTIVE";
    case HsmState::kTampered:
      return "TAMPERED";
  }
  return "UNKNOWN";
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kCryptoUser:
      return "crypto-user";
    case Role::kApplianceUser:
      return "appliance-user";
  }
  return "unknown";
}

absl::Status Hsm::Manufacture(store::SealedStore& device_store,
                              const DeviceRecord& device) {
  COFFER_ASSIGN_OR_RETURN(auto existing, device_store.LoadAll());
  if (!existing.empty()) {
    return absl::FailedPreconditionError(
        "this device store already holds a device identity");
  }
  std::vector<store::RecordWrite> writes;
  writes.push_back({kDeviceKind, "identity", Encode(device)});
  return device_store.Commit(std::move(writes)).status();
}

Hsm::Hsm(std::unique_ptr<Core> core)
    : core_(std::move(core)),
      quorum_(std::make_unique<QuorumManager>(*core_)),
      users_(std::make_unique<UserManager>(*core_, *quorum_)),
      keys_(std::make_unique<KeyManager>(*core_, *quorum_)),
      ceremony_(std::make_unique<Ceremony>()) {}

Hsm::~Hsm() = default;

absl::StatusOr<std::unique_ptr<Hsm>> Hsm::Open(
    std::unique_ptr<store::SealedStore> device_store,
    std::unique_ptr<store::SealedStore> state_store, HsmOptions options) {
  auto core = std::make_unique<Core>();
  core->device_store = std::move(device_store);
  core->state_store = std::move(state_store);
  core->password_params = options.password_params;
  core->now = options.now ? std::move(options.now) : SystemNow;
  std::unique_ptr<Hsm> hsm(new Hsm(std::move(core)));
  COFFER_RETURN_IF_ERROR(hsm->Load());
  return hsm;
}

absl::Status Hsm::Load() {
  std::unique_lock lock(core_->mu);
  COFFER_ASSIGN_OR_RETURN(auto device_records, core_->device_store->LoadAll());
  for (const store::StoredRecord& r : device_records) {
    COFFER_RETURN_IF_ERROR(core_->Apply(r.kind, r.id, &r.payload));
  }
  if (!core_->device) {
    return absl::FailedPreconditionError(
        "this HSM has no device identity: run the factory's manufacture step");
  }
  absl::StatusOr<std::vector<store::StoredRecord>> state_records =
      core_->state_store->LoadAll();
  absl::Status applied = state_records.status();
  if (applied.ok()) {
    for (const store::StoredRecord& r : *state_records) {
      applied = core_->Apply(r.kind, r.id, &r.payload);
      if (!applied.ok()) break;
    }
  }
  if (!applied.ok()) {
    lock.unlock();
    TamperResponse(absl::StrCat("stored state failed authentication: ",
                                applied.message()));
    return absl::OkStatus();
  }
  // A restore that committed its state and then crashed before clearing
  // the tamper marker: the state store moved past the erase and holds a
  // cluster, which only a restore can write while TAMPERED.
  const bool restored_after_tamper =
      !core_->tamper_reason.empty() && core_->tamper_erased_generation &&
      core_->cluster &&
      core_->state_store->generation() > *core_->tamper_erased_generation;
  if (!core_->tamper_reason.empty() && !restored_after_tamper) {
    // Tampered in an earlier run: stay so until a backup is restored.
    lock.unlock();
    TamperResponse(core_->tamper_reason);
    return absl::OkStatus();
  }
  lock.unlock();
  return CompleteInterruptedRestore();
}

absl::Status Hsm::CompleteInterruptedRestore() {
  std::unique_lock lock(core_->mu);
  return internal::SettleAfterRestore(*core_);
}

HsmInfo Hsm::Info() const {
  std::shared_lock lock(core_->mu);
  HsmInfo info;
  info.manufacturer_id = core_->device->manufacturer_id;
  info.serial = core_->device->serial;
  info.firmware_version = core_->device->firmware_version;
  if (core_->cluster) info.cluster_id = core_->cluster->cluster_id;
  if (core_->commission) info.mode = core_->commission->mode;
  info.state = core_->state;
  info.tamper_reason = core_->tamper_reason;
  info.users = core_->users.size();
  info.keys = core_->keys.size();
  info.sessions = core_->sessions.size();
  if (core_->cluster) info.log_position = core_->cluster->log_position;
  info.sync_error = core_->sync_error;
  return info;
}

void Hsm::TamperResponse(std::string_view reason) {
  std::unique_lock lock(core_->mu);
  core_->users.clear();
  core_->keys.clear();
  core_->private_keys.clear();
  core_->sessions.clear();
  quorum_->ForgetTokens();
  core_->cluster.reset();
  core_->tls.reset();
  core_->policy = PolicyRecord();
  core_->state = HsmState::kTampered;
  core_->tamper_reason = std::string(reason);
  // Erase the stored cluster secrets too, and remember the tamper across
  // restarts. If even that fails the secrets are still gone from memory and
  // the state stays TAMPERED for this run.
  const bool erased = core_->state_store->ReplaceAll({}).ok();
  std::vector<store::RecordWrite> marker;
  marker.push_back({kTamperKind, kTamperReasonId,
                    SecretBytes::CopyOf(AsBytes(core_->tamper_reason))});
  // Only a completed erase starts the count a restore is measured from.
  if (erased) {
    const uint64_t generation = core_->state_store->generation();
    Bytes raw(8);
    for (int i = 0; i < 8; ++i)
      raw[i] = static_cast<uint8_t>(generation >> (56 - 8 * i));
    marker.push_back(
        {kTamperKind, kTamperErasedAtId, SecretBytes::CopyOf(raw)});
  }
  core_->tamper_erased_generation.reset();
  (void)core_->device_store->Commit(std::move(marker));
}

absl::Status Hsm::BeginCommission(Mode mode, uint32_t component_count,
                                  std::string_view combined_kcv_hex,
                                  std::string_view service_ca_pem) {
  std::unique_lock lock(core_->mu);
  if (core_->state != HsmState::kUncommissioned) {
    return WrongState(core_->state, "commissioning");
  }
  if (component_count < 2 || component_count > kMaxComponents) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the AKBK needs 2 to ", kMaxComponents,
        " components held by different custodians; got ", component_count));
  }
  *ceremony_ = Ceremony();
  ceremony_->mode = mode;
  ceremony_->expected = component_count;
  ceremony_->combined_kcv = std::string(combined_kcv_hex);
  ceremony_->service_ca_pem = std::string(service_ca_pem);
  ceremony_->combined = SecretBytes(kAkbkSize);
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Hsm::AddAkbkComponent(std::string_view custodian,
                                               SecretBytes component,
                                               std::string_view kcv_hex) {
  std::unique_lock lock(core_->mu);
  if (core_->state != HsmState::kUncommissioned || ceremony_->expected == 0) {
    return absl::FailedPreconditionError(
        "no commissioning ceremony is open: call BeginCommission first");
  }
  if (custodian.empty() ||
      ceremony_->custodians.count(std::string(custodian))) {
    return absl::PermissionDeniedError(absl::StrCat(
        "custodian '", std::string(custodian),
        "' already gave a component: each component needs its own custodian"));
  }
  if (component.size() != kAkbkSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an AKBK component is ", kAkbkSize, " bytes; got ", component.size()));
  }
  COFFER_ASSIGN_OR_RETURN(std::string kcv, crypto::KeyCheckValue(component));
  if (!crypto::ConstantTimeEquals(AsBytes(kcv), AsBytes(kcv_hex))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "component from custodian '", std::string(custodian),
        "' does not match its key check value; it was not accepted"));
  }
  auto combined = ceremony_->combined.ExposeSecretMutable();
  for (size_t i = 0; i < combined.size(); ++i) {
    combined[i] ^= component.ExposeSecret()[i];
  }
  ceremony_->custodians.emplace(custodian);
  const uint32_t missing =
      ceremony_->expected - static_cast<uint32_t>(ceremony_->custodians.size());
  if (missing > 0) return missing;

  COFFER_ASSIGN_OR_RETURN(std::string combined_kcv,
                          crypto::KeyCheckValue(ceremony_->combined));
  if (!crypto::ConstantTimeEquals(AsBytes(combined_kcv),
                                  AsBytes(ceremony_->combined_kcv))) {
    *ceremony_ = Ceremony();
    return absl::InvalidArgumentError(
        "the combined AKBK does not match its key check value; the ceremony "
        "was reset: start again with BeginCommission");
  }
  CommissionRecord record;
  record.mode = ceremony_->mode;
  record.akbk = std::move(ceremony_->combined);
  record.akbk_kcv_hex = combined_kcv;
  record.service_ca_pem = ceremony_->service_ca_pem;
  *ceremony_ = Ceremony();
  std::vector<store::RecordWrite> writes;
  writes.push_back({kCommissionKind, "akbk", Encode(record)});
  COFFER_RETURN_IF_ERROR(core_->CommitDevice(std::move(writes)));
  core_->state = DeriveState(*core_);
  return uint32_t{0};
}

absl::Status Hsm::Activate(const SecretBytes& admin_password) {
  std::unique_lock lock(core_->mu);
  if (core_->state != HsmState::kUnactivated) {
    return WrongState(core_->state, "activation");
  }
  COFFER_RETURN_IF_ERROR(CheckPasswordStrength(admin_password));
  UserRecord admin;
  admin.name = kInitialAdmin;
  admin.role = Role::kAdmin;
  COFFER_ASSIGN_OR_RETURN(
      admin.password_hash,
      crypto::HashPassword(admin_password, core_->password_params));
  std::vector<store::RecordWrite> writes;
  writes.push_back({kUserKind, admin.name, Encode(admin)});
  writes.push_back({kPolicyKind, "policy", Encode(core_->policy)});
  COFFER_RETURN_IF_ERROR(core_->CommitState(std::move(writes)));
  core_->state = HsmState::kActive;
  return absl::OkStatus();
}

absl::StatusOr<std::string> Hsm::Login(std::string_view user,
                                       const SecretBytes& password) {
  std::unique_lock lock(core_->mu);
  if (core_->state != HsmState::kActive) {
    return WrongState(core_->state, "login");
  }
  auto it = core_->users.find(std::string(user));
  if (it == core_->users.end() && core_->Synced()) {
    // Perhaps made through another HSM a moment ago.
    if (core_->CatchUpLocked().ok()) it = core_->users.find(std::string(user));
  }
  // The same message for an unknown user and a wrong password.
  const absl::Status denied = absl::UnauthenticatedError(
      "login failed: unknown user or wrong password");
  if (it == core_->users.end()) return denied;
  UserRecord record = it->second;
  if (record.locked) {
    return absl::PermissionDeniedError(
        absl::StrCat("user '", std::string(user),
                     "' is locked after too many failed logins; an admin "
                     "must unlock it"));
  }
  if (!crypto::VerifyPassword(password, record.password_hash).ok()) {
    record.failed_logins++;
    record.locked = record.failed_logins >= core_->policy.max_failed_logins;
    std::vector<store::RecordWrite> writes;
    writes.push_back({kUserKind, record.name, Encode(record)});
    COFFER_RETURN_IF_ERROR(core_->CommitState(std::move(writes)));
    return denied;
  }
  if (record.failed_logins != 0) {
    record.failed_logins = 0;
    std::vector<store::RecordWrite> writes;
    writes.push_back({kUserKind, record.name, Encode(record)});
    COFFER_RETURN_IF_ERROR(core_->CommitState(std::move(writes)));
  }
  COFFER_ASSIGN_OR_RETURN(Bytes raw, crypto::RandomBytes(32));
  std::string token = HexEncode(raw);
  internal::Session session;
  session.user = record.name;
  session.role = record.role;
  core_->sessions[SessionKey(token)] = std::move(session);
  return token;
}

absl::StatusOr<std::string> Hsm::ServiceLogin(ByteView client_cert_der) {
  std::unique_lock lock(core_->mu);
  if (core_->state != HsmState::kActive &&
      core_->state != HsmState::kUnactivated) {
    return WrongState(core_->state, "a service session");
  }
  const absl::Status refused = absl::PermissionDeniedError(
      "a service session needs a client certificate issued by the service "
      "CA this HSM was commissioned with");
  absl::StatusOr<crypto::Certificate> client =
      crypto::Certificate::FromDer(client_cert_der);
  absl::StatusOr<crypto::Certificate> service_ca =
      crypto::Certificate::FromPem(core_->commission->service_ca_pem);
  if (!client.ok() || !service_ca.ok() ||
      !crypto::VerifyChain(*client, {}, {*service_ca}, core_->now()).ok()) {
    return refused;
  }
  COFFER_ASSIGN_OR_RETURN(Bytes raw, crypto::RandomBytes(32));
  std::string token = HexEncode(raw);
  internal::Session session;
  session.user = kServiceUser;
  session.role = Role::kApplianceUser;
  core_->sessions[SessionKey(token)] = std::move(session);
  return token;
}

absl::Status Hsm::Logout(std::string_view token) {
  std::unique_lock lock(core_->mu);
  if (core_->sessions.erase(SessionKey(token)) == 0) {
    return absl::UnauthenticatedError("no such session");
  }
  return absl::OkStatus();
}

absl::StatusOr<Caller> Hsm::Authenticate(std::string_view token) const {
  std::shared_lock lock(core_->mu);
  if (core_->state != HsmState::kActive) {
    return WrongState(core_->state, "this operation");
  }
  std::string key = SessionKey(token);
  auto it = core_->sessions.find(key);
  if (it == core_->sessions.end()) {
    return absl::UnauthenticatedError(
        "no such session (logged out, or the HSM restarted): log in again");
  }
  return Caller{it->second.user, it->second.role, std::move(key)};
}

}  // namespace coffer::hsm
