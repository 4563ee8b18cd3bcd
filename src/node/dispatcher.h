// Serves the HSM's wire API: parses one Request frame, calls the HSM core,
// and returns the serialized Response. Never throws and never returns a
// malformed frame: bad input becomes a Response with an error status.
// Backups stream over the request's connection (hsm.proto); without a
// FrameStream they are refused with FailedPrecondition.
// Thread-safe (the HSM core is); called from every connection thread.
#ifndef COFFER_NODE_DISPATCHER_H_
#define COFFER_NODE_DISPATCHER_H_

#include <cstdint>
#include <functional>

#include "base/bytes.h"
#include "hsm/hsm.h"
#include "net/tls_server.h"

namespace coffer::node {

// What the transport reports about load, for GetInfo.
struct Load {
  uint32_t requests_in_flight = 0;
  uint32_t connections = 0;
};

class Dispatcher {
 public:
  struct Hooks {
    std::function<Load()> load;  // optional
    // Called after a call that changed the TLS identity or trust anchors
    // (cluster certificate installed, commissioning finished, a backup
    // restored).
    std::function<void()> credentials_changed;  // optional
  };

  Dispatcher(hsm::Hsm& hsm, Hooks hooks)
      : hsm_(hsm), hooks_(std::move(hooks)) {}

  Bytes Handle(ByteView frame) { return Handle(frame, nullptr); }
  // `stream`: the connection `frame` came in on, for streamed operations;
  // `peer`: its client certificate, for the service's session.
  //
  // In a synced cluster (hsm/cluster_sync.h) a request whose change lost
  // the race for the cluster log is run again (the HSM has caught up by
  // then), and a request that fails on a first try (unknown key or user,
  // say) is run once more if catching up with the log brought news: so a
  // key or user made through another HSM is usable here as soon as its
  // creation returned there.
  Bytes Handle(ByteView frame, net::FrameStream* stream,
               const net::PeerIdentity* peer = nullptr);

 private:
  hsm::Hsm& hsm_;
  Hooks hooks_;
};

}  // namespace coffer::node

#endif  // COFFER_NODE_DISPATCHER_H_
