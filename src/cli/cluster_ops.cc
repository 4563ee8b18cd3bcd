#include "cli/cluster_ops.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status.h"
#include "cli/command_table.h"
#include "cli/manager_views.h"
#include "cli/progress.h"

namespace coffer::cli {

using Stub = mpb::Manager::Stub;

absl::StatusOr<mpb::Hsm> CreateClusterHsm(ManagerConnection& m,
                                          const std::string& cluster_id,
                                          const std::string& availability_zone,
                                          const Output& out) {
  mpb::CreateHsmRequest req;
  req.set_cluster_id(cluster_id);
  req.set_availability_zone(availability_zone);
  COFFER_ASSIGN_OR_RETURN(
      mpb::CreateHsmResponse resp,
      WithProgress(out, absl::StrCat("creating an HSM in ", cluster_id), [&] {
        return m.Call(&Stub::CreateHsm, req, ManagerConnection::kLongDeadline);
      }));
  return resp.hsm();
}

absl::StatusOr<std::string> SignCsrOfCluster(
    const mpb::Cluster& cluster, const provision::CertificateAuthority& ca) {
  const std::string& csr = cluster.certificates().cluster_csr_pem();
  if (csr.empty()) {
    const bool done = !cluster.certificates().cluster_certificate_pem().empty();
    return absl::FailedPreconditionError(absl::StrCat(
        "cluster ", cluster.cluster_id(), " is ",
        ClusterStateName(cluster.state()), " and has no CSR to sign: ",
        done ? "it is initialized already"
             : absl::StrCat("create its first HSM first (`coffer hsm create "
                            "--cluster ",
                            cluster.cluster_id(), "`)")));
  }
  absl::StatusOr<crypto::Certificate> cert = provision::SignClusterCsr(ca, csr);
  if (!cert.ok()) {
    return absl::Status(
        cert.status().code(),
        absl::StrCat("signing the CSR of cluster ", cluster.cluster_id(), ": ",
                     cert.status().message()));
  }
  return cert->ToPem();
}

absl::StatusOr<mpb::InitializeClusterResponse> CallInitializeCluster(
    ManagerConnection& m, const std::string& cluster_id,
    const std::string& signed_cert_pem, const std::string& trust_anchor_pem,
    const Output& out) {
  mpb::InitializeClusterRequest req;
  req.set_cluster_id(cluster_id);
  req.set_signed_cert_pem(signed_cert_pem);
  req.set_trust_anchor_pem(trust_anchor_pem);
  // Installs the certificate into the first HSM: longer than a catalog
  // call.
  return WithProgress(out, absl::StrCat("initializing ", cluster_id), [&] {
    return m.Call(&Stub::InitializeCluster, req,
                  ManagerConnection::kLongDeadline);
  });
}

absl::StatusOr<std::string> SendActivation(
    const ConnectionConfig& config, const mpb::Cluster& cluster,
    const crypto::SecretBytes& admin_password) {
  COFFER_ASSIGN_OR_RETURN(mpb::Hsm hsm, OldestActiveHsm(cluster));
  ConnectionConfig direct = config;
  direct.hsm = hsm.endpoint();
  COFFER_ASSIGN_OR_RETURN(Connection conn, Connection::Open(direct));
  pb::Request request;
  std::string* field = request.mutable_activate()->mutable_admin_password();
  const ByteView secret = admin_password.ExposeSecret();
  field->assign(secret.begin(), secret.end());
  absl::StatusOr<pb::Response> response = conn.Call(request);
  client::WipeBytes(field);
  if (!response.ok()) {
    return WithExitCode(absl::Status(response.status().code(),
                                     absl::StrCat("activating ", hsm.hsm_id(),
                                                  " at ", hsm.endpoint(), ": ",
                                                  response.status().message())),
                        ExitCodeOf(response.status()));
  }
  return hsm.endpoint();
}

absl::StatusOr<mpb::Cluster> WaitForClusterState(ManagerConnection& m,
                                                 const std::string& cluster_id,
                                                 mpb::ClusterState want,
                                                 absl::Duration timeout,
                                                 const Output& out) {
  ProgressLine progress(out, absl::StrCat("waiting for ", cluster_id, " to be ",
                                          ClusterStateName(want)));
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(mpb::Cluster c, DescribeOne(m, cluster_id));
    if (c.state() == want) return c;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "cluster ", cluster_id, " is still ", ClusterStateName(c.state()),
          c.state_message().empty()
              ? ""
              : absl::StrCat(" (", c.state_message(), ")"),
          " after ", absl::FormatDuration(timeout), ", not ",
          ClusterStateName(want),
          ": the manager notices an activation at its next health check "
          "(coffer-manager --health-interval); see `coffer cluster describe ",
          cluster_id, "` and the manager's log"));
    }
    absl::SleepFor(absl::Seconds(1));
  }
}

}  // namespace coffer::cli
