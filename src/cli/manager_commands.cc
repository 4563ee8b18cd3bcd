// Commands served by coffer-manager (the control plane): clusters, the
// backups it keeps, and tags. Each is one gRPC call (list commands: one per
// page, followed to the end) through ManagerConnection; the JSON schemas
// are in docs/cli.md.
#include <cstdint>
#include <ctime>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/commands.h"
#include "cli/manager_connection.h"
#include "cli/output.h"

namespace coffer::cli {
namespace {

using Stub = mpb::Manager::Stub;

// "CLUSTER_STATE_ACTIVE" -> "ACTIVE": the CLI shows and takes the short
// names.
std::string Short(const std::string& enum_name, const std::string& prefix) {
  return absl::StartsWith(enum_name, prefix) ? enum_name.substr(prefix.size())
                                             : enum_name;
}

std::string ModeName(mpb::ClusterMode mode) {
  switch (mode) {
    case mpb::CLUSTER_MODE_FIPS:
      return "fips";
    case mpb::CLUSTER_MODE_NON_FIPS:
      return "non-fips";
    default:
      return "";
  }
}

Json TagsJson(const google::protobuf::RepeatedPtrField<mpb::Tag>& tags) {
  Json out = Json::array();
  for (const mpb::Tag& t : tags) {
    out.push_back({{"key", t.key()}, {"value", t.value()}});
  }
  return out;
}

Json ClusterJson(const mpb::Cluster& c, bool with_certificates) {
  Json doc;
  doc["cluster_id"] = c.cluster_id();
  doc["state"] = Short(mpb::ClusterState_Name(c.state()), "CLUSTER_STATE_");
  doc["state_message"] = c.state_message();
  doc["region"] = c.region();
  doc["mode"] = ModeName(c.mode());
  doc["backup_retention_days"] = c.backup_retention_days();
  doc["source_backup_id"] = c.source_backup_id();
  doc["created"] = IsoUtc(c.create_time());
  doc["hsm_count"] = c.hsms_size();
  Json hsms = Json::array();
  for (const mpb::Hsm& h : c.hsms()) {
    hsms.push_back(
        {{"hsm_id", h.hsm_id()},
         {"state", Short(mpb::HsmState_Name(h.state()), "HSM_STATE_")},
         {"state_message", h.state_message()},
         {"endpoint", h.endpoint()},
         {"availability_zone", h.availability_zone()},
         {"created", IsoUtc(h.create_time())}});
  }
  doc["hsms"] = hsms;
  doc["tags"] = TagsJson(c.tags());
  if (with_certificates) {
    doc["certificates"] = {
        {"cluster_csr_pem", c.certificates().cluster_csr_pem()},
        {"cluster_certificate_pem", c.certificates().cluster_certificate_pem()},
        {"trust_anchor_pem", c.certificates().trust_anchor_pem()}};
  }
  return doc;
}

Json BackupJson(const mpb::Backup& b) {
  Json doc;
  doc["backup_id"] = b.backup_id();
  doc["cluster_id"] = b.cluster_id();
  doc["region"] = b.region();
  doc["state"] = Short(mpb::BackupState_Name(b.state()), "BACKUP_STATE_");
  doc["mode"] = ModeName(b.mode());
  doc["created"] = IsoUtc(b.create_time());
  doc["deleted"] = IsoUtc(b.delete_time());
  doc["never_expires"] = b.never_expires();
  doc["source_backup_id"] = b.source_backup_id();
  doc["source_region"] = b.source_region();
  doc["source_cluster_id"] = b.source_cluster_id();
  doc["copied"] = IsoUtc(b.copy_time());
  doc["tags"] = TagsJson(b.tags());
  return doc;
}

// KEY=VALUE words; the value may be empty, the key may not.
absl::Status AddTags(const std::vector<std::string>& words,
                     google::protobuf::RepeatedPtrField<mpb::Tag>* tags) {
  for (const std::string& w : words) {
    const size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError(absl::StrCat("a tag is KEY=VALUE, not '", w, "'"));
    }
    mpb::Tag* t = tags->Add();
    t->set_key(w.substr(0, eq));
    t->set_value(w.substr(eq + 1));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> RetentionDays(const Args& args) {
  COFFER_ASSIGN_OR_RETURN(uint64_t days, args.GetUint("--retention-days"));
  // The manager judges the range (7-379); this only keeps the number whole.
  if (days > std::numeric_limits<uint32_t>::max()) {
    return UsageError("--retention-days: 7 to 379");
  }
  return static_cast<uint32_t>(days);
}

const std::vector<std::string> kClusterColumns = {
    "cluster_id", "state",  "region", "mode", "backup_retention_days",
    "hsm_count",  "created"};
const std::vector<std::string> kBackupColumns = {
    "backup_id", "cluster_id",    "state",  "region",
    "mode",      "never_expires", "created"};

// The manager's answer for one cluster id (NOT_FOUND if none).
absl::StatusOr<mpb::Cluster> DescribeOne(ManagerConnection& m,
                                         const std::string& id) {
  mpb::DescribeClustersRequest req;
  req.add_cluster_ids(id);
  COFFER_ASSIGN_OR_RETURN(mpb::DescribeClustersResponse resp,
                          m.Call(&Stub::DescribeClusters, req));
  if (resp.clusters_size() != 1) {
    return absl::NotFoundError(absl::StrCat("no cluster ", id));
  }
  return resp.clusters(0);
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
  ctx.out.Print(doc, "", kClusterColumns);
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
  ctx.out.Print(doc, "", kBackupColumns);
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
