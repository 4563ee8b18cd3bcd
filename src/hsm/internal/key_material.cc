#include "hsm/internal/key_material.h"

#include <mutex>
#include <shared_mutex>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "hsm/internal/key_util.h"

namespace coffer::hsm::internal {
namespace {

using crypto::SecretBytes;

constexpr uint8_t Bit(KeyUse use) {
  return static_cast<uint8_t>(1u << static_cast<int>(use));
}
constexpr uint8_t kSignVerify = Bit(KeyUse::kSign) | Bit(KeyUse::kVerify);
constexpr uint8_t kCrypt = Bit(KeyUse::kEncrypt) | Bit(KeyUse::kDecrypt);
constexpr uint8_t kWrapping = Bit(KeyUse::kWrap) | Bit(KeyUse::kUnwrap);

bool IsRsa(KeyType t) { return t == KeyType::kRsa; }
bool IsEc(KeyType t) { return t == KeyType::kEcP256 || t == KeyType::kEcP384; }
bool IsEd(KeyType t) { return t == KeyType::kEd25519; }
bool IsAes(KeyType t) { return t == KeyType::kAes; }
bool IsGeneric(KeyType t) { return t == KeyType::kGenericSecret; }

// Which keys and uses each mechanism serves.
struct MechanismInfo {
  Mechanism mechanism;
  const char* name;
  bool (*fits)(KeyType);
  uint8_t uses;
};

constexpr MechanismInfo kMechanisms[] = {
    {Mechanism::kRsaPkcs, "CKM_RSA_PKCS", IsRsa,
     kSignVerify | kCrypt | kWrapping},
    {Mechanism::kRsaPkcsPss, "CKM_RSA_PKCS_PSS", IsRsa, kSignVerify},
    {Mechanism::kRsaPkcsOaep, "CKM_RSA_PKCS_OAEP", IsRsa, kCrypt | kWrapping},
    {Mechanism::kEcdsa, "CKM_ECDSA", IsEc, kSignVerify},
    {Mechanism::kEddsa, "CKM_EDDSA", IsEd, kSignVerify},
    {Mechanism::kAesGcm, "CKM_AES_GCM", IsAes, kCrypt},
    {Mechanism::kAesCbcPad, "CKM_AES_CBC_PAD", IsAes, kCrypt},
    {Mechanism::kAesCtr, "CKM_AES_CTR", IsAes, kCrypt},
    {Mechanism::kAesKeyWrap, "CKM_AES_KEY_WRAP", IsAes, kWrapping},
    {Mechanism::kAesKeyWrapPad, "CKM_AES_KEY_WRAP_PAD", IsAes, kWrapping},
    {Mechanism::kHmac, "CKM_SHA*_HMAC", IsGeneric, kSignVerify},
};

const MechanismInfo& InfoOf(Mechanism m) {
  for (const MechanismInfo& info : kMechanisms) {
    if (info.mechanism == m) return info;
  }
  return kMechanisms[0];  // unreachable: the table covers the enum
}

// Asymmetric keys: the private half signs, decrypts, unwraps and derives;
// the public half does the rest. Secret keys do everything they fit.
ObjectClass ClassFor(KeyType type, KeyUse use) {
  if (IsAes(type) || IsGeneric(type)) return ObjectClass::kSecretKey;
  const bool private_use = use == KeyUse::kSign || use == KeyUse::kDecrypt ||
                           use == KeyUse::kUnwrap || use == KeyUse::kDerive;
  return private_use ? ObjectClass::kPrivateKey : ObjectClass::kPublicKey;
}

const char* ClassName(ObjectClass c) {
  switch (c) {
    case ObjectClass::kSecretKey:
      return "secret";
    case ObjectClass::kPrivateKey:
      return "private";
    case ObjectClass::kPublicKey:
      return "public";
    case ObjectClass::kCertificate:
      return "certificate";
  }
  return "unknown";
}

absl::Status CheckFits(const MechanismParams& mech, const KeyObject& key,
                       KeyUse use) {
  const KeyAttributes& a = key.attributes;
  if (use == KeyUse::kDerive) {
    if (!IsEc(a.key_type) || a.object_class != ObjectClass::kPrivateKey) {
      return absl::InvalidArgumentError(
          absl::StrCat("ECDH needs an EC P-256 or P-384 private key; key ",
                       key.handle, " is a ", KeyTypeName(a.key_type), " ",
                       ClassName(a.object_class), " key"));
    }
    return absl::OkStatus();
  }
  const MechanismInfo& info = InfoOf(mech.mechanism);
  if ((info.uses & Bit(use)) == 0 || !info.fits(a.key_type)) {
    return absl::InvalidArgumentError(
        absl::StrCat(info.name, " does not serve this operation with key ",
                     key.handle, ", a ", KeyTypeName(a.key_type), " key"));
  }
  const ObjectClass needed = ClassFor(a.key_type, use);
  if (a.object_class != needed) {
    return absl::InvalidArgumentError(absl::StrCat(
        info.name, " needs the ", ClassName(needed), " key here; key ",
        key.handle, " is the ", ClassName(a.object_class), " key"));
  }
  return absl::OkStatus();
}

absl::Status LoadMaterial(const Core& core, const Caller& caller,
                          const KeyObject& object, Material& m,
                          bool* parsed_now) {
  m.handle = object.handle;
  m.attributes = object.attributes;
  switch (object.attributes.object_class) {
    case ObjectClass::kSecretKey:
      m.secret = object.secret.Clone();
      break;
    case ObjectClass::kPrivateKey: {
      COFFER_ASSIGN_OR_RETURN(
          m.private_key,
          internal::PrivateKeyOf(core, caller, object, parsed_now));
      break;
    }
    case ObjectClass::kPublicKey: {
      COFFER_ASSIGN_OR_RETURN(m.public_key,
                              crypto::PublicKey::FromDer(object.public_der));
      break;
    }
    case ObjectClass::kCertificate:
      return RequireKey(object);  // LookupForUse has refused it already
  }
  return absl::OkStatus();
}

}  // namespace

// A key the caller may use for `use` with `mech`: every check, then its
// material.
absl::StatusOr<Material> UsableKey(Core& core, const Caller& caller,
                                   ObjectHandle handle,
                                   const MechanismParams& mech, KeyUse use) {
  Material m;
  bool parsed_now = false;
  {
    std::shared_lock lock(core.mu);
    COFFER_ASSIGN_OR_RETURN(m.mode, RequireLiveSession(core, caller));
    COFFER_ASSIGN_OR_RETURN(const KeyObject* object,
                            LookupForUse(core, caller, handle, use));
    COFFER_RETURN_IF_ERROR(
        CheckMechanism(m.mode, mech, object->attributes, use));
    COFFER_RETURN_IF_ERROR(CheckFits(mech, *object, use));
    COFFER_RETURN_IF_ERROR(LoadMaterial(core, caller, *object, m, &parsed_now));
  }
  if (parsed_now) {
    std::unique_lock lock(core.mu);
    CachePrivateKey(core, handle, *m.private_key);
  }
  return m;
}

}  // namespace coffer::hsm::internal
