// The cluster log as the manager hosts it (docs/log.md): the embedded
// SQLite log, served to the HSMs over mTLS with log/remote.h. Each HSM gets
// its own client certificate (common name = its hsm id) from the log's own
// CA, and may read and append only its cluster's log: the records are
// sealed, so this guards availability, not secrecy.
//
// The port is kept in DIR/log.port and bound again after a restart, because
// the HSMs (which outlive a manager restart) were started with it.
#ifndef COFFER_MANAGER_LOG_HOST_H_
#define COFFER_MANAGER_LOG_HOST_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "log/cluster_log.h"
#include "net/tls_server.h"

namespace coffer::manager {

class LogHost {
 public:
  // DIR/cluster-log.db, DIR/log-pki/, DIR/log.port. Starts serving on
  // `host` (the saved port, else any).
  static absl::StatusOr<std::unique_ptr<LogHost>> Start(
      const std::string& dir, const std::string& host = "127.0.0.1");
  ~LogHost();

  log::ClusterLog& log() { return *log_; }
  std::string endpoint() const;

  // Lets `hsm_id` use `cluster_id`'s log (and no other) from now on.
  void Allow(const std::string& hsm_id, const std::string& cluster_id);
  void Forget(const std::string& hsm_id);

  // Issues (once; reused later) `hsm_id`'s client identity and returns the
  // coffer-hsm flags that attach it to `cluster_id`'s log.
  absl::StatusOr<std::vector<std::string>> HsmArgs(
      const std::string& hsm_id, const std::string& cluster_id);

 private:
  LogHost() = default;
  std::string dir_;
  std::string host_;
  std::unique_ptr<log::ClusterLog> log_;
  std::unique_ptr<net::TlsServer> server_;
  absl::Mutex mu_;
  std::map<std::string, std::string> allowed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace coffer::manager

#endif  // COFFER_MANAGER_LOG_HOST_H_
