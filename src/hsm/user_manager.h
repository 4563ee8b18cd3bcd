// Users and roles inside one HSM. Only admins manage users; everyone may
// list them and change their own password. Creating, deleting and unlocking
// users and changing another user's password need an approved quorum token
// when user management is under quorum control (quorum.h). Thread-safe.
//
// Errors as in hsm.h: PermissionDenied names the rule that refused.
#ifndef COFFER_HSM_USER_MANAGER_H_
#define COFFER_HSM_USER_MANAGER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "hsm/hsm.h"
#include "hsm/quorum.h"
#include "hsm/types.h"

namespace coffer::hsm {

struct UserInfo {
  std::string name;
  Role role = Role::kCryptoUser;
  bool locked = false;
  uint32_t failed_logins = 0;
  bool has_quorum_key = false;
};

// 1-32 characters of [a-z0-9._-], starting with a letter or digit.
absl::Status CheckUserName(std::string_view name);
// 8 to 128 bytes.
absl::Status CheckPasswordStrength(const crypto::SecretBytes& password);

class UserManager {
 public:
  UserManager(internal::Core& core, QuorumManager& quorum)
      : core_(core), quorum_(quorum) {}

  absl::Status CreateUser(const Caller& caller, std::string_view name,
                          Role role, const crypto::SecretBytes& password);
  // Refused for yourself, for the last admin, and for a crypto user who
  // still owns keys (delete or hand them over first: no key is orphaned).
  absl::Status DeleteUser(const Caller& caller, std::string_view name);
  absl::StatusOr<std::vector<UserInfo>> ListUsers(const Caller& caller) const;
  // Your own password, or (admins) anyone's. Ends the user's other sessions.
  absl::Status ChangePassword(const Caller& caller, std::string_view name,
                              const crypto::SecretBytes& new_password);
  // Admins: clears a lockout and the failed-login count.
  absl::Status UnlockUser(const Caller& caller, std::string_view name);
  // Admins: wrong passwords allowed before a lockout (1..100).
  absl::Status SetMaxFailedLogins(const Caller& caller, uint32_t max);

 private:
  internal::Core& core_;
  QuorumManager& quorum_;  // user management may be under quorum control
};

}  // namespace coffer::hsm

#endif  // COFFER_HSM_USER_MANAGER_H_
