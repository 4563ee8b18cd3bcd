// The steps of a cluster's life that both the manager commands
// (`coffer hsm create`, `cluster initialize`, `cluster activate`) and
// `coffer up` take: each is a call to the manager, or for activation the
// customer's own request to the cluster's first HSM. Errors carry the CLI's
// exit codes (manager_connection.h, connection.h). Internal to src/cli.
#ifndef COFFER_CLI_CLUSTER_OPS_H_
#define COFFER_CLI_CLUSTER_OPS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/manager_connection.h"
#include "cli/output.h"
#include "crypto/secret_bytes.h"
#include "provision/provision.h"

namespace coffer::cli {

// CreateHsm, which returns once the HSM is ACTIVE (minutes at most): with
// the long deadline and a progress line on a terminal.
absl::StatusOr<mpb::Hsm> CreateClusterHsm(ManagerConnection& m,
                                          const std::string& cluster_id,
                                          const std::string& availability_zone,
                                          const Output& out);

// The cluster's CSR (recorded by its first HSM) signed by `ca`, the
// customer CA, as provision::SignClusterCsr does. FailedPrecondition
// naming the state when the cluster has no CSR.
absl::StatusOr<std::string> SignCsrOfCluster(
    const mpb::Cluster& cluster, const provision::CertificateAuthority& ca);

// InitializeCluster with the signed certificate and its trust anchor;
// returns the state the manager reports (INITIALIZED on success).
absl::StatusOr<mpb::InitializeClusterResponse> CallInitializeCluster(
    ManagerConnection& m, const std::string& cluster_id,
    const std::string& signed_cert_pem, const std::string& trust_anchor_pem,
    const Output& out);

// The customer's activation: connects to the cluster's oldest ACTIVE HSM
// directly, as `config` says (its cert/key, trusting its ca; config.hsm is
// ignored), and sends the wire `activate` request with `admin_password`
// (wiped from the request once sent). Returns the HSM's endpoint.
absl::StatusOr<std::string> SendActivation(
    const ConnectionConfig& config, const mpb::Cluster& cluster,
    const crypto::SecretBytes& admin_password);

// Polls DescribeClusters every second until the cluster is `want`; shows
// progress on a terminal. DeadlineExceeded (exit 1) after `timeout`,
// naming the state it is in and its message.
absl::StatusOr<mpb::Cluster> WaitForClusterState(ManagerConnection& m,
                                                 const std::string& cluster_id,
                                                 mpb::ClusterState want,
                                                 absl::Duration timeout,
                                                 const Output& out);

// How long `cluster activate` and `coffer up` wait for the manager's
// health check to notice an activation.
inline constexpr absl::Duration kActivationTimeout = absl::Seconds(60);

}  // namespace coffer::cli

#endif  // COFFER_CLI_CLUSTER_OPS_H_
