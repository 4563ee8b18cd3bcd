// Commands served by coffer-manager (the control plane): clusters, the
// backups it keeps, and tags. Each is one gRPC call (list commands: one per
// page, followed to the end) through ManagerConnection; the JSON schemas
// are in docs/cli.md.
#include <cstdint>
#include <ctime>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/commands.h"
#include "cli/manager_connection.h"
#include "cli/manager_views.h"
#include "cli/output.h"

namespace coffer::cli {
namespace {

using Stub = mpb::Manager::Stub;

absl::StatusOr<uint32_t> RetentionDays(const Args& args) {
  COFFER_ASSIGN_OR_RETURN(uint64_t days, args.GetUint("--retention-days"));
  // The manager judges the range (7-379); this only keeps the number whole.
  if (days > std::numeric_limits<uint32_t>::max()) {
    return UsageError("--retention-days: 7 to 379");
  }
  return static_cast<uint32_t>(days);
}

}  // namespace

absl::Status ClusterCreate(Context& ctx) {
  const Args& a = ctx.args;
  mpb::CreateClusterRequest req;
  req.set_region(a.Get("--region"));
  if (a.Get("--mode") == "fips") req.set_mode(mpb::CLUSTER_MODE_FIPS);
  if (a.Get("--mode") == "non-fips") req.set_mode(mpb::CLUSTER_MODE_NON_FIPS);
  if (a.Has("--retention-days")) {
    COFFER_ASSIGN_OR_RETURN(uint32_t days, RetentionDays(a));
    req.set_backup_retention_days(days);
  }
  req.set_source_backup_id(a.Get("--source-backup"));
  COFFER_RETURN_IF_ERROR(AddTags(a.GetList("--tag"), req.mutable_tags()));
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(mpb::CreateClusterResponse resp,
                          m.Call(&Stub::CreateCluster, req));
  ctx.out.Print(ClusterJson(resp.cluster(), false),
                absl::StrCat("Created cluster ", resp.cluster().cluster_id()));
  return absl::OkStatus();
}

absl::Status ClusterList(Context& ctx) {
  mpb::DescribeClustersRequest req;
  for (const std::string& s : ctx.args.GetList("--state")) {
    mpb::ClusterState state;
    if (!mpb::ClusterState_Parse(absl::StrCat("CLUSTER_STATE_", s), &state)) {
      return UsageError(absl::StrCat("unknown cluster state '", s, "'"));
    }
    req.add_states(state);
  }
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  Json clusters = Json::array();
  do {  // every page, in the manager's order (oldest first)
    COFFER_ASSIGN_OR_RETURN(mpb::DescribeClustersResponse resp,
                            m.Call(&Stub::DescribeClusters, req));
    for (const mpb::Cluster& c : resp.clusters()) {
      clusters.push_back(ClusterJson(c, false));
    }
    req.set_next_token(resp.next_token());
  } while (!req.next_token().empty());
  Json doc;
  doc["clusters"] = clusters;
  ctx.out.Print(doc, "", ClusterColumns());
  return absl::OkStatus();
}

absl::Status ClusterDescribe(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(mpb::Cluster c, DescribeOne(m, ctx.args.Get("ID")));
  ctx.out.Print(ClusterJson(c, true));
  return absl::OkStatus();
}

absl::Status ClusterModify(Context& ctx) {
  mpb::ModifyClusterRequest req;
  req.set_cluster_id(ctx.args.Get("ID"));
  COFFER_ASSIGN_OR_RETURN(uint32_t days, RetentionDays(ctx.args));
  req.set_backup_retention_days(days);
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(mpb::ModifyClusterResponse resp,
                          m.Call(&Stub::ModifyCluster, req));
  ctx.out.Print(ClusterJson(resp.cluster(), false));
  return absl::OkStatus();
}

absl::Status ClusterDelete(Context& ctx) {
  const std::string id = ctx.args.Get("ID");
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  // Ask about a cluster that exists, and say what is at stake.
  COFFER_ASSIGN_OR_RETURN(mpb::Cluster c, DescribeOne(m, id));
  COFFER_RETURN_IF_ERROR(
      Confirm(ctx.args, absl::StrCat("Delete cluster ", id, " (", c.region(),
                                     ", ", c.hsms_size(), " HSMs)?")));
  mpb::DeleteClusterRequest req;
  req.set_cluster_id(id);
  COFFER_ASSIGN_OR_RETURN(mpb::DeleteClusterResponse resp,
                          m.Call(&Stub::DeleteCluster, req));
  ctx.out.Print(ClusterJson(resp.cluster(), false),
                absl::StrCat("Deleted cluster ", id));
  return absl::OkStatus();
}

absl::Status BackupList(Context& ctx) {
  const Args& a = ctx.args;
  mpb::DescribeBackupsRequest req;
  if (a.Has("--cluster")) req.add_cluster_ids(a.Get("--cluster"));
  for (const std::string& s : a.GetList("--state")) {
    mpb::BackupState state;
    if (!mpb::BackupState_Parse(absl::StrCat("BACKUP_STATE_", s), &state)) {
      return UsageError(absl::StrCat("unknown backup state '", s, "'"));
    }
    req.add_states(state);
  }
  if (a.Switch("--never-expires")) req.set_never_expires(true);
  req.set_sort(a.Get("--sort") == "desc" ? mpb::SORT_ORDER_DESCENDING
                                         : mpb::SORT_ORDER_ASCENDING);
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  Json backups = Json::array();
  do {
    COFFER_ASSIGN_OR_RETURN(mpb::DescribeBackupsResponse resp,
                            m.Call(&Stub::DescribeBackups, req));
    for (const mpb::Backup& b : resp.backups())
      backups.push_back(BackupJson(b));
    req.set_next_token(resp.next_token());
  } while (!req.next_token().empty());
  Json doc;
  doc["backups"] = backups;
  ctx.out.Print(doc, "", BackupColumns());
  return absl::OkStatus();
}

absl::Status BackupDelete(Context& ctx) {
  mpb::DeleteBackupRequest req;
  req.set_backup_id(ctx.args.Get("ID"));
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(mpb::DeleteBackupResponse resp,
                          m.Call(&Stub::DeleteBackup, req));
  ctx.out.Print(BackupJson(resp.backup()),
                absl::StrCat("Backup ", req.backup_id(),
                             " is pending deletion; `coffer backup restore ",
                             req.backup_id(), "` cancels it."));
  return absl::OkStatus();
}

absl::Status BackupRestore(Context& ctx) {
  mpb::RestoreBackupRequest req;
  req.set_backup_id(ctx.args.Get("ID"));
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(mpb::RestoreBackupResponse resp,
                          m.Call(&Stub::RestoreBackup, req));
  ctx.out.Print(BackupJson(resp.backup()));
  return absl::OkStatus();
}

absl::Status BackupModify(Context& ctx) {
  mpb::ModifyBackupAttributesRequest req;
  req.set_backup_id(ctx.args.Get("ID"));
  req.set_never_expires(ctx.args.Get("--never-expires") == "true");
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(mpb::ModifyBackupAttributesResponse resp,
                          m.Call(&Stub::ModifyBackupAttributes, req));
  ctx.out.Print(BackupJson(resp.backup()));
  return absl::OkStatus();
}

absl::Status TagAdd(Context& ctx) {
  mpb::TagResourceRequest req;
  req.set_resource_id(ctx.args.Get("RESOURCE"));
  COFFER_RETURN_IF_ERROR(AddTags(ctx.args.GetList("TAGS"), req.mutable_tags()));
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  COFFER_RETURN_IF_ERROR(m.Call(&Stub::TagResource, req).status());
  Json doc;
  doc["resource_id"] = req.resource_id();
  doc["tags"] = TagsJson(req.tags());
  ctx.out.Print(doc, absl::StrCat("Tagged ", req.resource_id()));
  return absl::OkStatus();
}

absl::Status TagRemove(Context& ctx) {
  mpb::UntagResourceRequest req;
  req.set_resource_id(ctx.args.Get("RESOURCE"));
  for (const std::string& k : ctx.args.GetList("KEYS")) req.add_tag_keys(k);
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  COFFER_RETURN_IF_ERROR(m.Call(&Stub::UntagResource, req).status());
  Json doc;
  doc["resource_id"] = req.resource_id();
  doc["removed"] = ctx.args.GetList("KEYS");
  ctx.out.Print(doc);
  return absl::OkStatus();
}

absl::Status TagList(Context& ctx) {
  mpb::ListTagsRequest req;
  req.set_resource_id(ctx.args.Get("RESOURCE"));
  COFFER_ASSIGN_OR_RETURN(ManagerConnection m,
                          ManagerConnection::Open(ctx.connection));
  google::protobuf::RepeatedPtrField<mpb::Tag> tags;
  do {
    COFFER_ASSIGN_OR_RETURN(mpb::ListTagsResponse resp,
                            m.Call(&Stub::ListTags, req));
    tags.MergeFrom(resp.tags());
    req.set_next_token(resp.next_token());
  } while (!req.next_token().empty());
  Json doc;
  doc["resource_id"] = req.resource_id();
  doc["tags"] = TagsJson(tags);
  ctx.out.Print(doc);
  return absl::OkStatus();
}

}  // namespace coffer::cli
