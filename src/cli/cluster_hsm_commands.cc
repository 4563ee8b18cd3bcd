// Commands that make coffer-manager work on HSMs: adding and removing
// HSMs, initializing and activating a cluster, and backups on demand.
// The calls that provision, restore or back up an HSM answer only when
// done, so they get ManagerConnection::kLongDeadline and a progress line
// on a terminal. JSON schemas: docs/cli.md.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/cluster_ops.h"
#include "cli/commands.h"
#include "cli/io.h"
#include "cli/manager_connection.h"
#include "cli/manager_views.h"
#include "cli/progress.h"
#include "cli/provision_files.h"
#include "cli/secrets.h"

namespace coffer::cli {
namespace {

using Stub = mpb::Manager::Stub;

// Every cluster the manager knows (every page), or the one named.
absl::StatusOr<std::vector<mpb::Cluster>> Clusters(ManagerConnection& m,
                                                   const std::string& id) {
  mpb::DescribeClustersRequest req;
  if (!id.empty()) req.add_cluster_ids(id);
  std::vector<mpb::Cluster> all;
  do {
    COFFER_ASSIGN_OR_RETURN(mpb::DescribeClustersResponse resp,
                            m.Call(&Stub::DescribeClusters, req));
    all.insert(all.end(), resp.clusters().begin(), resp.clusters().end());
    req.set_next_token(resp.next_token());
  } while (!req.next_token().empty());
  if (!id.empty() && all.empty()) {
    return absl::NotFoundError(absl::StrCat("no cluster ", id));
  }
  return all;
}

// The signed certificate and trust anchor for `cluster initialize`: signed
// here with --signing-ca, or given as files.
absl::StatusOr<std::pair<std::string, std::string>> Certificates(
    const Args& args, const mpb::Cluster& cluster) {
  const bool with_ca = args.Has("--signing-ca");
  const bool with_files = args.Has("--cert") || args.Has("--trust-anchor");
  if (with_ca == with_files ||
      (with_files && !(args.Has("--cert") && args.Has("--trust-anchor")))) {
    return UsageError(
        "give either --signing-ca DIR, or both --cert FILE and "
        "--trust-anchor FILE");
  }
  if (with_ca) {
    COFFER_ASSIGN_OR_RETURN(provision::CertificateAuthority ca,
                            LoadCa(args.Get("--signing-ca")));
    COFFER_ASSIGN_OR_RETURN(std::string cert, SignCsrOfCluster(cluster, ca));
    return std::pair{std::move(cert), ca.cert.ToPem()};
  }
  COFFER_ASSIGN_OR_RETURN(std::string cert, ReadFile(args.Get("--cert")));
  COFFER_ASSIGN_OR_RETURN(std::string anchor,
                          ReadFile(args.Get("--trust-anchor")));
  return std::pair{std::move(cert), std::move(anchor)};
}

}  // namespace

absl::Status HsmCreate(Context& ctx) {
  const std::string cluster_id = ctx.args.Get("--cluster");
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(
      mpb::Hsm hsm,
      CreateClusterHsm(m, cluster_id, ctx.args.Get("--availability-zone"),
                       ctx.out));
  std::string note = absl::StrCat("Created ", hsm.hsm_id(), " in ", cluster_id,
                                  ", serving at ", hsm.endpoint(), ".");
  // The first HSM of a new cluster waits for the customer's certificate.
  absl::StatusOr<mpb::Cluster> c = DescribeOne(m, cluster_id);
  if (c.ok() && c->state() == mpb::CLUSTER_STATE_UNINITIALIZED) {
    absl::StrAppend(&note, "\nNext: `coffer cluster initialize ", cluster_id,
                    " --signing-ca DIR` (or --cert FILE --trust-anchor FILE), "
                    "then `coffer cluster activate ",
                    cluster_id, "`.");
  }
  ctx.out.Print(HsmJson(hsm), note);
  return absl::OkStatus();
}

absl::Status HsmDelete(Context& ctx) {
  const std::string cluster_id = ctx.args.Get("--cluster");
  const std::string hsm_id = ctx.args.Get("HSM_ID");
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  // Ask about an HSM that exists, and say where it is.
  COFFER_ASSIGN_OR_RETURN(mpb::Cluster c, DescribeOne(m, cluster_id));
  const mpb::Hsm* hsm = nullptr;
  for (const mpb::Hsm& h : c.hsms()) {
    if (h.hsm_id() == hsm_id) hsm = &h;
  }
  if (hsm == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cluster ", cluster_id, " has no HSM ", hsm_id));
  }
  COFFER_RETURN_IF_ERROR(
      Confirm(ctx.args,
              absl::StrCat("Delete ", hsm_id, " (", HsmStateName(hsm->state()),
                           ", ", hsm->endpoint(), ") from cluster ", cluster_id,
                           " (", c.hsms_size(), " HSMs)?")));
  mpb::DeleteHsmRequest req;
  req.set_cluster_id(cluster_id);
  req.set_hsm_id(hsm_id);
  COFFER_RETURN_IF_ERROR(
      WithProgress(ctx.out, absl::StrCat("deleting ", hsm_id), [&] {
        return m.Call(&Stub::DeleteHsm, req, ManagerConnection::kLongDeadline);
      }).status());
  Json doc;
  doc["hsm_id"] = hsm_id;
  doc["cluster_id"] = cluster_id;
  doc["deleted"] = true;
  ctx.out.Print(doc, absl::StrCat("Deleted ", hsm_id, "."));
  return absl::OkStatus();
}

absl::Status HsmList(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(std::vector<mpb::Cluster> clusters,
                          Clusters(m, ctx.args.Get("--cluster")));
  const bool all = ctx.args.Switch("--all");
  Json hsms = Json::array();
  for (const mpb::Cluster& c : clusters) {
    for (const mpb::Hsm& h : c.hsms()) {
      if (!all && h.state() == mpb::HSM_STATE_DELETED) continue;
      hsms.push_back(HsmJson(h));
    }
  }
  Json doc;
  doc["hsms"] = hsms;
  ctx.out.Print(doc, "", HsmColumns());
  return absl::OkStatus();
}

absl::Status ClusterInitialize(Context& ctx) {
  const std::string id = ctx.args.Get("ID");
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(mpb::Cluster c, DescribeOne(m, id));
  COFFER_ASSIGN_OR_RETURN(auto certs, Certificates(ctx.args, c));
  COFFER_ASSIGN_OR_RETURN(
      mpb::InitializeClusterResponse resp,
      CallInitializeCluster(m, id, certs.first, certs.second, ctx.out));
  Json doc;
  doc["cluster_id"] = id;
  doc["state"] = ClusterStateName(resp.state());
  doc["state_message"] = resp.state_message();
  ctx.out.Print(doc,
                resp.state() == mpb::CLUSTER_STATE_INITIALIZED
                    ? absl::StrCat("Cluster ", id,
                                   " is INITIALIZED: set the admin "
                                   "password with `coffer cluster activate ",
                                   id, "`.")
                    : "");
  return absl::OkStatus();
}

absl::Status ClusterActivate(Context& ctx) {
  const std::string id = ctx.args.Get("ID");
  COFFER_ASSIGN_OR_RETURN(ConnectionConfig config,
                          ResolveManagerConfig(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m, ManagerConnection::Open(config));
  COFFER_ASSIGN_OR_RETURN(mpb::Cluster c, DescribeOne(m, id));
  if (c.state() != mpb::CLUSTER_STATE_INITIALIZED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cluster ", id, " is ", ClusterStateName(c.state()),
        "; activation needs INITIALIZED (`coffer cluster initialize` first)"));
  }
  // Asked only once the cluster can take it.
  COFFER_ASSIGN_OR_RETURN(
      crypto::SecretBytes password,
      ReadSecret(ctx.args, {"password", "New password for admin: ", true}));
  COFFER_ASSIGN_OR_RETURN(std::string endpoint,
                          SendActivation(config, c, password));
  ctx.out.Progress(absl::StrCat("activated the HSM at ", endpoint,
                                "; waiting for the manager to see it..."));
  COFFER_ASSIGN_OR_RETURN(mpb::Cluster active,
                          WaitForClusterState(m, id, mpb::CLUSTER_STATE_ACTIVE,
                                              kActivationTimeout, ctx.out));
  ctx.out.Print(ClusterJson(active, false),
                absl::StrCat("Cluster ", id,
                             " is ACTIVE: log in as admin (`coffer login "
                             "--user admin`) to create users."));
  return absl::OkStatus();
}

absl::Status BackupCreate(Context& ctx) {
  mpb::CreateBackupRequest req;
  req.set_cluster_id(ctx.args.Get("--cluster"));
  COFFER_RETURN_IF_ERROR(
      AddTags(ctx.args.GetList("--tag"), req.mutable_tags()));
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(
      mpb::CreateBackupResponse resp,
      WithProgress(ctx.out, absl::StrCat("backing up ", req.cluster_id()), [&] {
        return m.Call(&Stub::CreateBackup, req,
                      ManagerConnection::kLongDeadline);
      }));
  ctx.out.Print(
      BackupJson(resp.backup()),
      absl::StrCat("Created backup ", resp.backup().backup_id(), "."));
  return absl::OkStatus();
}

absl::Status BackupCopyToRegion(Context& ctx) {
  mpb::CopyBackupToRegionRequest req;
  req.set_backup_id(ctx.args.Get("BACKUP_ID"));
  req.set_destination_region(ctx.args.Get("--region"));
  COFFER_RETURN_IF_ERROR(
      AddTags(ctx.args.GetList("--tag"), req.mutable_tags()));
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(
      mpb::CopyBackupToRegionResponse resp,
      WithProgress(ctx.out,
                   absl::StrCat("copying ", req.backup_id(), " to ",
                                req.destination_region()),
                   [&] {
                     return m.Call(&Stub::CopyBackupToRegion, req,
                                   ManagerConnection::kLongDeadline);
                   }));
  const mpb::Backup& copy = resp.destination_backup();
  ctx.out.Print(BackupJson(copy), absl::StrCat("Copied ", req.backup_id(),
                                               " to ", req.destination_region(),
                                               " as ", copy.backup_id(), "."));
  return absl::OkStatus();
}

}  // namespace coffer::cli
