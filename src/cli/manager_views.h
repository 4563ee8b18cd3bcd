// What the manager commands share: the JSON views of the manager's
// resources (the stable `--output json` schemas of docs/cli.md), tag
// parsing, and lookups every family needs (one cluster, its ACTIVE HSMs).
// Internal to src/cli.
#ifndef COFFER_CLI_MANAGER_VIEWS_H_
#define COFFER_CLI_MANAGER_VIEWS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/manager_connection.h"
#include "cli/output.h"

namespace coffer::cli {

// "CLUSTER_STATE_ACTIVE" -> "ACTIVE": the CLI shows and takes the short
// names.
std::string ShortEnumName(const std::string& enum_name,
                          const std::string& prefix);
std::string ClusterStateName(mpb::ClusterState state);  // "ACTIVE"
std::string HsmStateName(mpb::HsmState state);          // "ACTIVE"
std::string ClusterModeName(mpb::ClusterMode mode);     // "fips", "non-fips"

Json TagsJson(const google::protobuf::RepeatedPtrField<mpb::Tag>& tags);
// One HSM: hsm_id, cluster_id, state, state_message, endpoint,
// availability_zone, created.
Json HsmJson(const mpb::Hsm& h);
Json ClusterJson(const mpb::Cluster& c, bool with_certificates);
Json BackupJson(const mpb::Backup& b);

// KEY=VALUE words; the value may be empty, the key may not (UsageError).
absl::Status AddTags(const std::vector<std::string>& words,
                     google::protobuf::RepeatedPtrField<mpb::Tag>* tags);

// The manager's answer for one cluster id (NOT_FOUND if none).
absl::StatusOr<mpb::Cluster> DescribeOne(ManagerConnection& m,
                                         const std::string& id);

// The cluster's oldest ACTIVE HSM (by creation time, then id), so that
// every command picks the same one while it lives. FailedPrecondition
// (exit 1) naming the cluster's state if it has none.
absl::StatusOr<mpb::Hsm> OldestActiveHsm(const mpb::Cluster& cluster);

// Table columns for lists of clusters, backups and HSMs.
const std::vector<std::string>& ClusterColumns();
const std::vector<std::string>& BackupColumns();
const std::vector<std::string>& HsmColumns();

}  // namespace coffer::cli

#endif  // COFFER_CLI_MANAGER_VIEWS_H_
