// Key lifecycle: generation, certificate import, lookup, attributes,
// sharing and destruction. The cryptographic operations are in
// key_operations.cc.
//
// Locking: every check reads state under core.mu; expensive work (key
// generation) runs with no lock held, and the result is inserted under the
// exclusive lock after the checks are repeated, since the session or the
// HSM's state may have changed meanwhile.
#include "hsm/key_manager.h"

#include <mutex>
#include <shared_mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "hsm/internal/core.h"
#include "hsm/internal/key_util.h"
#include "hsm/policy.h"

namespace coffer::hsm {

using internal::NewObject;

namespace {

absl::StatusOr<crypto::KeyAlgorithm> PairAlgorithm(KeyType type,
                                                   uint32_t bits) {
  switch (type) {
    case KeyType::kRsa:
      if (bits == 0) {
        return absl::InvalidArgumentError(
            "RSA key pairs need a modulus size: 2048 to 4096 bits");
      }
      return crypto::KeyAlgorithm::kRsa;
    case KeyType::kEcP256:
      return crypto::KeyAlgorithm::kEcP256;
    case KeyType::kEcP384:
      return crypto::KeyAlgorithm::kEcP384;
    case KeyType::kEd25519:
      return crypto::KeyAlgorithm::kEd25519;
    case KeyType::kAes:
    case KeyType::kGenericSecret:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(internal::KeyTypeName(type),
                   " keys are secret keys: use GenerateSecretKey"));
}

// The checks every creation makes first, under a shared lock.
absl::StatusOr<Mode> ModeForCreation(const internal::Core& core,
                                     const Caller& caller) {
  COFFER_RETURN_IF_ERROR(internal::RequireCryptoUser(caller, "create keys"));
  std::shared_lock lock(core.mu);
  return internal::RequireLiveSession(core, caller);
}

bool Matches(const KeyAttributes& a, const KeyFilter& f) {
  // Certificates have no CKA_KEY_TYPE, so a key type matches keys only.
  const bool key_type_matches =
      !f.key_type || (a.object_class != ObjectClass::kCertificate &&
                      *f.key_type == a.key_type);
  return (!f.object_class || *f.object_class == a.object_class) &&
         key_type_matches && (!f.label || *f.label == a.label) &&
         (!f.id || *f.id == a.id) && (!f.token || *f.token == a.token);
}

bool TouchesOwnerAttributes(const AttributeChange& c) {
  return c.label || c.id || c.sensitive || c.extractable || c.encrypt ||
         c.decrypt || c.sign || c.verify || c.wrap || c.unwrap || c.derive ||
         c.wrap_with_trusted;
}

// PKCS#11's one-way attributes, checked against the object's current value.
absl::Status CheckOneWay(const KeyAttributes& a, const AttributeChange& c) {
  if (a.object_class == ObjectClass::kCertificate &&
      (c.sensitive || c.extractable || c.wrap_with_trusted || c.encrypt ||
       c.decrypt || c.sign || c.verify || c.wrap || c.unwrap || c.derive)) {
    return absl::InvalidArgumentError(
        "certificates take only CKA_LABEL, CKA_ID and CKA_TRUSTED: they are "
        "public and have no key usage");
  }
  const bool is_public = a.object_class == ObjectClass::kPublicKey;
  if (is_public && (c.sensitive || c.extractable || c.wrap_with_trusted)) {
    return absl::InvalidArgumentError(
        "CKA_SENSITIVE, CKA_EXTRACTABLE and CKA_WRAP_WITH_TRUSTED do not "
        "apply to public keys");
  }
  if (c.sensitive && !*c.sensitive && a.sensitive) {
    return absl::PermissionDeniedError(
        "CKA_SENSITIVE can only change from false to true: a sensitive key "
        "stays sensitive");
  }
  if (c.extractable && *c.extractable && !a.extractable) {
    return absl::PermissionDeniedError(
        "CKA_EXTRACTABLE can only change from true to false: a "
        "non-extractable key stays non-extractable");
  }
  if (c.wrap_with_trusted && !*c.wrap_with_trusted && a.wrap_with_trusted) {
    return absl::PermissionDeniedError(
        "CKA_WRAP_WITH_TRUSTED cannot be turned off once set");
  }
  return absl::OkStatus();
}

void ApplyChange(KeyAttributes& a, const AttributeChange& c) {
  if (c.label) a.label = *c.label;
  if (c.id) a.id = *c.id;
  // always_sensitive and never_extractable keep their history: turning
  // sensitive on later does not make the key "always" sensitive.
  if (c.sensitive) a.sensitive = *c.sensitive;
  if (c.extractable) a.extractable = *c.extractable;
  if (c.encrypt) a.encrypt = *c.encrypt;
  if (c.decrypt) a.decrypt = *c.decrypt;
  if (c.sign) a.sign = *c.sign;
  if (c.verify) a.verify = *c.verify;
  if (c.wrap) a.wrap = *c.wrap;
  if (c.unwrap) a.unwrap = *c.unwrap;
  if (c.derive) a.derive = *c.derive;
  if (c.trusted) a.trusted = *c.trusted;
  if (c.wrap_with_trusted) a.wrap_with_trusted = *c.wrap_with_trusted;
}

// Writes a changed object: token objects through the store, session
// objects in place. `object` points at the live object.
absl::Status StoreChange(internal::Core& core, KeyObject* object,
                         KeyAttributes updated) {
  if (!object->attributes.token) {
    object->attributes = std::move(updated);
    return absl::OkStatus();
  }
  KeyObject copy = internal::CloneObject(*object);
  copy.attributes = std::move(updated);
  std::vector<store::RecordWrite> writes;
  writes.push_back(
      {kKeyKind, internal::KeyRecordId(copy.handle), Encode(copy)});
  return core.CommitState(std::move(writes));
}

}  // namespace

absl::StatusOr<ObjectHandle> KeyManager::GenerateSecretKey(
    const Caller& caller, const KeyTemplate& spec) {
  COFFER_ASSIGN_OR_RETURN(Mode mode, ModeForCreation(core_, caller));
  COFFER_RETURN_IF_ERROR(CheckKeyGeneration(mode, spec.key_type, spec.bits));
  COFFER_RETURN_IF_ERROR(
      internal::CheckSecretKeySize(spec.key_type, spec.bits));
  COFFER_ASSIGN_OR_RETURN(crypto::SecretBytes material,
                          crypto::RandomSecret(spec.bits / 8));

  std::unique_lock lock(core_.mu);
  COFFER_RETURN_IF_ERROR(internal::RequireLiveSession(core_, caller).status());
  COFFER_ASSIGN_OR_RETURN(std::vector<ObjectHandle> handles,
                          internal::NewHandles(core_, 1));
  NewObject key;
  key.object.handle = handles[0];
  key.object.attributes = internal::AttributesFromTemplate(
      spec, ObjectClass::kSecretKey, caller.user);
  key.object.attributes.bits = spec.bits;
  key.object.secret = std::move(material);
  std::vector<NewObject> objects;
  objects.push_back(std::move(key));
  COFFER_RETURN_IF_ERROR(
      internal::AddObjects(core_, caller, spec.token, std::move(objects)));
  return handles[0];
}

absl::StatusOr<KeyPairHandles> KeyManager::GenerateKeyPair(
    const Caller& caller, const KeyTemplate& spec) {
  COFFER_ASSIGN_OR_RETURN(Mode mode, ModeForCreation(core_, caller));
  COFFER_ASSIGN_OR_RETURN(crypto::KeyAlgorithm algorithm,
                          PairAlgorithm(spec.key_type, spec.bits));
  COFFER_RETURN_IF_ERROR(CheckKeyGeneration(mode, spec.key_type, spec.bits));
  // The slow part (RSA: up to seconds) runs with no lock held.
  COFFER_ASSIGN_OR_RETURN(
      crypto::PrivateKey key,
      crypto::PrivateKey::Generate(algorithm, static_cast<int>(spec.bits)));
  COFFER_ASSIGN_OR_RETURN(crypto::SecretBytes pkcs8, key.ToPkcs8Der());
  COFFER_ASSIGN_OR_RETURN(Bytes public_der, key.public_key().ToDer());
  const uint32_t bits = static_cast<uint32_t>(key.bits());

  std::unique_lock lock(core_.mu);
  COFFER_RETURN_IF_ERROR(internal::RequireLiveSession(core_, caller).status());
  COFFER_ASSIGN_OR_RETURN(std::vector<ObjectHandle> handles,
                          internal::NewHandles(core_, 2));
  const KeyPairHandles out{handles[0], handles[1]};
  NewObject pub;
  pub.object.handle = out.public_key;
  pub.object.attributes = internal::AttributesFromTemplate(
      spec, ObjectClass::kPublicKey, caller.user);
  pub.object.attributes.bits = bits;
  pub.object.public_der = public_der;
  pub.object.pair_handle = out.private_key;
  NewObject priv;
  priv.object.handle = out.private_key;
  priv.object.attributes = internal::AttributesFromTemplate(
      spec, ObjectClass::kPrivateKey, caller.user);
  priv.object.attributes.bits = bits;
  priv.object.secret = std::move(pkcs8);
  priv.object.public_der = std::move(public_der);
  priv.object.pair_handle = out.public_key;
  priv.parsed = std::move(key);
  std::vector<NewObject> objects;
  objects.push_back(std::move(pub));
  objects.push_back(std::move(priv));
  COFFER_RETURN_IF_ERROR(
      internal::AddObjects(core_, caller, spec.token, std::move(objects)));
  return out;
}

absl::StatusOr<ObjectHandle> KeyManager::ImportCertificate(
    const Caller& caller, ByteView der, const std::string& label,
    const Bytes& id, bool token) {
  COFFER_RETURN_IF_ERROR(
      internal::RequireCryptoUser(caller, "import certificates"));
  if (der.size() > kMaxCertificateSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate has ", der.size(),
                     " bytes; the HSM stores certificates of at most ",
                     kMaxCertificateSize, " bytes"));
  }
  // Parsing needs no lock; the session is checked under it below.
  absl::StatusOr<crypto::Certificate> cert = crypto::Certificate::FromDer(der);
  if (!cert.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an X.509 certificate the HSM can store: ",
                     std::string(cert.status().message())));
  }
  const crypto::PublicKey subject_key = cert->public_key();
  COFFER_ASSIGN_OR_RETURN(Bytes public_der, subject_key.ToDer());

  KeyTemplate spec;
  spec.key_type = internal::KeyTypeOf(subject_key.algorithm());
  spec.label = label;
  spec.id = id;
  spec.token = token;
  NewObject object;
  KeyAttributes& a = object.object.attributes;
  a = internal::AttributesFromTemplate(spec, ObjectClass::kCertificate,
                                       caller.user);
  a.bits = static_cast<uint32_t>(subject_key.bits());
  // It came from outside: nothing about it was ever secret.
  a.local = false;
  a.always_sensitive = false;
  a.never_extractable = false;
  object.object.public_der = std::move(public_der);
  object.object.certificate_der = Bytes(der.begin(), der.end());

  std::unique_lock lock(core_.mu);
  COFFER_RETURN_IF_ERROR(internal::RequireLiveSession(core_, caller).status());
  COFFER_ASSIGN_OR_RETURN(std::vector<ObjectHandle> handles,
                          internal::NewHandles(core_, 1));
  object.object.handle = handles[0];
  std::vector<NewObject> objects;
  objects.push_back(std::move(object));
  COFFER_RETURN_IF_ERROR(
      internal::AddObjects(core_, caller, token, std::move(objects)));
  return handles[0];
}

absl::StatusOr<std::vector<KeyInfo>> KeyManager::Find(
    const Caller& caller, const KeyFilter& filter) const {
  if (caller.role == Role::kApplianceUser) {
    return absl::PermissionDeniedError(
        absl::StrCat("appliance users have no access to keys; '", caller.user,
                     "' is an appliance user"));
  }
  std::shared_lock lock(core_.mu);
  COFFER_RETURN_IF_ERROR(internal::RequireLiveSession(core_, caller).status());
  std::vector<KeyInfo> out;
  auto session = core_.sessions.find(caller.session_key);
  for (const auto& [handle, object] : session->second.session_objects) {
    if (Matches(object.attributes, filter)) {
      out.push_back(internal::InfoOf(object));
    }
  }
  for (const auto& [handle, object] : core_.keys) {
    const bool visible = caller.role == Role::kAdmin ||
                         internal::MayUse(object.attributes, caller.user);
    if (visible && Matches(object.attributes, filter)) {
      out.push_back(internal::InfoOf(object));
    }
  }
  return out;
}

absl::StatusOr<KeyInfo> KeyManager::GetAttributes(const Caller& caller,
                                                  ObjectHandle handle) const {
  std::shared_lock lock(core_.mu);
  COFFER_RETURN_IF_ERROR(internal::RequireLiveSession(core_, caller).status());
  COFFER_ASSIGN_OR_RETURN(const KeyObject* object,
                          internal::LookupVisible(core_, caller, handle));
  return internal::InfoOf(*object);
}

absl::Status KeyManager::SetAttribute(const Caller& caller, ObjectHandle handle,
                                      const AttributeChange& change) {
  const bool owner_part = TouchesOwnerAttributes(change);
  if (!owner_part && !change.trusted) {
    return absl::InvalidArgumentError("the attribute change sets nothing");
  }
  if (change.trusted && caller.role != Role::kAdmin) {
    return absl::PermissionDeniedError(
        "only an admin may set CKA_TRUSTED: trust in a wrapping key is the "
        "security officer's decision");
  }
  if (owner_part && caller.role == Role::kAdmin) {
    return absl::PermissionDeniedError(
        "admins may change only CKA_TRUSTED; every other attribute belongs to "
        "the key's owner");
  }
  std::unique_lock lock(core_.mu);
  COFFER_RETURN_IF_ERROR(internal::RequireLiveSession(core_, caller).status());
  KeyObject* object = nullptr;
  if (caller.role == Role::kAdmin) {
    COFFER_ASSIGN_OR_RETURN(const KeyObject* found,
                            internal::LookupVisible(core_, caller, handle));
    object = const_cast<KeyObject*>(found);
  } else {
    COFFER_ASSIGN_OR_RETURN(
        object,
        internal::LookupOwned(core_, caller, handle, "change attributes of"));
  }
  COFFER_RETURN_IF_ERROR(CheckOneWay(object->attributes, change));
  KeyAttributes updated = object->attributes;
  ApplyChange(updated, change);
  return StoreChange(core_, object, std::move(updated));
}

absl::Status KeyManager::Share(const Caller& caller, ObjectHandle handle,
                               const std::string& user) {
  std::unique_lock lock(core_.mu);
  COFFER_RETURN_IF_ERROR(internal::RequireLiveSession(core_, caller).status());
  COFFER_ASSIGN_OR_RETURN(
      KeyObject * object,
      internal::LookupOwned(core_, caller, handle, "share"));
  if (!object->attributes.token) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key ", handle,
        " is a session object: it lives only in the session that made it and "
        "cannot be shared"));
  }
  auto target = core_.users.find(user);
  if (target == core_.users.end() || target->second.role != Role::kCryptoUser) {
    return absl::PermissionDeniedError(
        absl::StrCat("keys can be shared only with crypto users; '", user,
                     "' is not a crypto user"));
  }
  if (user == caller.user || object->attributes.shared_with.count(user) != 0) {
    return absl::OkStatus();  // already has access: sharing is idempotent
  }
  KeyAttributes updated = object->attributes;
  updated.shared_with.insert(user);
  return StoreChange(core_, object, std::move(updated));
}

absl::Status KeyManager::Unshare(const Caller& caller, ObjectHandle handle,
                                 const std::string& user) {
  std::unique_lock lock(core_.mu);
  COFFER_RETURN_IF_ERROR(internal::RequireLiveSession(core_, caller).status());
  COFFER_ASSIGN_OR_RETURN(
      KeyObject * object,
      internal::LookupOwned(core_, caller, handle, "unshare"));
  // No user check: removing a deleted user's share must stay possible.
  if (object->attributes.shared_with.count(user) == 0) {
    return absl::OkStatus();  // idempotent, so a retried request is safe
  }
  KeyAttributes updated = object->attributes;
  updated.shared_with.erase(user);
  return StoreChange(core_, object, std::move(updated));
}

absl::Status KeyManager::Destroy(const Caller& caller, ObjectHandle handle) {
  std::unique_lock lock(core_.mu);
  COFFER_RETURN_IF_ERROR(internal::RequireLiveSession(core_, caller).status());
  COFFER_ASSIGN_OR_RETURN(
      KeyObject * object,
      internal::LookupOwned(core_, caller, handle, "destroy"));
  if (object->attributes.token) {
    std::vector<store::RecordWrite> writes;
    writes.push_back({kKeyKind, internal::KeyRecordId(handle), std::nullopt});
    return core_.CommitState(std::move(writes));  // Apply drops the cache
  }
  internal::Session& session = core_.sessions.at(caller.session_key);
  session.private_keys.erase(handle);
  session.session_objects.erase(handle);
  return absl::OkStatus();
}

}  // namespace coffer::hsm
