#include "cli/names.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/bytes.h"
#include "cli/command_table.h"

namespace coffer::cli {
namespace {

template <typename E>
using NameTable = std::vector<std::pair<std::string, E>>;

const NameTable<pb::KeyType>& KeyTypes() {
  static const auto* t = new NameTable<pb::KeyType>{
      {"aes", pb::KEY_TYPE_AES},
      {"generic-secret", pb::KEY_TYPE_GENERIC_SECRET},
      {"rsa", pb::KEY_TYPE_RSA},
      {"ec-p256", pb::KEY_TYPE_EC_P256},
      {"ec-p384", pb::KEY_TYPE_EC_P384},
      {"ed25519", pb::KEY_TYPE_ED25519},
  };
  return *t;
}

const NameTable<pb::Role>& Roles() {
  static const auto* t = new NameTable<pb::Role>{
      {"admin", pb::ROLE_ADMIN},
      {"crypto-user", pb::ROLE_CRYPTO_USER},
      {"appliance-user", pb::ROLE_APPLIANCE_USER},
  };
  return *t;
}

const std::vector<MechanismSpec>& Mechanisms() {
  using U = MechanismUse;
  static const auto* t = new std::vector<MechanismSpec>{
      {"ecdsa-sha256", U::kSign, pb::MECHANISM_ECDSA, pb::HASH_ALG_SHA256, 0},
      {"ecdsa-sha384", U::kSign, pb::MECHANISM_ECDSA, pb::HASH_ALG_SHA384, 0},
      {"ecdsa-sha512", U::kSign, pb::MECHANISM_ECDSA, pb::HASH_ALG_SHA512, 0},
      {"rsa-pkcs-sha256", U::kSign, pb::MECHANISM_RSA_PKCS, pb::HASH_ALG_SHA256,
       0},
      {"rsa-pkcs-sha384", U::kSign, pb::MECHANISM_RSA_PKCS, pb::HASH_ALG_SHA384,
       0},
      {"rsa-pkcs-sha512", U::kSign, pb::MECHANISM_RSA_PKCS, pb::HASH_ALG_SHA512,
       0},
      {"rsa-pss-sha256", U::kSign, pb::MECHANISM_RSA_PKCS_PSS,
       pb::HASH_ALG_SHA256, 0},
      {"rsa-pss-sha384", U::kSign, pb::MECHANISM_RSA_PKCS_PSS,
       pb::HASH_ALG_SHA384, 0},
      {"rsa-pss-sha512", U::kSign, pb::MECHANISM_RSA_PKCS_PSS,
       pb::HASH_ALG_SHA512, 0},
      {"eddsa", U::kSign, pb::MECHANISM_EDDSA, pb::HASH_ALG_UNSPECIFIED, 0},
      {"hmac-sha256", U::kSign, pb::MECHANISM_HMAC, pb::HASH_ALG_SHA256, 0},
      {"hmac-sha384", U::kSign, pb::MECHANISM_HMAC, pb::HASH_ALG_SHA384, 0},
      {"hmac-sha512", U::kSign, pb::MECHANISM_HMAC, pb::HASH_ALG_SHA512, 0},
      {"aes-gcm", U::kEncrypt, pb::MECHANISM_AES_GCM, pb::HASH_ALG_UNSPECIFIED,
       12},
      {"aes-cbc-pad", U::kEncrypt, pb::MECHANISM_AES_CBC_PAD,
       pb::HASH_ALG_UNSPECIFIED, 16},
      {"aes-ctr", U::kEncrypt, pb::MECHANISM_AES_CTR, pb::HASH_ALG_UNSPECIFIED,
       16},
      {"rsa-oaep-sha256", U::kEncrypt, pb::MECHANISM_RSA_PKCS_OAEP,
       pb::HASH_ALG_SHA256, 0},
      {"rsa-oaep-sha384", U::kEncrypt, pb::MECHANISM_RSA_PKCS_OAEP,
       pb::HASH_ALG_SHA384, 0},
      {"rsa-oaep-sha512", U::kEncrypt, pb::MECHANISM_RSA_PKCS_OAEP,
       pb::HASH_ALG_SHA512, 0},
      {"aes-kw", U::kWrap, pb::MECHANISM_AES_KEY_WRAP, pb::HASH_ALG_UNSPECIFIED,
       0},
      {"aes-kwp", U::kWrap, pb::MECHANISM_AES_KEY_WRAP_PAD,
       pb::HASH_ALG_UNSPECIFIED, 0},
      {"rsa-oaep-sha256", U::kWrap, pb::MECHANISM_RSA_PKCS_OAEP,
       pb::HASH_ALG_SHA256, 0},
  };
  return *t;
}

template <typename E>
absl::StatusOr<E> Parse(const NameTable<E>& table, const std::string& name,
                        const char* what) {
  std::vector<std::string> names;
  for (const auto& [n, value] : table) {
    if (n == name) return value;
    names.push_back(n);
  }
  return UsageError(absl::StrCat("unknown ", what, " '", name, "': use one of ",
                                 absl::StrJoin(names, ", ")));
}

template <typename E>
std::string Name(const NameTable<E>& table, E value) {
  for (const auto& [n, v] : table) {
    if (v == value) return n;
  }
  return "unknown";
}

template <typename E>
std::vector<std::string> Names(const NameTable<E>& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.push_back(entry.first);
  return names;
}

}  // namespace

std::vector<std::string> KeyTypeNames() { return Names(KeyTypes()); }
absl::StatusOr<pb::KeyType> ParseKeyType(const std::string& name) {
  return Parse(KeyTypes(), name, "key type");
}
std::string KeyTypeName(pb::KeyType type) { return Name(KeyTypes(), type); }

std::vector<std::string> RoleNames() { return Names(Roles()); }
absl::StatusOr<pb::Role> ParseRole(const std::string& name) {
  return Parse(Roles(), name, "role");
}
std::string RoleName(pb::Role role) { return Name(Roles(), role); }

std::string ModeName(pb::Mode mode) {
  switch (mode) {
    case pb::MODE_FIPS:
      return "fips";
    case pb::MODE_NON_FIPS:
      return "non-fips";
    default:
      return "unset";
  }
}

std::string StateName(pb::HsmState s) {
  switch (s) {
    case pb::HSM_STATE_UNCOMMISSIONED:
      return "UNCOMMISSIONED";
    case pb::HSM_STATE_COMMISSIONED:
      return "COMMISSIONED";
    case pb::HSM_STATE_UNACTIVATED:
      return "UNACTIVATED";
    case pb::HSM_STATE_ACTIVE:
      return "ACTIVE";
    case pb::HSM_STATE_TAMPERED:
      return "TAMPERED";
    default:
      return "UNKNOWN";
  }
}

std::string ClassName(pb::ObjectClass c) {
  switch (c) {
    case pb::OBJECT_CLASS_SECRET_KEY:
      return "secret-key";
    case pb::OBJECT_CLASS_PRIVATE_KEY:
      return "private-key";
    case pb::OBJECT_CLASS_PUBLIC_KEY:
      return "public-key";
    case pb::OBJECT_CLASS_CERTIFICATE:
      return "certificate";
    default:
      return "unknown";
  }
}

std::vector<std::string> MechanismNames(MechanismUse use) {
  std::vector<std::string> names;
  for (const MechanismSpec& m : Mechanisms()) {
    if (m.use == use) names.push_back(m.name);
  }
  return names;
}

absl::StatusOr<MechanismSpec> ParseMechanism(const std::string& name,
                                             MechanismUse use) {
  for (const MechanismSpec& m : Mechanisms()) {
    if (m.use == use && m.name == name) return m;
  }
  return UsageError(absl::StrCat("unknown mechanism '", name, "': use one of ",
                                 absl::StrJoin(MechanismNames(use), ", ")));
}

pb::MechanismParams ToParams(const MechanismSpec& spec) {
  pb::MechanismParams p;
  p.set_mechanism(spec.mechanism);
  p.set_hash(spec.hash);
  return p;
}

absl::Status ApplyUsage(const std::string& list, pb::KeyTemplate& t) {
  struct Usage {
    const char* name;
    pb::OptionalBool* (pb::KeyTemplate::*field)();
  };
  static const Usage kUsages[] = {
      {"encrypt", &pb::KeyTemplate::mutable_encrypt},
      {"decrypt", &pb::KeyTemplate::mutable_decrypt},
      {"sign", &pb::KeyTemplate::mutable_sign},
      {"verify", &pb::KeyTemplate::mutable_verify},
      {"wrap", &pb::KeyTemplate::mutable_wrap},
      {"unwrap", &pb::KeyTemplate::mutable_unwrap},
      {"derive", &pb::KeyTemplate::mutable_derive},
  };
  std::vector<std::string> wanted =
      absl::StrSplit(list, ',', absl::SkipEmpty());
  for (const std::string& w : wanted) {
    bool known = false;
    for (const Usage& u : kUsages) known = known || w == u.name;
    if (!known) {
      return UsageError(absl::StrCat(
          "unknown usage '", w,
          "': use encrypt, decrypt, sign, verify, wrap, unwrap, derive"));
    }
  }
  for (const Usage& u : kUsages) {
    bool on = false;
    for (const std::string& w : wanted) on = on || w == u.name;
    (t.*u.field)()->set_value(on);
  }
  return absl::OkStatus();
}

Json HandleJson(uint64_t handle) { return std::to_string(handle); }

Json KeyToJson(const pb::KeyInfo& key, bool with_public_key) {
  const pb::KeyAttributes& a = key.attributes();
  std::vector<std::string> usage;
  for (auto [name, on] :
       {std::pair{"encrypt", a.encrypt()}, std::pair{"decrypt", a.decrypt()},
        std::pair{"sign", a.sign()}, std::pair{"verify", a.verify()},
        std::pair{"wrap", a.wrap()}, std::pair{"unwrap", a.unwrap()},
        std::pair{"derive", a.derive()}}) {
    if (on) usage.push_back(name);
  }
  Json j;
  j["handle"] = HandleJson(key.handle());
  j["class"] = ClassName(a.object_class());
  j["type"] = KeyTypeName(a.key_type());
  j["bits"] = a.bits();
  j["label"] = a.label();
  j["id"] = HexEncode(AsBytes(a.id()));
  j["token"] = a.token();
  j["owner"] = a.owner();
  j["shared_with"] = Json::array();
  for (const std::string& u : a.shared_with()) j["shared_with"].push_back(u);
  j["usage"] = usage;
  j["sensitive"] = a.sensitive();
  j["extractable"] = a.extractable();
  j["trusted"] = a.trusted();
  j["wrap_with_trusted"] = a.wrap_with_trusted();
  j["local"] = a.local();
  j["always_sensitive"] = a.always_sensitive();
  j["never_extractable"] = a.never_extractable();
  if (with_public_key) {
    j["public_key_der"] = HexEncode(AsBytes(key.public_der()));
  }
  return j;
}

Json UserToJson(const pb::UserInfo& user) {
  Json j;
  j["name"] = user.name();
  j["role"] = RoleName(user.role());
  j["locked"] = user.locked();
  j["failed_logins"] = user.failed_logins();
  j["has_quorum_key"] = user.has_quorum_key();
  return j;
}

Json InfoToJson(const pb::GetInfoResponse& info) {
  Json j;
  j["manufacturer_id"] = info.manufacturer_id();
  j["serial"] = info.serial();
  j["firmware_version"] = info.firmware_version();
  j["mode"] = ModeName(info.mode());
  j["state"] = StateName(info.state());
  j["cluster_id"] = info.cluster_id();
  j["tamper_reason"] = info.tamper_reason();
  j["users"] = info.users();
  j["keys"] = info.keys();
  j["sessions"] = info.sessions();
  j["requests_in_flight"] = info.requests_in_flight();
  j["connections"] = info.connections();
  return j;
}

}  // namespace coffer::cli
