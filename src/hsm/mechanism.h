// Mechanisms the HSM offers, named after their PKCS#11 counterparts, and
// their parameters.
#ifndef COFFER_HSM_MECHANISM_H_
#define COFFER_HSM_MECHANISM_H_

#include <cstdint>

#include "base/bytes.h"
#include "crypto/hash.h"

namespace coffer::hsm {

enum class Mechanism {
  kRsaPkcs,        // CKM_RSA_PKCS / CKM_SHAx_RSA_PKCS (sign; non-FIPS enc)
  kRsaPkcsPss,     // CKM_RSA_PKCS_PSS / CKM_SHAx_RSA_PKCS_PSS
  kRsaPkcsOaep,    // CKM_RSA_PKCS_OAEP (encrypt, wrap)
  kEcdsa,          // CKM_ECDSA / CKM_ECDSA_SHAx; r||s signatures
  kEddsa,          // CKM_EDDSA (Ed25519; not in FIPS mode)
  kAesGcm,         // CKM_AES_GCM
  kAesCbcPad,      // CKM_AES_CBC_PAD
  kAesCtr,         // CKM_AES_CTR
  kAesKeyWrap,     // CKM_AES_KEY_WRAP (KW)
  kAesKeyWrapPad,  // CKM_AES_KEY_WRAP_PAD (KWP)
  kHmac,           // CKM_SHAx_HMAC
};

struct MechanismParams {
  Mechanism mechanism = Mechanism::kEcdsa;
  crypto::HashAlg hash = crypto::HashAlg::kSha256;
  // Signatures: true = `data` is already a digest (CKM_ECDSA, CKM_RSA_PKCS
  // with a DigestInfo, CKM_RSA_PKCS_PSS), false = hash it (CKM_SHAx_*).
  bool prehashed = false;
  int pss_salt_size = -1;   // -1: the digest's size
  Bytes iv;                 // CBC-PAD: 16 bytes; CTR: 16-byte counter block
  Bytes aad;                // GCM
  uint32_t tag_bits = 128;  // GCM
  Bytes oaep_label;         // OAEP
};

struct EncryptResult {
  Bytes iv;          // GCM: the IV the HSM generated; empty otherwise
  Bytes ciphertext;  // GCM: ciphertext || tag
};

}  // namespace coffer::hsm

#endif  // COFFER_HSM_MECHANISM_H_
