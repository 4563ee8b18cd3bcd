// A client of one HSM's wire API: typed request/response calls over one
// persistent mTLS connection, with the session token attached once logged
// in. Used by the `coffer` command line and the PKCS#11 module; depends on
// the wire schema and the transport only, never on server internals.
// Not thread-safe (one connection): use one HsmClient per thread.
#ifndef COFFER_CLIENT_HSM_CLIENT_H_
#define COFFER_CLIENT_HSM_CLIENT_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "coffer/hsm/v1/hsm.pb.h"
#include "crypto/secret_bytes.h"
#include "net/tls_client.h"

namespace coffer::client {

namespace pb = ::coffer::hsm::v1;

struct HsmEndpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
};

// Parses "HOST:PORT".
absl::StatusOr<HsmEndpoint> ParseEndpoint(const std::string& text);

class HsmClient {
 public:
  static absl::StatusOr<HsmClient> Connect(const HsmEndpoint& endpoint,
                                           const net::TlsClientOptions& tls);

  // Sends `request` (its id and, if set, the session are filled in) and
  // returns the response, or the HSM's error status as an absl::Status.
  // Transport errors come back as in net/tls_client.h.
  absl::StatusOr<pb::Response> Call(pb::Request request);
  // The same, leaving `request` with the caller, who wipes any secret in
  // it afterwards (see WipeBytes).
  absl::StatusOr<pb::Response> CallInPlace(pb::Request& request);

  // Logs in and keeps the session for later calls. Returns the role.
  absl::StatusOr<pb::Role> Login(const std::string& user,
                                 const crypto::SecretBytes& password);
  // Backups stream (hsm.proto): neither side holds a whole backup.
  // Streams a backup of the HSM into `sink`, in chunks of at most 256 KiB,
  // and returns its summary. An error from `sink` is returned and closes
  // the connection (the rest of the stream is not read).
  using ChunkSink = std::function<absl::Status(ByteView chunk)>;
  absl::StatusOr<pb::BackupSummary> CreateBackup(const ChunkSink& sink);
  // Sends the backup `next` yields (an empty chunk: the end), then returns
  // the HSM's summary once it has committed, or its refusal (then nothing
  // changed on the HSM). An error from `next` closes the connection, which
  // aborts the restore on the HSM without changes. A restore ends every
  // session, this client's included.
  using ChunkSource = std::function<absl::StatusOr<Bytes>()>;
  absl::StatusOr<pb::BackupSummary> RestoreBackup(
      const ChunkSource& next, const std::string& quorum_token = "");

  void set_session(std::string session) { session_ = std::move(session); }
  const std::string& session() const { return session_; }

 private:
  explicit HsmClient(net::TlsClient connection)
      : connection_(std::move(connection)) {}
  // Streaming halves of CallInPlace (for requests that carry no secret).
  absl::StatusOr<uint64_t> SendRequest(pb::Request& request);
  absl::StatusOr<pb::Response> ReceiveResponse(uint64_t id);
  net::TlsClient connection_;
  std::string session_;
  uint64_t next_id_ = 1;
};

// Overwrites a message field that held a secret, then empties it.
void WipeBytes(std::string* field);

// absl::StatusCode carried in a response, as an absl::Status.
absl::Status StatusFromWire(const pb::Status& status);

}  // namespace coffer::client

#endif  // COFFER_CLIENT_HSM_CLIENT_H_
