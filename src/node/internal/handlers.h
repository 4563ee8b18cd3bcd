// One function per wire operation; dispatcher.cc routes to them.
#ifndef COFFER_NODE_INTERNAL_HANDLERS_H_
#define COFFER_NODE_INTERNAL_HANDLERS_H_

#include "absl/status/status.h"
#include "coffer/hsm/v1/hsm.pb.h"
#include "hsm/hsm.h"
#include "node/dispatcher.h"

namespace coffer::node::internal {

namespace pb = ::coffer::hsm::v1;

struct Call {
  hsm::Hsm& hsm;
  const Dispatcher::Hooks& hooks;
  pb::Request& request;
  pb::Response& response;
  net::FrameStream* stream = nullptr;       // null: streaming is refused
  const net::PeerIdentity* peer = nullptr;  // null: no service session
};

// Lifecycle, sessions, users (dispatcher.cc).
absl::Status ServeLifecycleOrUsers(Call& call);
// Keys and cryptographic operations (key_handlers.cc).
absl::Status ServeKeys(Call& call, const hsm::Caller& caller);
// Backups, both streamed (backup_handlers.cc). They resolve the session
// themselves: a restore may come without one.
absl::Status ServeCreateBackup(Call& call);
absl::Status ServeRestoreBackup(Call& call);

}  // namespace coffer::node::internal

#endif  // COFFER_NODE_INTERNAL_HANDLERS_H_
