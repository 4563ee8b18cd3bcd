// `coffer dev-hsm up|down`: one standalone HSM for development, with every
// secret generated and written to plain files in --dir. INSECURE by design.
//
// Layout of DIR (docs/cli.md):
//   factory/ service-ca/ customer-ca/ ceremony/   dev provisioning
//   hsm/                 the HSM's data directory
//   trust.pem            server anchors: factory CA (before cluster
//                        identity, and after tamper) + customer CA
//   client.pem/.key      customer-CA client identity   -> config.json
//   service-client.*     service-CA client identity    -> service.json
//   admin.credentials, cu.credentials   "user:password" (0600)
//   hsm.pid, hsm.port, hsm.log
#include <cstdio>
#include <filesystem>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/status.h"
#include "cli/commands.h"
#include "cli/daemon.h"
#include "cli/io.h"
#include "cli/provision_files.h"
#include "cli/secrets.h"
#include "crypto/random.h"
#include "provision/commission.h"

namespace coffer::cli {
namespace {

using crypto::SecretBytes;

constexpr char kWarning[] =
    "DEVELOPMENT HSM, INSECURE: its factory, CAs, AKBK components and "
    "passwords are development secrets in plain files. Never put real keys "
    "in it.";
constexpr char kCuName[] = "dev-cu";
constexpr int kStartTimeoutMs = 20000;

struct Paths {
  std::string dir;
  std::string operator()(const std::string& name) const {
    return dir + "/" + name;
  }
};

// `server_name` empty: any certificate chaining to trust.pem (the device
// certificate has no address in it); else the name the cluster-issued TLS
// certificate must carry.
absl::Status WriteConfig(const Paths& p, const std::string& name,
                         const std::string& hsm, const std::string& cert,
                         const std::string& server_name) {
  Json doc;
  doc["hsm"] = hsm;
  doc["ca"] = "trust.pem";
  doc["cert"] = cert + ".pem";
  doc["key"] = cert + ".key";
  if (!server_name.empty()) doc["server_name"] = server_name;
  doc["session_file"] = "session";
  return WriteFile(p(name), doc.dump(2) + "\n", 0600);
}

ConnectionConfig ServiceConfig(const Paths& p, int port) {
  return {absl::StrCat("127.0.0.1:", port),
          p("trust.pem"),
          p("service-client.pem"),
          p("service-client.key"),
          "",
          p("session")};
}

// Everything made before the daemon starts: factory, HSM, CAs, identities.
absl::StatusOr<provision::AkbkCeremony> ProvisionFiles(const Paths& p,
                                                       Output& out) {
  COFFER_RETURN_IF_ERROR(MakeDirs(p.dir, 0700));
  out.Progress("making a development factory and manufacturing an HSM...");
  COFFER_ASSIGN_OR_RETURN(provision::Factory factory,
                          provision::CreateFactory("coffer-dev"));
  COFFER_RETURN_IF_ERROR(SaveFactory(p("factory"), factory));
  COFFER_ASSIGN_OR_RETURN(Bytes serial, crypto::RandomBytes(4));
  COFFER_RETURN_IF_ERROR(ManufactureInto(
      factory, p("hsm"), absl::StrCat("DEV-", HexEncode(serial)), "0.1.0"));
  out.Progress("making development CAs and client certificates...");
  COFFER_ASSIGN_OR_RETURN(
      provision::CertificateAuthority service,
      provision::CreateCa("Coffer dev service CA", "coffer-dev-service"));
  COFFER_RETURN_IF_ERROR(SaveCa(p("service-ca"), service));
  COFFER_ASSIGN_OR_RETURN(
      provision::CertificateAuthority customer,
      provision::CreateCa("Coffer dev customer CA", "coffer-dev-customer"));
  COFFER_RETURN_IF_ERROR(SaveCa(p("customer-ca"), customer));
  for (auto [ca, name] : {std::pair{&customer, "client"},
                          std::pair{&service, "service-client"}}) {
    COFFER_ASSIGN_OR_RETURN(
        provision::IssuedKey issued,
        provision::IssueLeaf(*ca, absl::StrCat("dev-", name),
                             crypto::CertificateUsage::kTlsClient));
    COFFER_RETURN_IF_ERROR(SaveIssued(p(name), issued));
  }
  COFFER_RETURN_IF_ERROR(WriteFile(
      p("trust.pem"), factory.ca.cert.ToPem() + customer.cert.ToPem()));
  out.Progress("running the AKBK ceremony with 2 development custodians...");
  COFFER_ASSIGN_OR_RETURN(provision::AkbkCeremony ceremony,
                          provision::GenerateAkbk(2));
  COFFER_RETURN_IF_ERROR(SaveCeremony(p("ceremony"), ceremony));
  return ceremony;
}

absl::StatusOr<pb::Response> Call(Connection& conn, pb::Request request) {
  return conn.Call(request);
}

// The service's step: mode and AKBK, from two development custodians.
absl::Status InstallAkbk(Connection& conn, const Paths& p, pb::Mode mode,
                         const provision::AkbkCeremony& ceremony) {
  COFFER_ASSIGN_OR_RETURN(std::string service_ca,
                          ReadFile(p("service-ca/ca.pem")));
  return provision::CommissionOverWire(
      [&conn](pb::Request& request) { return conn.Call(request); }, mode,
      ceremony, service_ca);
}

// The customer's step: the cluster CSR signed by the customer CA.
absl::Status InstallClusterIdentity(Connection& conn, const Paths& p) {
  pb::Request csr;
  csr.mutable_create_cluster_csr()->set_cluster_id("dev-cluster");
  COFFER_ASSIGN_OR_RETURN(pb::Response csr_response, Call(conn, csr));
  COFFER_ASSIGN_OR_RETURN(provision::CertificateAuthority customer,
                          LoadCa(p("customer-ca")));
  COFFER_ASSIGN_OR_RETURN(
      crypto::Certificate cluster_cert,
      provision::SignClusterCsr(customer,
                                csr_response.create_cluster_csr().csr_pem()));
  pb::Request install;
  pb::InstallClusterCertificateRequest* r =
      install.mutable_install_cluster_certificate();
  r->set_cluster_cert_pem(cluster_cert.ToPem());
  r->set_customer_anchor_pem(customer.cert.ToPem());
  return Call(conn, install).status();
}

// Activation with a generated admin password, then a crypto user; both
// passwords go to credentials files.
absl::Status ActivateWithUsers(Connection& conn, const Paths& p) {
  COFFER_ASSIGN_OR_RETURN(SecretBytes admin_password, GeneratePassword());
  pb::Request activate;
  COFFER_RETURN_IF_ERROR(
      SendSecret(conn, activate,
                 activate.mutable_activate()->mutable_admin_password(),
                 admin_password)
          .status());
  COFFER_RETURN_IF_ERROR(
      WriteCredentialsFile(p("admin.credentials"), "admin", admin_password));
  return CreateCryptoUserWithCredentials(conn, admin_password, kCuName,
                                         p("cu.credentials"));
}

// Commissioning, cluster identity, activation and a crypto user, through
// the HSM's API as the service and the customer would.
absl::Status Commission(const Paths& p, int port, pb::Mode mode,
                        const provision::AkbkCeremony& ceremony, Output& out) {
  COFFER_ASSIGN_OR_RETURN(Connection conn,
                          Connection::Open(ServiceConfig(p, port)));
  out.Progress("commissioning with 2 development custodians...");
  COFFER_RETURN_IF_ERROR(InstallAkbk(conn, p, mode, ceremony));
  out.Progress("creating the cluster identity...");
  COFFER_RETURN_IF_ERROR(InstallClusterIdentity(conn, p));
  out.Progress("activating and creating a crypto user...");
  return ActivateWithUsers(conn, p);
}

absl::StatusOr<pid_t> ReadPid(const Paths& p) {
  absl::StatusOr<std::string> text = ReadFile(p("hsm.pid"));
  int pid = 0;
  if (!text.ok() ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) || pid <= 0) {
    return absl::NotFoundError("no hsm.pid");
  }
  return static_cast<pid_t>(pid);
}

bool DaemonRunning(const Paths& p) {
  absl::StatusOr<pid_t> pid = ReadPid(p);
  return pid.ok() && ProcessRunning(*pid, p("hsm"));
}

// Starts coffer-hsm on 127.0.0.1:`port` (0: any) and waits for it.
absl::StatusOr<std::pair<pid_t, int>> StartHsm(const Paths& p, int port) {
  COFFER_ASSIGN_OR_RETURN(std::string bin, FindHsmBinary());
  std::remove(p("hsm.port").c_str());
  COFFER_ASSIGN_OR_RETURN(
      pid_t pid, StartDetached({bin, "--data-dir", p("hsm"), "--listen",
                                absl::StrCat("127.0.0.1:", port), "--port-file",
                                p("hsm.port"), "--bootstrap-client-ca",
                                p("service-ca/ca.pem")},
                               p("hsm.log")));
  COFFER_RETURN_IF_ERROR(WriteFile(p("hsm.pid"), absl::StrCat(pid, "\n")));
  absl::StatusOr<int> bound =
      WaitForPortFile(pid, p("hsm.port"), p("hsm.log"), kStartTimeoutMs);
  if (!bound.ok()) {
    (void)StopProcess(pid, 2000);
    return bound.status();
  }
  return std::pair{pid, *bound};
}

// The port recorded in config.json by an earlier `up`.
absl::StatusOr<int> RecordedPort(const Paths& p) {
  COFFER_ASSIGN_OR_RETURN(std::string text, ReadFile(p("config.json")));
  Json doc = Json::parse(text, nullptr, false);
  const std::string hsm = doc.is_object() ? doc.value("hsm", "") : "";
  int port = 0;
  const size_t colon = hsm.rfind(':');
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(hsm.substr(colon + 1), &port)) {
    return UsageError(p("config.json") + " names no HSM port");
  }
  return port;
}

absl::Status Report(Context& ctx, const Paths& p, pid_t pid, int port,
                    bool created) {
  COFFER_ASSIGN_OR_RETURN(Connection conn,
                          Connection::Open(ServiceConfig(p, port)));
  pb::Request info;
  info.mutable_get_info();
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(info));
  const pb::GetInfoResponse& i = response.get_info();
  Json doc;
  doc["dir"] = p.dir;
  doc["hsm"] = absl::StrCat("127.0.0.1:", port);
  doc["pid"] = pid;
  doc["serial"] = i.serial();
  doc["mode"] = ModeName(i.mode());
  doc["state"] = StateName(i.state());
  doc["created"] = created;
  doc["config"] = p("config.json");
  doc["service_config"] = p("service.json");
  doc["admin_credentials"] = p("admin.credentials");
  doc["crypto_user"] = kCuName;
  doc["cu_credentials"] = p("cu.credentials");
  doc["log"] = p("hsm.log");
  doc["warning"] = kWarning;
  ctx.out.Print(doc, created ? "Development HSM created and running."
                             : "Development HSM running.");
  ctx.out.Note(absl::StrCat(
      "\nUse it:\n  export COFFER_CONFIG=", p("config.json"),
      "\n  coffer login --credentials-file ", p("cu.credentials"),
      "\n  coffer key generate-asymmetric --type ec-p256 --label demo",
      "\n  coffer hsm-info --config ", p("service.json"),
      "   # the service's view (works even when TAMPERED)",
      "\nStop it:  coffer dev-hsm down --dir ", p.dir));
  return absl::OkStatus();
}

}  // namespace

absl::Status DevHsmUp(Context& ctx) {
  const Paths p{std::filesystem::absolute(ctx.args.Get("--dir")).string()};
  if (FileExists(p("config.json"))) {
    COFFER_ASSIGN_OR_RETURN(int port, RecordedPort(p));
    if (DaemonRunning(p)) {
      COFFER_ASSIGN_OR_RETURN(pid_t pid, ReadPid(p));
      return Report(ctx, p, pid, port, false);
    }
    ctx.out.Progress("restarting the development HSM...");
    COFFER_ASSIGN_OR_RETURN(auto started, StartHsm(p, port));
    return Report(ctx, p, started.first, started.second, false);
  }
  if (FileExists(p("hsm"))) {
    return UsageError(absl::StrCat(
        p.dir,
        " holds an unfinished development HSM (no config.json): "
        "stop it (`coffer dev-hsm down`), remove the directory and "
        "try again"));
  }
  int port = 0;
  if (ctx.args.Has("--port")) {
    COFFER_ASSIGN_OR_RETURN(uint64_t wanted, ctx.args.GetUint("--port"));
    if (wanted > 65535) return UsageError("--port must be 0-65535");
    port = static_cast<int>(wanted);
  }
  const pb::Mode mode =
      ctx.args.Get("--mode") == "fips" ? pb::MODE_FIPS : pb::MODE_NON_FIPS;
  COFFER_ASSIGN_OR_RETURN(provision::AkbkCeremony ceremony,
                          ProvisionFiles(p, ctx.out));
  ctx.out.Progress("starting coffer-hsm...");
  COFFER_ASSIGN_OR_RETURN(auto started, StartHsm(p, port));
  const auto [pid, bound] = started;
  absl::Status s = Commission(p, bound, mode, ceremony, ctx.out);
  const std::string hsm = absl::StrCat("127.0.0.1:", bound);
  if (s.ok()) s = WriteConfig(p, "service.json", hsm, "service-client", "");
  if (s.ok()) s = WriteConfig(p, "config.json", hsm, "client", "127.0.0.1");
  if (!s.ok()) {
    (void)StopProcess(pid, 5000);
    return s;
  }
  return Report(ctx, p, pid, bound, true);
}

absl::Status DevHsmDown(Context& ctx) {
  const Paths p{std::filesystem::absolute(ctx.args.Get("--dir")).string()};
  Json doc;
  doc["dir"] = p.dir;
  absl::StatusOr<pid_t> pid = ReadPid(p);
  const bool running = pid.ok() && ProcessRunning(*pid, p("hsm"));
  doc["stopped"] = running;
  if (running) COFFER_RETURN_IF_ERROR(StopProcess(*pid, 10000));
  std::remove(p("hsm.pid").c_str());
  std::remove(p("hsm.port").c_str());
  ctx.out.Print(doc, running ? "Stopped the development HSM (its data stays "
                               "in " +
                                   p("hsm") + "; `dev-hsm up` restarts it)."
                             : "The development HSM was not running.");
  return absl::OkStatus();
}

}  // namespace coffer::cli
