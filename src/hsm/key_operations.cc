// The cryptographic operations of KeyManager. Each one checks the caller,
// the key's usage attribute, the FIPS policy and the mechanism under a
// shared lock, copies out what it needs (a parsed private key is a
// refcounted handle; a secret key is cloned), and computes with no lock
// held, so operations run in parallel and never hold up writers.
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/cipher.h"
#include "crypto/key_wrap.h"
#include "crypto/mac.h"
#include "crypto/random.h"
#include "hsm/internal/core.h"
#include "hsm/internal/key_material.h"
#include "hsm/internal/key_util.h"
#include "hsm/key_manager.h"
#include "hsm/policy.h"

namespace coffer::hsm {
namespace {

using crypto::SecretBytes;
using internal::Material;
using internal::UsableKey;

bool IsAes(KeyType t) { return t == KeyType::kAes; }
bool IsGeneric(KeyType t) { return t == KeyType::kGenericSecret; }

crypto::SignatureParams SignatureParamsFor(const MechanismParams& mech) {
  switch (mech.mechanism) {
    case Mechanism::kRsaPkcs:
      return {crypto::SignatureAlgorithm::kRsaPkcs1v15, mech.hash};
    case Mechanism::kRsaPkcsPss:
      return {crypto::SignatureAlgorithm::kRsaPss, mech.hash,
              mech.pss_salt_size};
    case Mechanism::kEddsa:
      return {crypto::SignatureAlgorithm::kEd25519, mech.hash};
    default:
      return {crypto::SignatureAlgorithm::kEcdsaP1363, mech.hash};
  }
}

absl::StatusOr<crypto::Hmac> HmacFor(const MechanismParams& mech, Material& k) {
  if (mech.prehashed) {
    return absl::InvalidArgumentError("HMAC has no prehashed form");
  }
  return crypto::Hmac::Create(mech.hash, std::move(k.secret));
}

absl::StatusOr<size_t> GcmTagSize(const MechanismParams& mech) {
  if (mech.tag_bits % 8 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("AES-GCM tag length must be whole bytes; got ",
                     mech.tag_bits, " bits"));
  }
  return mech.tag_bits / 8;
}

// Creates a key from outside material (unwrap, derive) in the caller's
// name: the "key came from outside" attributes of PKCS#11.
absl::StatusOr<ObjectHandle> AddImportedKey(internal::Core& core,
                                            const Caller& caller,
                                            const KeyTemplate& spec,
                                            internal::NewObject key) {
  std::unique_lock lock(core.mu);
  COFFER_RETURN_IF_ERROR(internal::RequireLiveSession(core, caller).status());
  COFFER_ASSIGN_OR_RETURN(std::vector<ObjectHandle> handles,
                          internal::NewHandles(core, 1));
  key.object.handle = handles[0];
  std::vector<internal::NewObject> objects;
  objects.push_back(std::move(key));
  COFFER_RETURN_IF_ERROR(
      internal::AddObjects(core, caller, spec.token, std::move(objects)));
  return handles[0];
}

// The new key object for unwrapped `plaintext`, checked against `spec`.
absl::StatusOr<internal::NewObject> UnwrappedObject(const Material& kek,
                                                    const Caller& caller,
                                                    const KeyTemplate& spec,
                                                    SecretBytes plaintext) {
  internal::NewObject n;
  const bool secret = IsAes(spec.key_type) || IsGeneric(spec.key_type);
  uint32_t bits = static_cast<uint32_t>(plaintext.size() * 8);
  if (secret) {
    COFFER_RETURN_IF_ERROR(internal::CheckSecretKeySize(spec.key_type, bits));
    if (spec.bits != 0 && spec.bits != bits) {
      return absl::InvalidArgumentError(
          absl::StrCat("the unwrapped key has ", bits,
                       " bits; the template asks for ", spec.bits));
    }
  } else {
    absl::StatusOr<crypto::PrivateKey> parsed =
        crypto::PrivateKey::FromPkcs8Der(plaintext);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          "the unwrapped data is not a supported PKCS#8 private key");
    }
    const KeyType type = internal::KeyTypeOf(parsed->algorithm());
    if (type != spec.key_type) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the unwrapped key is ", internal::KeyTypeName(type),
          "; the template says ", internal::KeyTypeName(spec.key_type)));
    }
    bits = static_cast<uint32_t>(parsed->bits());
    COFFER_ASSIGN_OR_RETURN(n.object.public_der, parsed->public_key().ToDer());
    // Store the HSM's own encoding, as for generated keys, not whatever
    // optional fields the sender's PKCS#8 carried.
    COFFER_ASSIGN_OR_RETURN(plaintext, parsed->ToPkcs8Der());
    n.parsed = *std::move(parsed);
  }
  COFFER_RETURN_IF_ERROR(CheckKeyImport(kek.mode, spec.key_type, bits));
  n.object.attributes = internal::AttributesFromTemplate(
      spec, secret ? ObjectClass::kSecretKey : ObjectClass::kPrivateKey,
      caller.user);
  n.object.attributes.bits = bits;
  // PKCS#11: a key that came from outside was never guaranteed secret.
  n.object.attributes.local = false;
  n.object.attributes.always_sensitive = false;
  n.object.attributes.never_extractable = false;
  n.object.secret = std::move(plaintext);
  return n;
}

// AES-KW or AES-KWP under `kek`, as `mech` names.
absl::StatusOr<crypto::AesKeyWrap> KeyWrapFor(const MechanismParams& mech,
                                              SecretBytes kek) {
  return crypto::AesKeyWrap::Create(mech.mechanism == Mechanism::kAesKeyWrap
                                        ? crypto::KeyWrapMode::kKw
                                        : crypto::KeyWrapMode::kKwp,
                                    std::move(kek));
}

bool IsRsaTransport(Mechanism m) {
  return m == Mechanism::kRsaPkcsOaep || m == Mechanism::kRsaPkcs;
}

}  // namespace

absl::Status KeyManager::CheckKeyUseQuorum(const Caller& caller) const {
  return quorum_.Require(caller, QuorumService::kKeyUse);
}

absl::StatusOr<Bytes> KeyManager::Sign(const Caller& caller, ObjectHandle key,
                                       const MechanismParams& mech,
                                       ByteView data) const {
  COFFER_RETURN_IF_ERROR(CheckKeyUseQuorum(caller));
  COFFER_ASSIGN_OR_RETURN(Material k,
                          UsableKey(core_, caller, key, mech, KeyUse::kSign));
  if (mech.mechanism == Mechanism::kHmac) {
    COFFER_ASSIGN_OR_RETURN(crypto::Hmac hmac, HmacFor(mech, k));
    return hmac.Compute(data);
  }
  const crypto::SignatureParams params = SignatureParamsFor(mech);
  return mech.prehashed ? k.private_key->SignDigest(params, data)
                        : k.private_key->Sign(params, data);
}

absl::Status KeyManager::Verify(const Caller& caller, ObjectHandle key,
                                const MechanismParams& mech, ByteView data,
                                ByteView signature) const {
  COFFER_RETURN_IF_ERROR(CheckKeyUseQuorum(caller));
  COFFER_ASSIGN_OR_RETURN(Material k,
                          UsableKey(core_, caller, key, mech, KeyUse::kVerify));
  if (mech.mechanism == Mechanism::kHmac) {
    COFFER_ASSIGN_OR_RETURN(crypto::Hmac hmac, HmacFor(mech, k));
    return hmac.Verify(data, signature);
  }
  const crypto::SignatureParams params = SignatureParamsFor(mech);
  return mech.prehashed ? k.public_key->VerifyDigest(params, data, signature)
                        : k.public_key->Verify(params, data, signature);
}

absl::StatusOr<EncryptResult> KeyManager::Encrypt(const Caller& caller,
                                                  ObjectHandle key,
                                                  const MechanismParams& mech,
                                                  ByteView plaintext) const {
  COFFER_RETURN_IF_ERROR(CheckKeyUseQuorum(caller));
  COFFER_ASSIGN_OR_RETURN(
      Material k, UsableKey(core_, caller, key, mech, KeyUse::kEncrypt));
  EncryptResult out;
  switch (mech.mechanism) {
    case Mechanism::kAesGcm: {
      if (!mech.iv.empty()) {
        return absl::InvalidArgumentError(
            "the HSM generates AES-GCM IVs so none repeats: leave the IV "
            "empty; it comes back with the ciphertext");
      }
      COFFER_ASSIGN_OR_RETURN(size_t tag, GcmTagSize(mech));
      COFFER_ASSIGN_OR_RETURN(crypto::AesGcm gcm,
                              crypto::AesGcm::Create(std::move(k.secret)));
      COFFER_ASSIGN_OR_RETURN(out.iv,
                              crypto::RandomBytes(crypto::AesGcm::kIvSize));
      COFFER_ASSIGN_OR_RETURN(
          out.ciphertext, gcm.EncryptWithIv(out.iv, plaintext, mech.aad, tag));
      return out;
    }
    case Mechanism::kAesCbcPad: {
      COFFER_ASSIGN_OR_RETURN(crypto::AesCbc cbc,
                              crypto::AesCbc::Create(std::move(k.secret)));
      COFFER_ASSIGN_OR_RETURN(out.ciphertext, cbc.Encrypt(mech.iv, plaintext));
      return out;
    }
    case Mechanism::kAesCtr: {
      COFFER_ASSIGN_OR_RETURN(crypto::AesCtr ctr,
                              crypto::AesCtr::Create(std::move(k.secret)));
      COFFER_ASSIGN_OR_RETURN(out.ciphertext, ctr.Encrypt(mech.iv, plaintext));
      return out;
    }
    case Mechanism::kRsaPkcsOaep: {
      COFFER_ASSIGN_OR_RETURN(
          out.ciphertext,
          k.public_key->EncryptOaep(mech.hash, plaintext, mech.oaep_label));
      return out;
    }
    default: {  // CheckFits admits only CKM_RSA_PKCS here
      COFFER_ASSIGN_OR_RETURN(out.ciphertext,
                              k.public_key->EncryptPkcs1(plaintext));
      return out;
    }
  }
}

absl::StatusOr<SecretBytes> KeyManager::Decrypt(const Caller& caller,
                                                ObjectHandle key,
                                                const MechanismParams& mech,
                                                ByteView ciphertext) const {
  COFFER_RETURN_IF_ERROR(CheckKeyUseQuorum(caller));
  COFFER_ASSIGN_OR_RETURN(
      Material k, UsableKey(core_, caller, key, mech, KeyUse::kDecrypt));
  switch (mech.mechanism) {
    case Mechanism::kAesGcm: {
      COFFER_ASSIGN_OR_RETURN(size_t tag, GcmTagSize(mech));
      COFFER_ASSIGN_OR_RETURN(crypto::AesGcm gcm,
                              crypto::AesGcm::Create(std::move(k.secret)));
      return gcm.DecryptWithIv(mech.iv, ciphertext, mech.aad, tag);
    }
    case Mechanism::kAesCbcPad: {
      COFFER_ASSIGN_OR_RETURN(crypto::AesCbc cbc,
                              crypto::AesCbc::Create(std::move(k.secret)));
      return cbc.Decrypt(mech.iv, ciphertext);
    }
    case Mechanism::kAesCtr: {
      COFFER_ASSIGN_OR_RETURN(crypto::AesCtr ctr,
                              crypto::AesCtr::Create(std::move(k.secret)));
      return ctr.Decrypt(mech.iv, ciphertext);
    }
    case Mechanism::kRsaPkcsOaep:
      return k.private_key->DecryptOaep(mech.hash, ciphertext, mech.oaep_label);
    default:  // CKM_RSA_PKCS
      return k.private_key->DecryptPkcs1(ciphertext);
  }
}

absl::StatusOr<Bytes> KeyManager::Wrap(const Caller& caller,
                                       ObjectHandle wrapping_key,
                                       ObjectHandle key,
                                       const MechanismParams& mech) const {
  COFFER_RETURN_IF_ERROR(CheckKeyUseQuorum(caller));
  COFFER_ASSIGN_OR_RETURN(
      Material w, UsableKey(core_, caller, wrapping_key, mech, KeyUse::kWrap));
  SecretBytes payload;
  {
    std::shared_lock lock(core_.mu);
    COFFER_RETURN_IF_ERROR(
        internal::RequireLiveSession(core_, caller).status());
    COFFER_ASSIGN_OR_RETURN(
        const KeyObject* target,
        internal::LookupOwned(core_, caller, key, "wrap out"));
    // Certificates are public and extractable, but not keys: wrapping one
    // would carry no key material at all.
    COFFER_RETURN_IF_ERROR(internal::RequireKey(*target));
    const KeyAttributes& a = target->attributes;
    if (a.object_class == ObjectClass::kPublicKey) {
      return absl::InvalidArgumentError(absl::StrCat(
          "key ", key, " is a public key: read its public_der instead"));
    }
    if (!a.extractable) {
      return absl::PermissionDeniedError(absl::StrCat(
          "key ", key,
          " is not extractable (CKA_EXTRACTABLE is false): it never leaves "
          "the HSM"));
    }
    // Read the wrapping key's trust now, not from the earlier snapshot, so
    // an admin's revocation takes effect at once.
    const KeyObject* wrapper =
        internal::FindObject(core_, caller, wrapping_key);
    if (a.wrap_with_trusted &&
        (wrapper == nullptr || !wrapper->attributes.trusted)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "key ", key,
          " may be wrapped only by a trusted key (CKA_WRAP_WITH_TRUSTED); "
          "key ",
          wrapping_key, " is not trusted (CKA_TRUSTED is false)"));
    }
    if (IsRsaTransport(mech.mechanism) &&
        a.object_class != ObjectClass::kSecretKey) {
      return absl::InvalidArgumentError(
          "RSA key transport carries secret keys only: wrap private keys "
          "with CKM_AES_KEY_WRAP_PAD");
    }
    payload = target->secret.Clone();
  }
  switch (mech.mechanism) {
    case Mechanism::kAesKeyWrap:
    case Mechanism::kAesKeyWrapPad: {
      COFFER_ASSIGN_OR_RETURN(crypto::AesKeyWrap kw,
                              KeyWrapFor(mech, std::move(w.secret)));
      return kw.Wrap(payload.ExposeSecret());
    }
    case Mechanism::kRsaPkcsOaep:
      return w.public_key->EncryptOaep(mech.hash, payload.ExposeSecret(),
                                       mech.oaep_label);
    default:  // CKM_RSA_PKCS
      return w.public_key->EncryptPkcs1(payload.ExposeSecret());
  }
}

absl::StatusOr<ObjectHandle> KeyManager::Unwrap(const Caller& caller,
                                                ObjectHandle unwrapping_key,
                                                const MechanismParams& mech,
                                                ByteView wrapped,
                                                const KeyTemplate& spec) {
  COFFER_RETURN_IF_ERROR(CheckKeyUseQuorum(caller));
  COFFER_RETURN_IF_ERROR(internal::RequireCryptoUser(caller, "create keys"));
  const bool secret = IsAes(spec.key_type) || IsGeneric(spec.key_type);
  COFFER_ASSIGN_OR_RETURN(Material u, UsableKey(core_, caller, unwrapping_key,
                                                mech, KeyUse::kUnwrap));
  if (IsRsaTransport(mech.mechanism) && !secret) {
    return absl::InvalidArgumentError(
        "RSA key transport carries secret keys only: unwrap private keys "
        "with CKM_AES_KEY_WRAP_PAD");
  }
  SecretBytes plaintext;
  switch (mech.mechanism) {
    case Mechanism::kAesKeyWrap:
    case Mechanism::kAesKeyWrapPad: {
      COFFER_ASSIGN_OR_RETURN(crypto::AesKeyWrap kw,
                              KeyWrapFor(mech, std::move(u.secret)));
      COFFER_ASSIGN_OR_RETURN(plaintext, kw.Unwrap(wrapped));
      break;
    }
    case Mechanism::kRsaPkcsOaep: {
      COFFER_ASSIGN_OR_RETURN(
          plaintext,
          u.private_key->DecryptOaep(mech.hash, wrapped, mech.oaep_label));
      break;
    }
    default: {  // CKM_RSA_PKCS
      COFFER_ASSIGN_OR_RETURN(plaintext, u.private_key->DecryptPkcs1(wrapped));
      break;
    }
  }
  COFFER_ASSIGN_OR_RETURN(
      internal::NewObject key,
      UnwrappedObject(u, caller, spec, std::move(plaintext)));
  return AddImportedKey(core_, caller, spec, std::move(key));
}

absl::StatusOr<ObjectHandle> KeyManager::DeriveEcdh(const Caller& caller,
                                                    ObjectHandle private_key,
                                                    ByteView peer_public_der,
                                                    const KeyTemplate& spec) {
  COFFER_RETURN_IF_ERROR(CheckKeyUseQuorum(caller));
  COFFER_RETURN_IF_ERROR(internal::RequireCryptoUser(caller, "create keys"));
  if (!IsAes(spec.key_type) && !IsGeneric(spec.key_type)) {
    return absl::InvalidArgumentError(
        "ECDH derives secret keys: ask for an AES or generic secret key");
  }
  COFFER_RETURN_IF_ERROR(
      internal::CheckSecretKeySize(spec.key_type, spec.bits));
  COFFER_ASSIGN_OR_RETURN(
      Material p, UsableKey(core_, caller, private_key, MechanismParams{},
                            KeyUse::kDerive));
  COFFER_RETURN_IF_ERROR(CheckKeyImport(p.mode, spec.key_type, spec.bits));
  COFFER_ASSIGN_OR_RETURN(crypto::PublicKey peer,
                          crypto::PublicKey::FromDer(peer_public_der));
  COFFER_ASSIGN_OR_RETURN(SecretBytes shared, p.private_key->DeriveEcdh(peer));
  if (shared.size() * 8 < spec.bits) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", internal::KeyTypeName(p.attributes.key_type),
                     " shared secret has ", shared.size() * 8,
                     " bits, too few for a ", spec.bits, "-bit key"));
  }
  // CKD_NULL: the key is the leading bytes of the shared x-coordinate.
  shared.Truncate(spec.bits / 8);
  internal::NewObject key;
  key.object.attributes = internal::AttributesFromTemplate(
      spec, ObjectClass::kSecretKey, caller.user);
  KeyAttributes& a = key.object.attributes;
  a.bits = spec.bits;
  // PKCS#11 §4.14: derived keys inherit the base key's history.
  a.local = false;
  a.always_sensitive = p.attributes.always_sensitive && a.sensitive;
  a.never_extractable = p.attributes.never_extractable && !a.extractable;
  key.object.secret = std::move(shared);
  return AddImportedKey(core_, caller, spec, std::move(key));
}

}  // namespace coffer::hsm
