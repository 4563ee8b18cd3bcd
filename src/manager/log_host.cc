#include "manager/log_host.h"

#include <sys/stat.h>

#include <fstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/files.h"
#include "base/log.h"
#include "base/status.h"
#include "log/remote.h"
#include "provision/files.h"
#include "provision/provision.h"

namespace coffer::manager {
namespace {

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

absl::Status WritePort(const std::string& dir, const std::string& path,
                       int port) {
  COFFER_ASSIGN_OR_RETURN(AtomicFile file,
                          AtomicFile::Create(dir, ".log.port"));
  COFFER_RETURN_IF_ERROR(file.Write(AsBytes(absl::StrCat(port, "\n"))));
  return file.Commit(path);
}

// The log's CA, made on first start.
absl::StatusOr<provision::CertificateAuthority> OpenCa(const std::string& dir) {
  absl::StatusOr<provision::CertificateAuthority> ca =
      provision::ReadCaFiles(dir);
  if (ca.ok() || !absl::IsNotFound(ca.status())) return ca;
  COFFER_ASSIGN_OR_RETURN(
      provision::CertificateAuthority made,
      provision::CreateCa("Coffer cluster log CA", "coffer-manager"));
  COFFER_RETURN_IF_ERROR(provision::WriteCaFiles(dir, made));
  return provision::ReadCaFiles(dir);
}

// A leaf under the log CA at `prefix`.pem/.key, made once.
absl::Status EnsureLeaf(const provision::CertificateAuthority& ca,
                        const std::string& prefix, const std::string& name,
                        crypto::CertificateUsage usage) {
  if (provision::ReadIssuedFiles(prefix).ok()) return absl::OkStatus();
  COFFER_ASSIGN_OR_RETURN(provision::IssuedKey issued,
                          provision::IssueLeaf(ca, name, usage));
  return provision::WriteIssuedFiles(prefix, issued);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LogHost>> LogHost::Start(
    const std::string& dir, const std::string& host) {
  std::unique_ptr<LogHost> h(new LogHost());
  h->dir_ = dir;
  h->host_ = host;
  COFFER_ASSIGN_OR_RETURN(h->log_,
                          log::OpenSqliteClusterLog(dir + "/cluster-log.db"));
  const std::string pki = dir + "/log-pki";
  mkdir(pki.c_str(), 0700);
  mkdir((pki + "/hsms").c_str(), 0700);
  COFFER_ASSIGN_OR_RETURN(provision::CertificateAuthority ca,
                          OpenCa(pki + "/ca"));
  COFFER_RETURN_IF_ERROR(EnsureLeaf(ca, pki + "/server", "coffer log service",
                                    crypto::CertificateUsage::kTlsServer));
  COFFER_ASSIGN_OR_RETURN(provision::IssuedKey server,
                          provision::ReadIssuedFiles(pki + "/server"));

  net::TlsServerOptions options;
  options.host = host;
  // Long polls are answered within 30 s; keep idle connections a while.
  options.idle_timeout = absl::Seconds(120);
  const std::string port_file = dir + "/log.port";
  if (absl::StatusOr<std::string> saved = ReadText(port_file); saved.ok()) {
    uint32_t port = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(*saved), &port) &&
        port < 65536) {
      options.port = static_cast<uint16_t>(port);
    }
  }
  options.credentials.certificate_chain_pem = server.cert.ToPem();
  COFFER_ASSIGN_OR_RETURN(options.credentials.private_key_pem,
                          server.key.ToPem());
  options.credentials.trust_anchors_pem = ca.cert.ToPem();
  const uint16_t options_port = options.port;
  LogHost* self = h.get();
  auto authorize = [self](const std::string& cluster_id,
                          const net::PeerIdentity& peer) -> absl::Status {
    absl::MutexLock lock(&self->mu_);
    auto it = self->allowed_.find(peer.subject_common_name);
    if (it == self->allowed_.end() || it->second != cluster_id) {
      return absl::PermissionDeniedError(
          absl::StrCat("HSM ", peer.subject_common_name,
                       " may not use the log of cluster ", cluster_id));
    }
    return absl::OkStatus();
  };
  COFFER_ASSIGN_OR_RETURN(
      h->server_,
      net::TlsServer::Create(
          std::move(options),
          [self, authorize](ByteView frame, const net::PeerIdentity& peer,
                            net::FrameStream&) {
            return log::ServeLogRequest(*self->log_, authorize, frame, peer);
          }));
  const uint16_t wanted = options_port;
  if (absl::Status started = h->server_->Start(); !started.ok()) {
    if (wanted == 0) return started;
    // Not a fresh port: the HSMs already running were started with this
    // one, and a new port would cut them off their cluster's log.
    return absl::UnavailableError(absl::StrCat(
        "the cluster log's port ", wanted, " (kept in ", port_file,
        " because running HSMs use it) cannot be bound: ", started.message(),
        ". Free the port, or stop the HSMs and remove the file"));
  }
  COFFER_RETURN_IF_ERROR(WritePort(dir, port_file, h->server_->port()));
  Log("cluster log service on %s:%d", host.c_str(), h->server_->port());
  return h;
}

LogHost::~LogHost() {
  if (server_) server_->Stop();
}

std::string LogHost::endpoint() const {
  return absl::StrCat(host_, ":", server_->port());
}

void LogHost::Allow(const std::string& hsm_id, const std::string& cluster_id) {
  absl::MutexLock lock(&mu_);
  allowed_[hsm_id] = cluster_id;
}

void LogHost::Forget(const std::string& hsm_id) {
  absl::MutexLock lock(&mu_);
  allowed_.erase(hsm_id);
}

absl::StatusOr<std::vector<std::string>> LogHost::HsmArgs(
    const std::string& hsm_id, const std::string& cluster_id) {
  const std::string pki = dir_ + "/log-pki";
  COFFER_ASSIGN_OR_RETURN(provision::CertificateAuthority ca,
                          provision::ReadCaFiles(pki + "/ca"));
  const std::string prefix = pki + "/hsms/" + hsm_id;
  COFFER_RETURN_IF_ERROR(
      EnsureLeaf(ca, prefix, hsm_id, crypto::CertificateUsage::kTlsClient));
  return std::vector<std::string>{"--cluster-log",      endpoint(),
                                  "--cluster-log-id",   cluster_id,
                                  "--cluster-log-cert", prefix + ".pem",
                                  "--cluster-log-key",  prefix + ".key",
                                  "--cluster-log-ca",   pki + "/ca/ca.pem"};
}

}  // namespace coffer::manager
