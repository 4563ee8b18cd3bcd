#include "hsm/internal/key_util.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/random.h"

namespace coffer::hsm::internal {
namespace {

struct UseInfo {
  const char* verb;       // "key N does not allow <verb>"
  const char* attribute;  // "(CKA_SIGN is false)"
  bool KeyAttributes::*flag;
};

UseInfo InfoFor(KeyUse use) {
  switch (use) {
    case KeyUse::kSign:
      return {"signing", "CKA_SIGN", &KeyAttributes::sign};
    case KeyUse::kVerify:
      return {"verification", "CKA_VERIFY", &KeyAttributes::verify};
    case KeyUse::kEncrypt:
      return {"encryption", "CKA_ENCRYPT", &KeyAttributes::encrypt};
    case KeyUse::kDecrypt:
      return {"decryption", "CKA_DECRYPT", &KeyAttributes::decrypt};
    case KeyUse::kWrap:
      return {"wrapping other keys", "CKA_WRAP", &KeyAttributes::wrap};
    case KeyUse::kUnwrap:
      return {"unwrapping keys", "CKA_UNWRAP", &KeyAttributes::unwrap};
    case KeyUse::kDerive:
      return {"key derivation", "CKA_DERIVE", &KeyAttributes::derive};
  }
  return {"this use", "a usage attribute", &KeyAttributes::sign};
}

absl::Status NoSuchKey(ObjectHandle handle) {
  return absl::NotFoundError(absl::StrCat("no key with handle ", handle));
}

bool HandleInUse(const Core& core, ObjectHandle handle) {
  if (core.keys.count(handle) != 0) return true;
  for (const auto& [key, session] : core.sessions) {
    if (session.session_objects.count(handle) != 0) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<Mode> RequireLiveSession(const Core& core,
                                        const Caller& caller) {
  if (core.state != HsmState::kActive) {
    return absl::FailedPreconditionError(
        absl::StrCat("key operations are not allowed in state ",
                     std::string(StateName(core.state))));
  }
  auto it = core.sessions.find(caller.session_key);
  if (it == core.sessions.end() || it->second.user != caller.user) {
    return absl::UnauthenticatedError(
        "the session has ended (logout, password change or restart): log in "
        "again");
  }
  return core.commission ? core.commission->mode : Mode::kNonFips;
}

absl::Status RequireCryptoUser(const Caller& caller, const char* what) {
  if (caller.role != Role::kCryptoUser) {
    return absl::PermissionDeniedError(
        absl::StrCat("only crypto users may ", what, "; '", caller.user,
                     "' is a ", std::string(RoleName(caller.role))));
  }
  return absl::OkStatus();
}

const KeyObject* FindObject(const Core& core, const Caller& caller,
                            ObjectHandle handle) {
  auto session = core.sessions.find(caller.session_key);
  if (session != core.sessions.end()) {
    auto it = session->second.session_objects.find(handle);
    if (it != session->second.session_objects.end()) return &it->second;
  }
  auto it = core.keys.find(handle);
  return it == core.keys.end() ? nullptr : &it->second;
}

KeyObject* FindObject(Core& core, const Caller& caller, ObjectHandle handle) {
  return const_cast<KeyObject*>(
      FindObject(static_cast<const Core&>(core), caller, handle));
}

bool MayUse(const KeyAttributes& key, const std::string& user) {
  return key.owner == user || key.shared_with.count(user) != 0;
}

absl::StatusOr<const KeyObject*> LookupVisible(const Core& core,
                                               const Caller& caller,
                                               ObjectHandle handle) {
  if (caller.role == Role::kApplianceUser) {
    return absl::PermissionDeniedError(
        absl::StrCat("appliance users have no access to keys; '", caller.user,
                     "' is an appliance user"));
  }
  const KeyObject* object = FindObject(core, caller, handle);
  if (object == nullptr) return NoSuchKey(handle);
  if (caller.role == Role::kCryptoUser &&
      !MayUse(object->attributes, caller.user)) {
    return absl::PermissionDeniedError(
        absl::StrCat("key ", handle,
                     " belongs to another user and is not "
                     "shared with '",
                     caller.user, "'"));
  }
  return object;
}

absl::StatusOr<const KeyObject*> LookupOwned(const Core& core,
                                             const Caller& caller,
                                             ObjectHandle handle,
                                             const char* action) {
  COFFER_RETURN_IF_ERROR(RequireCryptoUser(caller, "manage keys"));
  COFFER_ASSIGN_OR_RETURN(const KeyObject* object,
                          LookupVisible(core, caller, handle));
  if (object->attributes.owner != caller.user) {
    return absl::PermissionDeniedError(
        absl::StrCat("only the owner of key ", handle, " ('",
                     object->attributes.owner, "') may ", action, " it"));
  }
  return object;
}

absl::StatusOr<KeyObject*> LookupOwned(Core& core, const Caller& caller,
                                       ObjectHandle handle,
                                       const char* action) {
  COFFER_ASSIGN_OR_RETURN(
      const KeyObject* object,
      LookupOwned(static_cast<const Core&>(core), caller, handle, action));
  return const_cast<KeyObject*>(object);
}

absl::StatusOr<const KeyObject*> LookupForUse(const Core& core,
                                              const Caller& caller,
                                              ObjectHandle handle, KeyUse use) {
  COFFER_RETURN_IF_ERROR(RequireCryptoUser(caller, "use keys"));
  COFFER_ASSIGN_OR_RETURN(const KeyObject* object,
                          LookupVisible(core, caller, handle));
  COFFER_RETURN_IF_ERROR(RequireKey(*object));
  const UseInfo info = InfoFor(use);
  if (!(object->attributes.*info.flag)) {
    return absl::PermissionDeniedError(
        absl::StrCat("key ", handle, " does not allow ", info.verb, " (",
                     info.attribute, " is false)"));
  }
  return object;
}

absl::Status RequireKey(const KeyObject& object) {
  if (object.attributes.object_class == ObjectClass::kCertificate) {
    return absl::InvalidArgumentError(absl::StrCat(
        "object ", object.handle,
        " is a certificate, not a key: certificates take part in no "
        "cryptographic operation; use the key they certify"));
  }
  return absl::OkStatus();
}

absl::StatusOr<crypto::PrivateKey> PrivateKeyOf(const Core& core,
                                                const Caller& caller,
                                                const KeyObject& object,
                                                bool* parsed_now) {
  *parsed_now = false;
  auto cached = core.private_keys.find(object.handle);
  if (cached != core.private_keys.end()) return cached->second;
  auto session = core.sessions.find(caller.session_key);
  if (session != core.sessions.end()) {
    auto it = session->second.private_keys.find(object.handle);
    if (it != session->second.private_keys.end()) return it->second;
  }
  *parsed_now = object.attributes.token;
  return crypto::PrivateKey::FromPkcs8Der(object.secret);
}

void CachePrivateKey(Core& core, ObjectHandle handle, crypto::PrivateKey key) {
  // The material behind a handle never changes, so a parse made under an
  // earlier lock is still right, unless the key was destroyed meanwhile.
  if (core.keys.count(handle) == 0) return;
  // Parsed keys hold their private numbers in OpenSSL's fixed-size secure
  // heap; an unbounded cache would fill it and make every later parse (and
  // DRBG reseed) fail. Evicting an arbitrary entry costs one re-parse.
  if (core.private_keys.size() >= kMaxCachedPrivateKeys &&
      core.private_keys.count(handle) == 0) {
    core.private_keys.erase(core.private_keys.begin());
  }
  core.private_keys.emplace(handle, std::move(key));
}

absl::StatusOr<std::vector<ObjectHandle>> NewHandles(const Core& core,
                                                     size_t count) {
  constexpr uint64_t kMask = (uint64_t{1} << 62) - 1;
  std::vector<ObjectHandle> out;
  std::set<ObjectHandle> drawn;
  // Collisions are astronomically rare; the bound only stops a broken DRBG
  // from looping forever.
  for (int attempt = 0; out.size() < count && attempt < 64; ++attempt) {
    COFFER_ASSIGN_OR_RETURN(Bytes raw, crypto::RandomBytes(8));
    uint64_t value = 0;
    for (uint8_t b : raw) value = value << 8 | b;
    value &= kMask;
    if (value == 0 || HandleInUse(core, value) || !drawn.insert(value).second) {
      continue;
    }
    out.push_back(value);
  }
  if (out.size() < count) {
    return absl::InternalError("could not draw a free object handle");
  }
  return out;
}

KeyAttributes AttributesFromTemplate(const KeyTemplate& spec,
                                     ObjectClass object_class,
                                     const std::string& owner) {
  KeyAttributes a;
  a.object_class = object_class;
  a.key_type = spec.key_type;
  a.label = spec.label;
  a.id = spec.id;
  a.token = spec.token;
  a.owner = owner;
  const bool rsa = spec.key_type == KeyType::kRsa;
  const bool aes = spec.key_type == KeyType::kAes;
  // Usage defaults are the key type's everyday operations; wrap, unwrap
  // and derive must be asked for, since they move keys around.
  switch (object_class) {
    case ObjectClass::kSecretKey:
      a.encrypt = spec.encrypt.value_or(aes);
      a.decrypt = spec.decrypt.value_or(aes);
      a.sign = spec.sign.value_or(!aes);
      a.verify = spec.verify.value_or(!aes);
      a.wrap = spec.wrap.value_or(false);
      a.unwrap = spec.unwrap.value_or(false);
      a.derive = spec.derive.value_or(false);
      break;
    case ObjectClass::kPublicKey:
      a.encrypt = spec.encrypt.value_or(rsa);
      a.verify = spec.verify.value_or(true);
      a.wrap = spec.wrap.value_or(false);
      break;
    case ObjectClass::kPrivateKey:
      a.decrypt = spec.decrypt.value_or(rsa);
      a.sign = spec.sign.value_or(true);
      a.unwrap = spec.unwrap.value_or(false);
      a.derive = spec.derive.value_or(false);
      break;
    case ObjectClass::kCertificate:
      break;  // no usage at all
  }
  if (object_class == ObjectClass::kPublicKey ||
      object_class == ObjectClass::kCertificate) {
    // Public keys and certificates are never secret: nothing to keep
    // sensitive.
    a.sensitive = false;
    a.extractable = true;
  } else {
    a.sensitive = spec.sensitive.value_or(true);
    a.extractable = spec.extractable.value_or(false);
    a.wrap_with_trusted = spec.wrap_with_trusted.value_or(false);
  }
  a.local = true;
  a.always_sensitive = a.sensitive;
  a.never_extractable = !a.extractable;
  return a;
}

absl::Status AddObjects(Core& core, const Caller& caller, bool token,
                        std::vector<NewObject> objects) {
  if (token) {
    std::vector<store::RecordWrite> writes;
    for (const NewObject& n : objects) {
      writes.push_back(
          {kKeyKind, KeyRecordId(n.object.handle), Encode(n.object)});
    }
    COFFER_RETURN_IF_ERROR(core.CommitState(std::move(writes)));
    for (NewObject& n : objects) {
      if (n.parsed) CachePrivateKey(core, n.object.handle, *n.parsed);
    }
    return absl::OkStatus();
  }
  auto session = core.sessions.find(caller.session_key);
  if (session == core.sessions.end()) {
    return absl::UnauthenticatedError("the session has ended: log in again");
  }
  for (NewObject& n : objects) {
    const ObjectHandle handle = n.object.handle;
    if (n.parsed) session->second.private_keys.emplace(handle, *n.parsed);
    session->second.session_objects.emplace(handle, std::move(n.object));
  }
  return absl::OkStatus();
}

std::vector<store::RecordWrite> DropSharesOf(const Core& core,
                                             const std::string& user) {
  std::vector<store::RecordWrite> writes;
  for (const auto& [handle, object] : core.keys) {
    if (object.attributes.shared_with.count(user) == 0) continue;
    KeyObject copy = CloneObject(object);
    copy.attributes.shared_with.erase(user);
    writes.push_back({kKeyKind, KeyRecordId(handle), Encode(copy)});
  }
  return writes;
}

KeyObject CloneObject(const KeyObject& object) {
  KeyObject copy;
  copy.handle = object.handle;
  copy.attributes = object.attributes;
  copy.secret = object.secret.Clone();
  copy.public_der = object.public_der;
  copy.certificate_der = object.certificate_der;
  copy.pair_handle = object.pair_handle;
  return copy;
}

KeyInfo InfoOf(const KeyObject& object) {
  return KeyInfo{object.handle, object.attributes, object.public_der,
                 object.certificate_der};
}

KeyType KeyTypeOf(crypto::KeyAlgorithm algorithm) {
  switch (algorithm) {
    case crypto::KeyAlgorithm::kRsa:
      return KeyType::kRsa;
    case crypto::KeyAlgorithm::kEcP256:
      return KeyType::kEcP256;
    case crypto::KeyAlgorithm::kEcP384:
      return KeyType::kEcP384;
    case crypto::KeyAlgorithm::kEd25519:
      break;
  }
  return KeyType::kEd25519;
}

absl::Status CheckSecretKeySize(KeyType type, uint32_t bits) {
  if (type == KeyType::kAes) {
    if (bits != 128 && bits != 192 && bits != 256) {
      return absl::InvalidArgumentError(
          absl::StrCat("AES keys are 128, 192 or 256 bits; got ", bits));
    }
    return absl::OkStatus();
  }
  if (type == KeyType::kGenericSecret) {
    if (bits < 64 || bits > 4096 || bits % 8 != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "generic secret keys are 64 to 4096 bits, a multiple of 8; got ",
          bits));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      KeyTypeName(type), " keys come in pairs: use GenerateKeyPair"));
}

const char* KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kAes:
      return "AES";
    case KeyType::kGenericSecret:
      return "generic secret";
    case KeyType::kRsa:
      return "RSA";
    case KeyType::kEcP256:
      return "EC P-256";
    case KeyType::kEcP384:
      return "EC P-384";
    case KeyType::kEd25519:
      return "Ed25519";
  }
  return "unknown";
}

}  // namespace coffer::hsm::internal
