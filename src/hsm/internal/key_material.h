// The gate every key operation passes: caller, usage attribute, FIPS policy
// and mechanism/key fit, checked under a shared lock, then the key's
// material copied out so the operation computes with no lock held. Only
// src/hsm includes this.
#ifndef COFFER_HSM_INTERNAL_KEY_MATERIAL_H_
#define COFFER_HSM_INTERNAL_KEY_MATERIAL_H_

#include <optional>

#include "absl/status/statusor.h"
#include "crypto/asymmetric.h"
#include "crypto/secret_bytes.h"
#include "hsm/hsm.h"
#include "hsm/internal/core.h"
#include "hsm/mechanism.h"
#include "hsm/policy.h"
#include "hsm/types.h"

namespace coffer::hsm::internal {

// What an operation needs of a key. A parsed private key is a refcounted
// handle; a secret key is a clone, cleansed when this goes.
struct Material {
  Mode mode = Mode::kFips;  // the HSM's, for later policy checks
  ObjectHandle handle = 0;
  KeyAttributes attributes;
  crypto::SecretBytes secret;  // secret keys
  std::optional<crypto::PrivateKey> private_key;
  std::optional<crypto::PublicKey> public_key;
};

// The key `handle`, if `caller` (a CU with a live session) may use it for
// `use` with `mech`: owner or shared, its CKA_* usage attribute true, the
// policy of the HSM's mode, and a mechanism that serves this key type and
// half (InvalidArgument otherwise). KeyUse::kDerive ignores `mech` and
// needs an EC private key (ECDH). Takes the lock itself; a private key
// parsed here is added to the cache under a brief exclusive lock.
absl::StatusOr<Material> UsableKey(Core& core, const Caller& caller,
                                   ObjectHandle handle,
                                   const MechanismParams& mech, KeyUse use);

}  // namespace coffer::hsm::internal

#endif  // COFFER_HSM_INTERNAL_KEY_MATERIAL_H_
