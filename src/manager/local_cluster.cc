#include "manager/local_cluster.h"

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/status.h"

namespace coffer::manager {
namespace {

namespace fs = std::filesystem;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

absl::Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return out ? absl::OkStatus()
             : absl::InternalError(absl::StrCat("cannot write ", path));
}

absl::StatusOr<PemPair> Issue(const provision::CertificateAuthority& ca,
                              const std::string& name,
                              crypto::CertificateUsage usage) {
  COFFER_ASSIGN_OR_RETURN(provision::IssuedKey leaf,
                          provision::IssueLeaf(ca, name, usage));
  COFFER_ASSIGN_OR_RETURN(crypto::SecretBytes key, leaf.key.ToPem());
  const ByteView k = key.ExposeSecret();
  return PemPair{leaf.cert.ToPem(), std::string(k.begin(), k.end())};
}

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

}  // namespace

// --- HsmSession ----------------------------------------------------------

absl::StatusOr<HsmSession> HsmSession::Open(const std::string& endpoint,
                                            const std::string& ca_pem,
                                            const PemPair& client) {
  COFFER_ASSIGN_OR_RETURN(client::HsmEndpoint where,
                          client::ParseEndpoint(endpoint));
  net::TlsClientOptions tls;
  tls.credentials.certificate_chain_pem = client.cert;
  tls.credentials.private_key_pem =
      crypto::SecretBytes::CopyOf(AsBytes(client.key));
  tls.credentials.trust_anchors_pem = ca_pem;
  COFFER_ASSIGN_OR_RETURN(client::HsmClient c,
                          client::HsmClient::Connect(where, tls));
  return HsmSession(std::move(c));
}

absl::Status HsmSession::Login(const std::string& user,
                               const std::string& password) {
  return c_.Login(user, crypto::SecretBytes::CopyOf(AsBytes(password)))
      .status();
}

absl::StatusOr<hpb::Response> HsmSession::Call(hpb::Request request) {
  return c_.Call(std::move(request));
}

absl::StatusOr<uint64_t> HsmSession::GenerateAes() {
  hpb::Request r;
  r.mutable_generate_key()->mutable_template_()->set_key_type(
      hpb::KEY_TYPE_AES);
  r.mutable_generate_key()->mutable_template_()->set_bits(256);
  COFFER_ASSIGN_OR_RETURN(hpb::Response resp, Call(r));
  return resp.generate_key().handle();
}

absl::StatusOr<uint64_t> HsmSession::GenerateEcPair() {
  hpb::Request r;
  r.mutable_generate_key_pair()->mutable_template_()->set_key_type(
      hpb::KEY_TYPE_EC_P256);
  COFFER_ASSIGN_OR_RETURN(hpb::Response resp, Call(r));
  return resp.generate_key_pair().private_handle();
}

absl::Status HsmSession::Sign(uint64_t handle) {
  hpb::Request r;
  r.mutable_sign()->set_handle(handle);
  r.mutable_sign()->mutable_mechanism()->set_mechanism(hpb::MECHANISM_ECDSA);
  r.mutable_sign()->mutable_mechanism()->set_hash(hpb::HASH_ALG_SHA256);
  r.mutable_sign()->set_data("message");
  return Call(r).status();
}

absl::StatusOr<std::set<uint64_t>> HsmSession::Handles() {
  hpb::Request r;
  r.mutable_find_keys();
  COFFER_ASSIGN_OR_RETURN(hpb::Response resp, Call(r));
  std::set<uint64_t> out;
  for (const hpb::KeyInfo& k : resp.find_keys().keys()) out.insert(k.handle());
  return out;
}

// --- LocalCluster --------------------------------------------------------

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(
    const std::string& manager_path, const std::string& dir,
    std::vector<std::string> extra_args) {
  std::unique_ptr<LocalCluster> c(new LocalCluster());
  c->manager_path_ = manager_path;
  c->dir_ = dir;
  c->extra_args_ = std::move(extra_args);
  COFFER_ASSIGN_OR_RETURN(
      provision::CertificateAuthority ca,
      provision::CreateCa("Coffer test customer", "Coffer tests"));
  c->ca_ = std::make_unique<provision::CertificateAuthority>(std::move(ca));
  c->ca_pem_ = c->ca_->cert.ToPem();
  COFFER_ASSIGN_OR_RETURN(
      PemPair server,
      Issue(*c->ca_, "coffer-manager", crypto::CertificateUsage::kTlsServer));
  COFFER_ASSIGN_OR_RETURN(
      c->client_,
      Issue(*c->ca_, "operator", crypto::CertificateUsage::kTlsClient));
  COFFER_RETURN_IF_ERROR(WriteText(dir + "/ca.pem", c->ca_pem_));
  COFFER_RETURN_IF_ERROR(WriteText(dir + "/server.pem", server.cert));
  COFFER_RETURN_IF_ERROR(WriteText(dir + "/server.key", server.key));
  chmod((dir + "/server.key").c_str(), 0600);
  COFFER_RETURN_IF_ERROR(c->StartManager());
  return c;
}

LocalCluster::~LocalCluster() {
  KillManager();
  // The provider's HSMs run in their own sessions (they outlive a manager
  // restart): stop every one it started.
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(data_dir(), ec)) {
    if (e.path().filename() != "pid") continue;
    int pid = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadText(e.path())),
                         &pid) &&
        pid > 1) {
      kill(pid, SIGKILL);
    }
  }
}

void LocalCluster::KillManager() { manager_.reset(); }

std::string LocalCluster::ManagerLog() const {
  return ReadText(dir_ + "/manager.log");
}

absl::StatusOr<int> LocalCluster::HsmPid(const std::string& hsm_id) const {
  int pid = 0;
  const std::string text =
      ReadText(absl::StrCat(data_dir(), "/hsms/hsms/", hsm_id, "/pid"));
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid)) {
    return absl::NotFoundError(absl::StrCat("no pid for ", hsm_id));
  }
  return pid;
}

absl::Status LocalCluster::StartManager() {
  const std::string port_file = dir_ + "/manager.port";
  std::remove(port_file.c_str());
  std::vector<std::string> argv = {
      manager_path_,   "--data-dir",         data_dir(),
      "--listen",      "127.0.0.1:0",        "--port-file",
      port_file,       "--tls-cert",         dir_ + "/server.pem",
      "--tls-key",     dir_ + "/server.key", "--client-ca",
      dir_ + "/ca.pem"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  COFFER_ASSIGN_OR_RETURN(
      testing::BackgroundProcess proc,
      testing::BackgroundProcess::Start({.argv = argv}, dir_ + "/manager.log"));
  manager_ = std::make_unique<testing::BackgroundProcess>(std::move(proc));
  int port = 0;
  for (int i = 0; i < 600 && port == 0; ++i) {
    if (!absl::SimpleAtoi(ReadText(port_file), &port)) port = 0;
    if (port != 0) break;
    if (!manager_->running()) {
      return absl::UnavailableError(
          absl::StrCat("coffer-manager exited: ", ManagerLog()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (port == 0) return absl::DeadlineExceededError("coffer-manager is slow");
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem_;
  ssl.pem_cert_chain = client_.cert;
  ssl.pem_private_key = client_.key;
  stub_ = mpb::Manager::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(ssl)));
  return absl::OkStatus();
}

absl::Status LocalCluster::RestartManager() {
  if (manager_) kill(manager_->pid(), SIGKILL);
  manager_.reset();
  return StartManager();
}

absl::StatusOr<mpb::Cluster> LocalCluster::Describe(
    const std::string& cluster_id) {
  mpb::DescribeClustersRequest req;
  req.add_cluster_ids(cluster_id);
  mpb::DescribeClustersResponse resp;
  COFFER_RETURN_IF_ERROR(
      FromGrpc(Rpc(&mpb::Manager::Stub::DescribeClusters, req, &resp)));
  if (resp.clusters_size() != 1) {
    return absl::NotFoundError(absl::StrCat("no cluster ", cluster_id));
  }
  return resp.clusters(0);
}

std::vector<mpb::Hsm> LocalCluster::ActiveHsms(const std::string& cluster_id) {
  std::vector<mpb::Hsm> out;
  absl::StatusOr<mpb::Cluster> c = Describe(cluster_id);
  if (!c.ok()) return out;
  for (const mpb::Hsm& h : c->hsms()) {
    if (h.state() == mpb::HSM_STATE_ACTIVE) out.push_back(h);
  }
  return out;
}

bool LocalCluster::WaitFor(const std::string& cluster_id,
                           const std::function<bool(const mpb::Cluster&)>& done,
                           std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<mpb::Cluster> c = Describe(cluster_id);
    if (c.ok() && done(*c)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

absl::StatusOr<std::string> LocalCluster::CreateCluster(
    const std::string& source_backup_id) {
  mpb::CreateClusterRequest req;
  req.set_region("local");
  if (source_backup_id.empty()) req.set_mode(mpb::CLUSTER_MODE_NON_FIPS);
  req.set_source_backup_id(source_backup_id);
  mpb::CreateClusterResponse resp;
  COFFER_RETURN_IF_ERROR(
      FromGrpc(Rpc(&mpb::Manager::Stub::CreateCluster, req, &resp)));
  return resp.cluster().cluster_id();
}

grpc::Status LocalCluster::CreateHsm(const std::string& cluster_id,
                                     mpb::Hsm* out) {
  mpb::CreateHsmRequest req;
  req.set_cluster_id(cluster_id);
  mpb::CreateHsmResponse resp;
  grpc::Status s = Rpc(&mpb::Manager::Stub::CreateHsm, req, &resp);
  if (out != nullptr) *out = resp.hsm();
  return s;
}

grpc::Status LocalCluster::DeleteHsm(const std::string& cluster_id,
                                     const std::string& hsm_id) {
  mpb::DeleteHsmRequest req;
  req.set_cluster_id(cluster_id);
  req.set_hsm_id(hsm_id);
  mpb::DeleteHsmResponse resp;
  return Rpc(&mpb::Manager::Stub::DeleteHsm, req, &resp);
}

absl::StatusOr<HsmSession> LocalCluster::Session(const mpb::Hsm& hsm) {
  return HsmSession::Open(hsm.endpoint(), ca_pem_, client_);
}

absl::StatusOr<HsmSession> LocalCluster::App(const mpb::Hsm& hsm) {
  COFFER_ASSIGN_OR_RETURN(HsmSession s, Session(hsm));
  COFFER_RETURN_IF_ERROR(s.Login("app", "app-password-1"));
  return s;
}

absl::StatusOr<std::string> LocalCluster::ActiveCluster() {
  COFFER_ASSIGN_OR_RETURN(std::string id, CreateCluster());
  mpb::Hsm first;
  COFFER_RETURN_IF_ERROR(FromGrpc(CreateHsm(id, &first)));
  COFFER_ASSIGN_OR_RETURN(mpb::Cluster c, Describe(id));
  COFFER_ASSIGN_OR_RETURN(
      crypto::Certificate cert,
      provision::SignClusterCsr(*ca_, c.certificates().cluster_csr_pem()));
  mpb::InitializeClusterRequest init;
  init.set_cluster_id(id);
  init.set_signed_cert_pem(cert.ToPem());
  init.set_trust_anchor_pem(ca_pem_);
  mpb::InitializeClusterResponse init_resp;
  COFFER_RETURN_IF_ERROR(
      FromGrpc(Rpc(&mpb::Manager::Stub::InitializeCluster, init, &init_resp)));
  COFFER_ASSIGN_OR_RETURN(HsmSession hsm, Session(first));
  hpb::Request activate;
  activate.mutable_activate()->set_admin_password("admin-password-1");
  COFFER_RETURN_IF_ERROR(hsm.Call(activate).status());
  if (!WaitFor(id, [](const mpb::Cluster& cl) {
        return cl.state() == mpb::CLUSTER_STATE_ACTIVE;
      })) {
    return absl::DeadlineExceededError(
        absl::StrCat("cluster ", id, " did not become ACTIVE"));
  }
  COFFER_RETURN_IF_ERROR(hsm.Login("admin", "admin-password-1"));
  hpb::Request user;
  user.mutable_create_user()->set_name("app");
  user.mutable_create_user()->set_role(hpb::ROLE_CRYPTO_USER);
  user.mutable_create_user()->set_password("app-password-1");
  COFFER_RETURN_IF_ERROR(hsm.Call(user).status());
  return id;
}

}  // namespace coffer::manager
