// The HSM's algorithm policy: which key types and mechanisms each mode
// allows. Non-FIPS mode allows everything Coffer implements; FIPS mode
// refuses what FIPS 140-3 / SP 800-131A do not approve. One table of rules
// (policy.cc) serves every check, so the refusal text always names the rule.
//
// Every refusal is PermissionDenied, e.g.
//   "FIPS mode: Ed25519 is not an approved algorithm".
// Pure functions of their arguments; thread-safe.
#ifndef COFFER_HSM_POLICY_H_
#define COFFER_HSM_POLICY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "hsm/mechanism.h"
#include "hsm/types.h"

namespace coffer::hsm {

// What a key is used for; each maps to one CKA_* usage attribute.
enum class KeyUse {
  kSign,
  kVerify,
  kEncrypt,
  kDecrypt,
  kWrap,
  kUnwrap,
  kDerive
};

// Generating a key (or key pair) of `type` with `bits` (RSA: modulus bits;
// ignored for the curves).
absl::Status CheckKeyGeneration(Mode mode, KeyType type, uint32_t bits);

// Creating a key from outside material: unwrapping or deriving it.
absl::Status CheckKeyImport(Mode mode, KeyType type, uint32_t bits);

// Using `key` for `use` with `mech`. ECDH derivation passes a default
// MechanismParams (its hash is not used) with KeyUse::kDerive.
absl::Status CheckMechanism(Mode mode, const MechanismParams& mech,
                            const KeyAttributes& key, KeyUse use);

// The FIPS-mode rules, one line each, for documentation and `hsm-info`.
std::vector<std::string> FipsRules();

}  // namespace coffer::hsm

#endif  // COFFER_HSM_POLICY_H_
