// Vocabulary shared by every part of the HSM core: modes, roles, states and
// the PKCS#11-style key object model. No behaviour lives here.
#ifndef COFFER_HSM_TYPES_H_
#define COFFER_HSM_TYPES_H_

#include <cstdint>
#include <set>
#include <string>

#include "base/bytes.h"
#include "crypto/secret_bytes.h"

namespace coffer::hsm {

// Fixed at commissioning, never changed afterwards.
enum class Mode { kNonFips, kFips };

enum class Role {
  kAdmin,          // CO: manages users, quorum, policies; no key use
  kCryptoUser,     // CU: creates and uses keys
  kApplianceUser,  // AU: the service's account for cloning and sync
};

enum class HsmState {
  kUncommissioned,  // manufactured; waiting for the AKBK ceremony
  kCommissioned,    // AKBK and mode installed; no cluster identity yet
  kUnactivated,     // cluster certificate installed; admin not activated
  kActive,          // serving
  kTampered,        // secrets erased; refuses everything but info/restore
};

using ObjectHandle = uint64_t;  // stable for the life of the object

// kCertificate is CKO_CERTIFICATE with CKA_CERTIFICATE_TYPE = CKC_X_509:
// public data, never used for a cryptographic operation (docs/keys.md).
enum class ObjectClass { kSecretKey, kPrivateKey, kPublicKey, kCertificate };

enum class KeyType {
  kAes,            // 128, 192, 256 bits
  kGenericSecret,  // HMAC keys, 8..512 bytes
  kRsa,            // 2048..4096 bits
  kEcP256,
  kEcP384,
  kEd25519,
};

// The PKCS#11 attributes Coffer stores per object (CKA_* in comments).
// Certificates have no CKA_KEY_TYPE: their key_type is the type of the
// subject's public key, for display, and KeyFilter::key_type never matches
// a certificate. Their bits are the subject key's size.
struct KeyAttributes {
  ObjectClass object_class = ObjectClass::kSecretKey;  // CKA_CLASS
  KeyType key_type = KeyType::kAes;                    // CKA_KEY_TYPE
  std::string label;                                   // CKA_LABEL
  Bytes id;                                            // CKA_ID
  bool token = true;               // CKA_TOKEN: false = session object
  bool sensitive = true;           // CKA_SENSITIVE
  bool extractable = false;        // CKA_EXTRACTABLE
  bool encrypt = false;            // CKA_ENCRYPT
  bool decrypt = false;            // CKA_DECRYPT
  bool sign = false;               // CKA_SIGN
  bool verify = false;             // CKA_VERIFY
  bool wrap = false;               // CKA_WRAP
  bool unwrap = false;             // CKA_UNWRAP
  bool derive = false;             // CKA_DERIVE
  bool trusted = false;            // CKA_TRUSTED (set by an admin only)
  bool wrap_with_trusted = false;  // CKA_WRAP_WITH_TRUSTED
  // Set by the HSM, read-only to clients:
  bool local = true;                  // CKA_LOCAL: generated inside
  bool always_sensitive = true;       // CKA_ALWAYS_SENSITIVE
  bool never_extractable = true;      // CKA_NEVER_EXTRACTABLE
  uint32_t bits = 0;                  // CKA_VALUE_LEN*8 / CKA_MODULUS_BITS
  std::string owner;                  // the CU that created it
  std::set<std::string> shared_with;  // CUs that may use it
};

struct KeyObject {
  ObjectHandle handle = 0;
  KeyAttributes attributes;
  // Secret keys: the raw key. Private keys: PKCS#8 DER. Public keys and
  // certificates: empty.
  crypto::SecretBytes secret;
  // Public and private keys: the SubjectPublicKeyInfo DER. Certificates:
  // the subject's SubjectPublicKeyInfo, as the HSM encodes it, so it equals
  // the public_der of the matching key pair.
  Bytes public_der;
  // Certificates: the X.509 certificate, DER (CKA_VALUE). Keys: empty.
  Bytes certificate_der;
  // The private key's partner (and vice versa); 0 when none.
  ObjectHandle pair_handle = 0;
};

}  // namespace coffer::hsm

#endif  // COFFER_HSM_TYPES_H_
