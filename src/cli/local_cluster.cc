// `coffer up|down`: a complete local cluster (coffer-manager with its local
// HSM provider, N coffer-hsm processes, a customer CA, an admin and a
// crypto user), every secret generated into plain files in --dir.
// DEVELOPMENT ONLY, INSECURE by design. The directory's layout is in
// local_cluster_files.h; docs/cli.md shows how to use it.
//
// `up` takes the steps an operator would take with the other commands
// (cluster create, hsm create, cluster initialize, cluster activate, user
// create, hsm create), through the same code (cluster_ops.h). If a step
// fails, whatever it started is stopped again and the error names the
// step.
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/cluster_ops.h"
#include "cli/commands.h"
#include "cli/daemon.h"
#include "cli/io.h"
#include "cli/local_cluster_files.h"
#include "cli/manager_views.h"
#include "cli/provision_files.h"
#include "cli/secrets.h"

namespace coffer::cli {
namespace {

namespace fs = std::filesystem;
using crypto::SecretBytes;
using Stub = mpb::Manager::Stub;

constexpr char kWarning[] =
    "LOCAL DEVELOPMENT CLUSTER, INSECURE: its CA key, the HSMs' factory, "
    "service CA and AKBK components, and the admin and crypto-user "
    "passwords are development secrets in plain files. Never put real keys "
    "in it.";
constexpr char kCuName[] = "app";
constexpr char kMarkerFile[] = "coffer-up.json";
constexpr int kManagerStartMs = 30000;
constexpr uint64_t kMaxHsms = 16;

struct UpOptions {
  uint64_t hsms = 2;
  std::string region;
  mpb::ClusterMode mode = mpb::CLUSTER_MODE_NON_FIPS;
  uint64_t health_interval = 2;
  uint64_t backup_interval = 86400;
};

absl::StatusOr<UpOptions> ParseOptions(const Args& args) {
  UpOptions o;
  COFFER_ASSIGN_OR_RETURN(o.hsms, args.GetUint("--hsms"));
  COFFER_ASSIGN_OR_RETURN(o.health_interval, args.GetUint("--health-interval"));
  COFFER_ASSIGN_OR_RETURN(o.backup_interval, args.GetUint("--backup-interval"));
  if (o.hsms < 1 || o.hsms > kMaxHsms) {
    return UsageError(absl::StrCat("--hsms must be 1 to ", kMaxHsms));
  }
  if (o.health_interval < 1 || o.backup_interval < 1) {
    return UsageError("--health-interval and --backup-interval must be >= 1");
  }
  o.region = args.Get("--region");
  if (args.Get("--mode") == "fips") o.mode = mpb::CLUSTER_MODE_FIPS;
  return o;
}

// What the directory holds now: a running cluster (refused), files of an
// earlier `up` (wiped with --fresh, else refused), or nothing.
absl::Status PrepareDir(const LocalClusterPaths& p, bool fresh) {
  std::vector<LocalProcess> running = RunningManager(p);
  for (LocalProcess& h : RunningHsms(p)) running.push_back(std::move(h));
  if (!running.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(p.dir, " already holds a running cluster (",
                     running.size(), " processes, e.g. ", running.front().what,
                     " pid ", running.front().pid, "): use it (`. ", p("env"),
                     "`), or stop it with `coffer down --dir ", p.dir, "`"));
  }
  std::error_code ec;
  const bool used = fs::exists(p.dir, ec) && !fs::is_empty(p.dir, ec);
  if (used && !fresh) {
    return absl::FailedPreconditionError(absl::StrCat(
        p.dir, " is not empty (",
        FileExists(p(kMarkerFile))
            ? "a stopped cluster of an earlier `coffer up`"
            : "files `coffer up` did not make",
        "): `coffer up --dir ", p.dir,
        " --fresh` wipes a directory an earlier `coffer up` made"));
  }
  if (used) {
    if (!FileExists(p(kMarkerFile))) {
      return UsageError(absl::StrCat(p.dir, " has no ", kMarkerFile,
                                     ": `coffer up` did not make it, so "
                                     "--fresh does not wipe it"));
    }
    fs::remove_all(p.dir, ec);
    if (ec) {
      return UsageError(
          absl::StrCat("cannot wipe ", p.dir, ": ", ec.message()));
    }
  }
  COFFER_RETURN_IF_ERROR(MakeDirs(p.dir, 0700));
  Json marker;
  marker["format"] = 1;
  marker["made_by"] = "coffer up";
  marker["warning"] = kWarning;
  return WriteFile(p(kMarkerFile), marker.dump(2) + "\n", 0600);
}

// The local customer CA and the TLS identities made from it.
absl::StatusOr<provision::CertificateAuthority> MakePki(
    const LocalClusterPaths& p) {
  COFFER_ASSIGN_OR_RETURN(
      provision::CertificateAuthority ca,
      provision::CreateCa("Coffer local customer CA", "coffer-local"));
  COFFER_RETURN_IF_ERROR(SaveCa(p("ca"), ca));
  for (auto [name, usage] :
       {std::pair{"manager-tls", crypto::CertificateUsage::kTlsServer},
        std::pair{"client", crypto::CertificateUsage::kTlsClient}}) {
    COFFER_ASSIGN_OR_RETURN(
        provision::IssuedKey issued,
        provision::IssueLeaf(ca, absl::StrCat("coffer-local-", name), usage));
    COFFER_RETURN_IF_ERROR(SaveIssued(p(name), issued));
  }
  return ca;
}

// Starts coffer-manager detached; returns its address once it serves.
absl::StatusOr<std::string> StartManager(const LocalClusterPaths& p,
                                         const UpOptions& o) {
  COFFER_ASSIGN_OR_RETURN(std::string manager_bin, FindManagerBinary());
  COFFER_ASSIGN_OR_RETURN(std::string hsm_bin, FindHsmBinary());
  std::remove(p("manager.port").c_str());
  COFFER_ASSIGN_OR_RETURN(
      pid_t pid,
      StartDetached({manager_bin, "--data-dir", p("manager"), "--tls-cert",
                     p("manager-tls.pem"), "--tls-key", p("manager-tls.key"),
                     "--client-ca", p("ca/ca.pem"), "--listen", "127.0.0.1:0",
                     "--port-file", p("manager.port"), "--hsm-binary", hsm_bin,
                     "--health-interval", absl::StrCat(o.health_interval),
                     "--backup-interval", absl::StrCat(o.backup_interval)},
                    p("manager.log")));
  COFFER_RETURN_IF_ERROR(WriteFile(p("manager.pid"), absl::StrCat(pid, "\n")));
  COFFER_ASSIGN_OR_RETURN(
      int port, WaitForPortFile(pid, p("manager.port"), p("manager.log"),
                                kManagerStartMs));
  return absl::StrCat("127.0.0.1:", port);
}

// Names the step now running (for the error if it fails) and shows it.
void Begin(Output& out, std::string& step, std::string what) {
  step = std::move(what);
  out.Progress(step + "...");
}

// As the admin, on the cluster's first HSM: a crypto user with a fresh
// password, written to cu.credentials.
absl::Status CreateCryptoUser(const LocalClusterPaths& p,
                              const ConnectionConfig& config,
                              const mpb::Cluster& cluster,
                              const SecretBytes& admin_password) {
  COFFER_ASSIGN_OR_RETURN(mpb::Hsm hsm, OldestActiveHsm(cluster));
  ConnectionConfig direct = config;
  direct.hsm = hsm.endpoint();
  COFFER_ASSIGN_OR_RETURN(Connection conn, Connection::Open(direct));
  return CreateCryptoUserWithCredentials(conn, admin_password, kCuName,
                                         p("cu.credentials"));
}

// The steps after the manager serves; `step` names the one running.
absl::StatusOr<mpb::Cluster> BuildCluster(
    const LocalClusterPaths& p, const UpOptions& o,
    const provision::CertificateAuthority& ca, const std::string& manager,
    Output& out, std::string& step) {
  ConnectionFlags flags;
  flags.config = p("config.json");  // not $COFFER_CONFIG: this cluster's
  COFFER_RETURN_IF_ERROR(WriteCliConfig(p, manager, ""));
  COFFER_ASSIGN_OR_RETURN(ConnectionConfig config, ResolveManagerConfig(flags));
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m, ManagerConnection::Open(config));

  Begin(out, step, "creating the cluster");
  mpb::CreateClusterRequest create;
  create.set_region(o.region);
  create.set_mode(o.mode);
  COFFER_ASSIGN_OR_RETURN(mpb::CreateClusterResponse created,
                          m.Call(&Stub::CreateCluster, create));
  const std::string id = created.cluster().cluster_id();
  COFFER_RETURN_IF_ERROR(WriteCliConfig(p, manager, id));
  config.cluster_id = id;

  Begin(out, step, absl::StrCat("creating HSM 1 of ", o.hsms, " in ", id));
  COFFER_RETURN_IF_ERROR(CreateClusterHsm(m, id, "", out).status());

  Begin(out, step, "initializing the cluster with the local CA");
  COFFER_ASSIGN_OR_RETURN(mpb::Cluster cluster, DescribeOne(m, id));
  COFFER_ASSIGN_OR_RETURN(std::string cert, SignCsrOfCluster(cluster, ca));
  COFFER_ASSIGN_OR_RETURN(
      mpb::InitializeClusterResponse init,
      CallInitializeCluster(m, id, cert, ca.cert.ToPem(), out));
  if (init.state() != mpb::CLUSTER_STATE_INITIALIZED) {
    return absl::InternalError(absl::StrCat("the manager left the cluster ",
                                            ClusterStateName(init.state()),
                                            ": ", init.state_message()));
  }

  Begin(out, step, "activating the cluster with a generated admin password");
  COFFER_ASSIGN_OR_RETURN(SecretBytes admin_password, GeneratePassword());
  COFFER_RETURN_IF_ERROR(
      WriteCredentialsFile(p("admin.credentials"), "admin", admin_password));
  COFFER_ASSIGN_OR_RETURN(cluster, DescribeOne(m, id));
  COFFER_RETURN_IF_ERROR(
      SendActivation(config, cluster, admin_password).status());
  COFFER_ASSIGN_OR_RETURN(cluster,
                          WaitForClusterState(m, id, mpb::CLUSTER_STATE_ACTIVE,
                                              kActivationTimeout, out));

  Begin(out, step, absl::StrCat("creating crypto user ", kCuName));
  COFFER_RETURN_IF_ERROR(CreateCryptoUser(p, config, cluster, admin_password));

  for (uint64_t i = 2; i <= o.hsms; ++i) {
    Begin(out, step, absl::StrCat("creating HSM ", i, " of ", o.hsms));
    COFFER_RETURN_IF_ERROR(CreateClusterHsm(m, id, "", out).status());
  }
  step = "writing pkcs11.json and env";
  COFFER_RETURN_IF_ERROR(WriteClientFiles(p, manager, id));
  return DescribeOne(m, id);
}

void Report(Context& ctx, const LocalClusterPaths& p,
            const std::string& manager, const mpb::Cluster& c) {
  Json doc;
  doc["dir"] = p.dir;
  doc["cluster_id"] = c.cluster_id();
  doc["state"] = ClusterStateName(c.state());
  doc["region"] = c.region();
  doc["mode"] = ClusterModeName(c.mode());
  doc["manager"] = manager;
  Json hsms = Json::array();
  for (const mpb::Hsm& h : c.hsms()) {
    if (h.state() != mpb::HSM_STATE_DELETED) hsms.push_back(HsmJson(h));
  }
  doc["hsms"] = hsms;
  doc["config"] = p("config.json");
  doc["env"] = p("env");
  doc["pkcs11_config"] = p("pkcs11.json");
  doc["admin_credentials"] = p("admin.credentials");
  doc["crypto_user"] = kCuName;
  doc["cu_credentials"] = p("cu.credentials");
  doc["manager_log"] = p("manager.log");
  doc["warning"] = kWarning;
  ctx.out.Print(doc,
                absl::StrCat("Local cluster ", c.cluster_id(), " is ",
                             ClusterStateName(c.state()), " with ", hsms.size(),
                             " HSMs."),
                {"hsm_id", "state", "endpoint", "created"});
  ctx.out.Note(absl::StrCat(
      "\nUse it:\n  . ", ShellQuote(p("env")),
      "\n  coffer login --credentials-file \"$COFFER_CU_CREDENTIALS\"",
      "\n  coffer key generate-asymmetric --type ec-p256 --label demo",
      "\n  coffer hsm list", "\nStop it:  coffer down --dir ",
      ShellQuote(p.dir)));
}

}  // namespace

absl::Status Up(Context& ctx) {
  const LocalClusterPaths p(ctx.args.Get("--dir"));
  COFFER_ASSIGN_OR_RETURN(UpOptions options, ParseOptions(ctx.args));
  COFFER_RETURN_IF_ERROR(PrepareDir(p, ctx.args.Switch("--fresh")));
  std::cerr << "WARNING: " << kWarning << "\n" << std::flush;
  std::string step = "making the local CA and TLS certificates";
  ctx.out.Progress(step + "...");
  absl::StatusOr<mpb::Cluster> cluster;
  std::string manager;
  absl::StatusOr<provision::CertificateAuthority> ca = MakePki(p);
  if (ca.ok()) {
    Begin(ctx.out, step, "starting coffer-manager");
    absl::StatusOr<std::string> address = StartManager(p, options);
    if (address.ok()) {
      manager = *address;
      cluster = BuildCluster(p, options, *ca, manager, ctx.out, step);
    } else {
      cluster = address.status();
    }
  } else {
    cluster = ca.status();
  }
  if (!cluster.ok()) {
    const Json stopped = StopLocalCluster(p);
    const absl::Status& s = cluster.status();
    return WithExitCode(
        absl::Status(
            s.code(),
            absl::StrCat("coffer up failed while ", step, ": ", s.message(),
                         "\nStopped what it had started (manager: ",
                         stopped["manager"].get<bool>() ? "yes" : "no",
                         ", HSMs: ", stopped["hsms"].size(),
                         stopped["still_running"].empty()
                             ? ""
                             : absl::StrCat("; STILL RUNNING: ",
                                            stopped["still_running"].dump()),
                         "). Logs: ", p("manager.log"), " and ",
                         p("manager/hsms/hsms/*/log"), "; `coffer up --dir ",
                         p.dir, " --fresh` starts over.")),
        ExitCodeOf(s));
  }
  Report(ctx, p, manager, *cluster);
  return absl::OkStatus();
}

absl::Status Down(Context& ctx) {
  const LocalClusterPaths p(ctx.args.Get("--dir"));
  Json doc = StopLocalCluster(p);
  doc["dir"] = p.dir;
  const bool any = doc["manager"].get<bool>() || !doc["hsms"].empty();
  if (!doc["still_running"].empty()) {
    return absl::InternalError(absl::StrCat(
        "could not stop ", doc["still_running"].dump(), " of ", p.dir));
  }
  ctx.out.Print(doc, any ? absl::StrCat("Stopped the local cluster in ", p.dir,
                                        " (its files stay; `coffer up --dir ",
                                        p.dir, " --fresh` starts anew).")
                         : absl::StrCat("Nothing was running in ", p.dir, "."));
  return absl::OkStatus();
}

}  // namespace coffer::cli
