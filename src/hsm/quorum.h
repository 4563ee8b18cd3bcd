// Quorum (M of N) authentication: operations under quorum control need a
// token approved by M admins, each signing it with a key registered in the
// HSM. Tokens live in memory, expire after 10 minutes and are consumed by
// the one operation they were approved for. Thread-safe.
//
// Services under control (each with its own M; M = 1 means off):
//   user management   create, delete, unlock users; change others' passwords
//   quorum changes    changing any M
//   key use           every key operation of crypto users (optional);
//                     a key-use token serves any number of operations by
//                     its requester until it expires, the others serve one
//
// Approval: an admin signs the token's challenge (QuorumToken::challenge)
// with ECDSA P-256/SHA-256 (DER signature) using the private key whose
// public half they registered. The challenge binds the token id, the
// service, the cluster id and the expiry, so an approval cannot be replayed
// for another token, service or cluster.
#ifndef COFFER_HSM_QUORUM_H_
#define COFFER_HSM_QUORUM_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "hsm/hsm.h"

namespace coffer::hsm {

enum class QuorumService { kUserManagement, kQuorumChanges, kKeyUse };

inline constexpr int64_t kQuorumTokenLifetimeSeconds = 600;

struct QuorumToken {
  std::string id;  // 32 hex digits
  QuorumService service = QuorumService::kUserManagement;
  std::string requested_by;
  int64_t expires_unix = 0;
  Bytes challenge;                     // what approvers sign
  std::vector<std::string> approvers;  // admins who signed, in order
  uint32_t required = 1;               // M at creation time
};

class QuorumManager {
 public:
  explicit QuorumManager(internal::Core& core) : core_(core) {}

  // Admins register (or replace) their own approval key: an EC P-256
  // public key as SubjectPublicKeyInfo DER or PEM.
  absl::Status RegisterKey(const Caller& caller, ByteView public_key_der);
  // Admins set M for a service. M may not exceed the number of admins with
  // registered keys. Itself under the "quorum changes" service.
  absl::Status SetQuorum(const Caller& caller, QuorumService service,
                         uint32_t m);
  uint32_t Quorum(QuorumService service) const;

  absl::StatusOr<QuorumToken> CreateToken(const Caller& caller,
                                          QuorumService service);
  // Records `admin`'s approval. DataLoss if the signature does not verify;
  // FailedPrecondition if the token expired or `admin` has no key.
  absl::StatusOr<QuorumToken> Approve(std::string_view token_id,
                                      std::string_view admin,
                                      ByteView signature);
  std::vector<QuorumToken> ListTokens() const;

  // For the HSM's own checks: OK if `service` is off (M = 1) or
  // `caller.quorum_token` names an unexpired token for `service` approved
  // by M admins, which is then consumed. PermissionDenied saying what is
  // missing otherwise.
  absl::Status Require(const Caller& caller, QuorumService service);

  // Drops every token: the state they were approved against is gone
  // (restore, tamper response).
  void ForgetTokens();

 private:
  internal::Core& core_;
  mutable std::mutex mu_;  // guards tokens_
  std::map<std::string, QuorumToken> tokens_;
};

std::string_view QuorumServiceName(QuorumService service);

}  // namespace coffer::hsm

#endif  // COFFER_HSM_QUORUM_H_
