#include "cli/manager_views.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/command_table.h"

namespace coffer::cli {

std::string ShortEnumName(const std::string& enum_name,
                          const std::string& prefix) {
  return absl::StartsWith(enum_name, prefix) ? enum_name.substr(prefix.size())
                                             : enum_name;
}

std::string ClusterStateName(mpb::ClusterState state) {
  return ShortEnumName(mpb::ClusterState_Name(state), "CLUSTER_STATE_");
}

std::string HsmStateName(mpb::HsmState state) {
  return ShortEnumName(mpb::HsmState_Name(state), "HSM_STATE_");
}

std::string ClusterModeName(mpb::ClusterMode mode) {
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

Json HsmJson(const mpb::Hsm& h) {
  Json doc;
  doc["hsm_id"] = h.hsm_id();
  doc["cluster_id"] = h.cluster_id();
  doc["state"] = HsmStateName(h.state());
  doc["state_message"] = h.state_message();
  doc["endpoint"] = h.endpoint();
  doc["availability_zone"] = h.availability_zone();
  doc["created"] = IsoUtc(h.create_time());
  return doc;
}

Json ClusterJson(const mpb::Cluster& c, bool with_certificates) {
  Json doc;
  doc["cluster_id"] = c.cluster_id();
  doc["state"] = ClusterStateName(c.state());
  doc["state_message"] = c.state_message();
  doc["region"] = c.region();
  doc["mode"] = ClusterModeName(c.mode());
  doc["backup_retention_days"] = c.backup_retention_days();
  doc["source_backup_id"] = c.source_backup_id();
  doc["created"] = IsoUtc(c.create_time());
  doc["hsm_count"] = c.hsms_size();
  Json hsms = Json::array();
  for (const mpb::Hsm& h : c.hsms()) {
    Json one = HsmJson(h);
    one.erase("cluster_id");  // the schema of issue 5: the cluster is above
    hsms.push_back(std::move(one));
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
  doc["state"] =
      ShortEnumName(mpb::BackupState_Name(b.state()), "BACKUP_STATE_");
  doc["mode"] = ClusterModeName(b.mode());
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

absl::StatusOr<mpb::Cluster> DescribeOne(ManagerConnection& m,
                                         const std::string& id) {
  mpb::DescribeClustersRequest req;
  req.add_cluster_ids(id);
  COFFER_ASSIGN_OR_RETURN(mpb::DescribeClustersResponse resp,
                          m.Call(&mpb::Manager::Stub::DescribeClusters, req));
  if (resp.clusters_size() != 1) {
    return absl::NotFoundError(absl::StrCat("no cluster ", id));
  }
  return resp.clusters(0);
}

absl::StatusOr<mpb::Hsm> OldestActiveHsm(const mpb::Cluster& cluster) {
  const mpb::Hsm* oldest = nullptr;
  for (const mpb::Hsm& h : cluster.hsms()) {
    if (h.state() != mpb::HSM_STATE_ACTIVE || h.endpoint().empty()) continue;
    if (oldest == nullptr ||
        std::make_tuple(h.create_time(), h.hsm_id()) <
            std::make_tuple(oldest->create_time(), oldest->hsm_id())) {
      oldest = &h;
    }
  }
  if (oldest == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cluster ", cluster.cluster_id(), " (",
        ClusterStateName(cluster.state()),
        ") has no ACTIVE HSM: add one with `coffer hsm create --cluster ",
        cluster.cluster_id(), "`"));
  }
  return *oldest;
}

const std::vector<std::string>& ClusterColumns() {
  static const auto* columns = new std::vector<std::string>{
      "cluster_id", "state",  "region", "mode", "backup_retention_days",
      "hsm_count",  "created"};
  return *columns;
}

const std::vector<std::string>& BackupColumns() {
  static const auto* columns = new std::vector<std::string>{
      "backup_id", "cluster_id",    "state",  "region",
      "mode",      "never_expires", "created"};
  return *columns;
}

const std::vector<std::string>& HsmColumns() {
  static const auto* columns = new std::vector<std::string>{
      "hsm_id",  "cluster_id",   "state", "endpoint", "availability_zone",
      "created", "state_message"};
  return *columns;
}

}  // namespace coffer::cli
