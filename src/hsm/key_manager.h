// Keys and certificates inside one HSM: generation, import, lookup, PKCS#11
// attribute rules, sharing and every cryptographic operation, with the
// FIPS-mode policy enforced on each call (hsm/policy.h). Thread-safe; signing
// and other uses take a shared lock, so they run in parallel.
//
// Rules: only crypto users (CUs) create and use keys; a key's owner, and
// the CUs it is shared with, may use it; only the owner shares, unshares,
// wraps out or destroys it. Admins may list keys and read attributes (never
// material) and set CKA_TRUSTED. A sensitive key's material is never
// revealed; a non-extractable key is never wrapped; a key marked
// wrap-with-trusted is wrapped only by a trusted wrapping key.
// Every use of a key (sign, verify, encrypt, decrypt, wrap, unwrap, derive)
// needs an approved quorum token when key use is under quorum control.
// Certificate objects (X.509) follow the same ownership, sharing and
// session/token rules as keys; every operation refuses them
// (InvalidArgument "object N is a certificate, not a key").
// Errors as in hsm.h; PermissionDenied names the rule that refused.
#ifndef COFFER_HSM_KEY_MANAGER_H_
#define COFFER_HSM_KEY_MANAGER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hsm/hsm.h"
#include "hsm/mechanism.h"
#include "hsm/quorum.h"
#include "hsm/types.h"

namespace coffer::hsm {

// What a caller asks for; unset attributes take PKCS#11's defaults for the
// key class. For a key pair the usage flags are split: encrypt, verify and
// wrap go to the public key; decrypt, sign, unwrap, derive to the private.
struct KeyTemplate {
  KeyType key_type = KeyType::kAes;
  uint32_t bits = 0;  // AES 128/192/256, generic 64..4096, RSA 2048..4096
  std::string label;
  Bytes id;
  bool token = true;
  std::optional<bool> sensitive, extractable, encrypt, decrypt, sign, verify,
      wrap, unwrap, derive, wrap_with_trusted;
};

// Attributes to match in Find(); unset fields match anything. A set
// key_type matches keys only: certificates have no CKA_KEY_TYPE.
struct KeyFilter {
  std::optional<ObjectClass> object_class;
  std::optional<KeyType> key_type;
  std::optional<std::string> label;
  std::optional<Bytes> id;
  std::optional<bool> token;
};

// A change SetAttribute() may make (one field set).
struct AttributeChange {
  std::optional<std::string> label;
  std::optional<Bytes> id;
  std::optional<bool> sensitive, extractable, encrypt, decrypt, sign, verify,
      wrap, unwrap, derive, trusted, wrap_with_trusted;
};

// Never carries secret material.
struct KeyInfo {
  ObjectHandle handle = 0;
  KeyAttributes attributes;
  // SubjectPublicKeyInfo of public and private keys, and of a
  // certificate's subject key (equal to its key pair's public_der).
  Bytes public_der;
  Bytes certificate_der;  // certificates: the X.509 DER; keys: empty
};

// The largest certificate ImportCertificate accepts.
inline constexpr size_t kMaxCertificateSize = 32 * 1024;

struct KeyPairHandles {
  ObjectHandle public_key = 0;
  ObjectHandle private_key = 0;
};

class KeyManager {
 public:
  KeyManager(internal::Core& core, QuorumManager& quorum)
      : core_(core), quorum_(quorum) {}

  absl::StatusOr<ObjectHandle> GenerateSecretKey(const Caller& caller,
                                                 const KeyTemplate& spec);
  absl::StatusOr<KeyPairHandles> GenerateKeyPair(const Caller& caller,
                                                 const KeyTemplate& spec);
  // Stores an X.509 certificate (one DER certificate, at most
  // kMaxCertificateSize bytes, whose subject key is RSA, EC P-256/P-384 or
  // Ed25519; InvalidArgument otherwise) as a certificate object owned by
  // the caller, a CU. Certificates are public: sensitive is false,
  // extractable true, every usage attribute false. `token` false makes a
  // session object. The certificate is not checked against any trust
  // anchor or clock: storing it asserts nothing about it.
  absl::StatusOr<ObjectHandle> ImportCertificate(const Caller& caller,
                                                 ByteView der,
                                                 const std::string& label,
                                                 const Bytes& id, bool token);
  absl::StatusOr<std::vector<KeyInfo>> Find(const Caller& caller,
                                            const KeyFilter& filter) const;
  absl::StatusOr<KeyInfo> GetAttributes(const Caller& caller,
                                        ObjectHandle handle) const;
  absl::Status SetAttribute(const Caller& caller, ObjectHandle handle,
                            const AttributeChange& change);
  absl::Status Share(const Caller& caller, ObjectHandle handle,
                     const std::string& user);
  absl::Status Unshare(const Caller& caller, ObjectHandle handle,
                       const std::string& user);
  absl::Status Destroy(const Caller& caller, ObjectHandle handle);

  absl::StatusOr<Bytes> Sign(const Caller& caller, ObjectHandle key,
                             const MechanismParams& mech, ByteView data) const;
  // OK, or DataLoss when the signature does not verify.
  absl::Status Verify(const Caller& caller, ObjectHandle key,
                      const MechanismParams& mech, ByteView data,
                      ByteView signature) const;
  // AES-GCM: the HSM generates the IV (mech.iv must be empty) and returns
  // it in EncryptResult.iv. CBC-PAD and CTR take the caller's IV.
  absl::StatusOr<EncryptResult> Encrypt(const Caller& caller, ObjectHandle key,
                                        const MechanismParams& mech,
                                        ByteView plaintext) const;
  absl::StatusOr<crypto::SecretBytes> Decrypt(const Caller& caller,
                                              ObjectHandle key,
                                              const MechanismParams& mech,
                                              ByteView ciphertext) const;
  // Wraps `key` under `wrapping_key` (AES-KW, AES-KWP or RSA-OAEP).
  absl::StatusOr<Bytes> Wrap(const Caller& caller, ObjectHandle wrapping_key,
                             ObjectHandle key,
                             const MechanismParams& mech) const;
  // Unwraps into a new key owned by the caller, with `spec`'s attributes.
  absl::StatusOr<ObjectHandle> Unwrap(const Caller& caller,
                                      ObjectHandle unwrapping_key,
                                      const MechanismParams& mech,
                                      ByteView wrapped,
                                      const KeyTemplate& spec);
  // ECDH (CKD_NULL) with a peer's public key (SubjectPublicKeyInfo DER),
  // into a new generic-secret or AES key with `spec`'s attributes.
  absl::StatusOr<ObjectHandle> DeriveEcdh(const Caller& caller,
                                          ObjectHandle private_key,
                                          ByteView peer_public_der,
                                          const KeyTemplate& spec);

 private:
  // OK unless key use is under quorum control and the caller's token is
  // missing or unapproved.
  absl::Status CheckKeyUseQuorum(const Caller& caller) const;

  internal::Core& core_;
  QuorumManager& quorum_;
};

}  // namespace coffer::hsm

#endif  // COFFER_HSM_KEY_MANAGER_H_
