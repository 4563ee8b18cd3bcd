// Helpers shared by key_manager.cc and key_operations.cc: who may touch
// which object, handles, attribute templates, and inserting new objects.
// Only src/hsm includes this. Functions taking `const Core&` need at least
// a shared lock on core.mu; those taking `Core&` need the exclusive lock.
#ifndef COFFER_HSM_INTERNAL_KEY_UTIL_H_
#define COFFER_HSM_INTERNAL_KEY_UTIL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/asymmetric.h"
#include "hsm/hsm.h"
#include "hsm/internal/core.h"
#include "hsm/key_manager.h"
#include "hsm/policy.h"
#include "hsm/types.h"

namespace coffer::hsm::internal {

// FailedPrecondition unless the HSM is ACTIVE; Unauthenticated unless the
// caller's session still exists (it ends at logout, password change, user
// deletion and restart). Returns the HSM's mode.
absl::StatusOr<Mode> RequireLiveSession(const Core& core, const Caller& caller);

// PermissionDenied unless `caller` is a crypto user; `what` completes "only
// crypto users may ...".
absl::Status RequireCryptoUser(const Caller& caller, const char* what);

// The caller's session object with `handle`, else the token object, else
// null. Admins see every token object; CUs see all objects here too: the
// access checks below decide what they may do.
const KeyObject* FindObject(const Core& core, const Caller& caller,
                            ObjectHandle handle);
KeyObject* FindObject(Core& core, const Caller& caller, ObjectHandle handle);

// True if `user` owns the key or it is shared with them.
bool MayUse(const KeyAttributes& key, const std::string& user);

// The object, if `caller` may read its attributes (admins: token objects;
// CUs: owned or shared). NotFound / PermissionDenied otherwise.
absl::StatusOr<const KeyObject*> LookupVisible(const Core& core,
                                               const Caller& caller,
                                               ObjectHandle handle);
// The object, if the calling CU owns it; `action` ("destroy", ...) words
// the refusal.
absl::StatusOr<KeyObject*> LookupOwned(Core& core, const Caller& caller,
                                       ObjectHandle handle, const char* action);
absl::StatusOr<const KeyObject*> LookupOwned(const Core& core,
                                             const Caller& caller,
                                             ObjectHandle handle,
                                             const char* action);
// InvalidArgument if `object` is a certificate: "object N is a
// certificate, not a key".
absl::Status RequireKey(const KeyObject& object);
// The object, if it is a key (RequireKey), the calling CU may use it and
// its usage attribute for `use` is true; PermissionDenied names the
// attribute.
absl::StatusOr<const KeyObject*> LookupForUse(const Core& core,
                                              const Caller& caller,
                                              ObjectHandle handle, KeyUse use);

// The parsed private key of `object` (class kPrivateKey): from the cache,
// else parsed now and `*parsed_now` set so the caller can cache it with
// CachePrivateKey once it holds the exclusive lock.
absl::StatusOr<crypto::PrivateKey> PrivateKeyOf(const Core& core,
                                                const Caller& caller,
                                                const KeyObject& object,
                                                bool* parsed_now);
// At most this many parsed token private keys stay cached (see
// CachePrivateKey).
inline constexpr size_t kMaxCachedPrivateKeys = 512;
// Caches `key` for the token object `handle` if it still exists.
void CachePrivateKey(Core& core, ObjectHandle handle, crypto::PrivateKey key);

// Fresh random nonzero 62-bit handles, unused here and distinct from
// each other.
absl::StatusOr<std::vector<ObjectHandle>> NewHandles(const Core& core,
                                                     size_t count);

// Attributes for a new object of `object_class` made from `spec` by
// `owner`: PKCS#11's rules for sensitive/extractable, Coffer's defaults for
// usage flags (docs/keys.md), the pair split, and local/always_sensitive/
// never_extractable as for a key generated inside the HSM. Certificates
// get no usage flags and are not sensitive, extractable.
KeyAttributes AttributesFromTemplate(const KeyTemplate& spec,
                                     ObjectClass object_class,
                                     const std::string& owner);

// A new object and, for private keys, its parsed key for the cache.
struct NewObject {
  KeyObject object;
  std::optional<crypto::PrivateKey> parsed;
};
// Stores the objects (all token or all session, per `token`): token objects
// through CommitState, session objects in the caller's session.
absl::Status AddObjects(Core& core, const Caller& caller, bool token,
                        std::vector<NewObject> objects);

// Record writes that remove `user` from every key's shared_with, for the
// same commit that deletes the user: a later user of that name must not
// inherit access.
std::vector<store::RecordWrite> DropSharesOf(const Core& core,
                                             const std::string& user);

KeyObject CloneObject(const KeyObject& object);
KeyInfo InfoOf(const KeyObject& object);

// The key type of a crypto module algorithm.
KeyType KeyTypeOf(crypto::KeyAlgorithm algorithm);

// InvalidArgument unless `bits` suits a secret key of `type` (AES
// 128/192/256; generic secret 64..4096, a multiple of 8).
absl::Status CheckSecretKeySize(KeyType type, uint32_t bits);

// "AES", "RSA", ... for messages.
const char* KeyTypeName(KeyType type);

}  // namespace coffer::hsm::internal

#endif  // COFFER_HSM_INTERNAL_KEY_UTIL_H_
