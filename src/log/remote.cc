#include "log/remote.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/status.h"
#include "coffer/log/v1/log.pb.h"

namespace coffer::log {
namespace {

namespace pb = ::coffer::log::v1;

constexpr uint32_t kMaxWaitMs = 30000;
constexpr size_t kReadMaxEntries = 256;
constexpr size_t kReadMaxBytes = size_t{4} << 20;
// Connections idle longer than this are dropped rather than reused: the
// server closes idle ones after 60 s, and a request sent on a connection
// it is closing would have an unknown outcome.
constexpr absl::Duration kMaxIdle = absl::Seconds(20);

void SetStatus(const absl::Status& s, pb::Status* out) {
  out->set_code(static_cast<int32_t>(s.code()));
  out->set_message(std::string(s.message()));
}

absl::Status FromWire(const pb::Status& s) {
  if (s.code() == 0) return absl::OkStatus();
  const int code = s.code() > 0 && s.code() <= 16 ? s.code() : 2;
  return absl::Status(static_cast<absl::StatusCode>(code), s.message());
}

absl::Status Serve(ClusterLog& log, const pb::LogRequest& request,
                   pb::LogResponse& response) {
  const std::string& cluster = request.cluster_id();
  switch (request.op_case()) {
    case pb::LogRequest::kAppend: {
      const std::string& record = request.append().record();
      COFFER_ASSIGN_OR_RETURN(
          uint64_t position,
          log.Append(cluster, request.append().expected_last(),
                     AsBytes(record)));
      response.set_position(position);
      return absl::OkStatus();
    }
    case pb::LogRequest::kRead: {
      const pb::ReadRequest& r = request.read();
      COFFER_ASSIGN_OR_RETURN(
          std::vector<LogEntry> entries,
          log.Read(cluster, r.after(),
                   std::min<size_t>(r.max_entries(), kReadMaxEntries),
                   std::min<size_t>(r.max_bytes(), kReadMaxBytes)));
      for (const LogEntry& e : entries) {
        pb::Entry* out = response.add_entries();
        out->set_position(e.position);
        out->set_record(e.record.data(), e.record.size());
      }
      return absl::OkStatus();
    }
    case pb::LogRequest::kWait: {
      const pb::WaitRequest& r = request.wait();
      COFFER_ASSIGN_OR_RETURN(
          uint64_t last, log.WaitForPosition(cluster, r.after(),
                                             absl::Milliseconds(std::min(
                                                 r.timeout_ms(), kMaxWaitMs))));
      response.set_position(last);
      return absl::OkStatus();
    }
    case pb::LogRequest::OP_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("the log request names no operation");
}

class RemoteClusterLog final : public ClusterLog {
 public:
  RemoteClusterLog(std::string host, uint16_t port,
                   net::TlsClientOptions options)
      : host_(std::move(host)), port_(port), options_(std::move(options)) {}

  absl::StatusOr<uint64_t> Append(const std::string& cluster_id,
                                  uint64_t expected_last,
                                  ByteView record) override {
    pb::LogRequest request;
    request.set_cluster_id(cluster_id);
    request.mutable_append()->set_expected_last(expected_last);
    request.mutable_append()->set_record(record.data(), record.size());
    COFFER_ASSIGN_OR_RETURN(pb::LogResponse response, Call(request, false));
    return response.position();
  }

  absl::StatusOr<uint64_t> AppendBatch(const std::string&, uint64_t,
                                       const std::vector<Bytes>&) override {
    return absl::UnimplementedError(
        "batch appends are not offered over the network");
  }

  absl::StatusOr<std::vector<LogEntry>> Read(const std::string& cluster_id,
                                             uint64_t after, size_t max_entries,
                                             size_t max_bytes) override {
    pb::LogRequest request;
    request.set_cluster_id(cluster_id);
    request.mutable_read()->set_after(after);
    request.mutable_read()->set_max_entries(
        static_cast<uint32_t>(std::min(max_entries, kReadMaxEntries)));
    request.mutable_read()->set_max_bytes(std::min(max_bytes, kReadMaxBytes));
    COFFER_ASSIGN_OR_RETURN(pb::LogResponse response, Call(request, true));
    std::vector<LogEntry> entries;
    entries.reserve(response.entries_size());
    for (const pb::Entry& e : response.entries()) {
      entries.push_back(
          {e.position(), Bytes(e.record().begin(), e.record().end())});
    }
    return entries;
  }

  absl::StatusOr<uint64_t> LastPosition(
      const std::string& cluster_id) override {
    return WaitForPosition(cluster_id, kMaxPosition, absl::ZeroDuration());
  }

  absl::Status Compact(const std::string&, uint64_t) override {
    return absl::PermissionDeniedError(
        "only the log's host compacts the cluster log");
  }
  absl::Status StartAt(const std::string&, uint64_t) override {
    return absl::PermissionDeniedError(
        "only the log's host sets where a cluster's log starts");
  }
  absl::Status DeleteCluster(const std::string&) override {
    return absl::PermissionDeniedError(
        "only the log's host deletes a cluster's log");
  }

  absl::StatusOr<uint64_t> WaitForPosition(const std::string& cluster_id,
                                           uint64_t after,
                                           absl::Duration timeout) override {
    pb::LogRequest request;
    request.set_cluster_id(cluster_id);
    request.mutable_wait()->set_after(after);
    request.mutable_wait()->set_timeout_ms(
        static_cast<uint32_t>(std::clamp<int64_t>(
            absl::ToInt64Milliseconds(timeout), 0, kMaxWaitMs)));
    COFFER_ASSIGN_OR_RETURN(pb::LogResponse response, Call(request, true));
    return response.position();
  }

 private:
  struct Idle {
    net::TlsClient client;
    absl::Time since;
  };

  absl::StatusOr<net::TlsClient> Take() {
    {
      absl::MutexLock lock(&mu_);
      while (!idle_.empty()) {
        Idle last = std::move(idle_.back());
        idle_.pop_back();
        if (absl::Now() - last.since < kMaxIdle && last.client.is_open()) {
          return std::move(last.client);
        }
      }
    }
    net::TlsClientOptions options;
    options.credentials.certificate_chain_pem =
        options_.credentials.certificate_chain_pem;
    options.credentials.private_key_pem =
        options_.credentials.private_key_pem.Clone();
    options.credentials.trust_anchors_pem =
        options_.credentials.trust_anchors_pem;
    options.server_name = options_.server_name;
    options.connect_timeout = options_.connect_timeout;
    options.io_timeout = options_.io_timeout;
    options.max_frame_size = options_.max_frame_size;
    return net::TlsClient::Connect(host_, port_, options);
  }

  void Return(net::TlsClient client) {
    if (!client.is_open()) return;
    absl::MutexLock lock(&mu_);
    if (idle_.size() < 8) idle_.push_back({std::move(client), absl::Now()});
  }

  // `idempotent`: a call that may be sent again on a fresh connection
  // after a transport error.
  absl::StatusOr<pb::LogResponse> Call(const pb::LogRequest& request,
                                       bool idempotent) {
    const std::string frame = request.SerializeAsString();
    absl::Status last;
    for (int attempt = 0; attempt < (idempotent ? 2 : 1); ++attempt) {
      absl::StatusOr<net::TlsClient> client = Take();
      if (!client.ok()) return client.status();
      absl::StatusOr<Bytes> reply = client->Call(AsBytes(frame));
      if (!reply.ok()) {
        last = reply.status();
        continue;
      }
      Return(std::move(*client));
      pb::LogResponse response;
      if (!response.ParseFromArray(reply->data(),
                                   static_cast<int>(reply->size()))) {
        return absl::DataLossError("malformed response from the log service");
      }
      COFFER_RETURN_IF_ERROR(FromWire(response.status()));
      return response;
    }
    return last;
  }

  const std::string host_;
  const uint16_t port_;
  const net::TlsClientOptions options_;
  absl::Mutex mu_;
  std::vector<Idle> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

Bytes ServeLogRequest(ClusterLog& log, const LogAuthorizer& authorize,
                      ByteView frame, const net::PeerIdentity& peer) {
  pb::LogRequest request;
  pb::LogResponse response;
  absl::Status status;
  if (!request.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    status = absl::InvalidArgumentError(
        "malformed request: not a coffer.log.v1.LogRequest message");
  } else {
    status =
        authorize ? authorize(request.cluster_id(), peer) : absl::OkStatus();
    if (status.ok()) status = Serve(log, request, response);
  }
  if (!status.ok()) {
    response.Clear();
    SetStatus(status, response.mutable_status());
  }
  const std::string out = response.SerializeAsString();
  return Bytes(out.begin(), out.end());
}

absl::StatusOr<std::unique_ptr<ClusterLog>> ConnectRemoteClusterLog(
    const std::string& host, uint16_t port, net::TlsClientOptions options) {
  if (host.empty() || port == 0) {
    return absl::InvalidArgumentError("the log service needs a host and port");
  }
  return std::unique_ptr<ClusterLog>(
      new RemoteClusterLog(host, port, std::move(options)));
}

}  // namespace coffer::log
