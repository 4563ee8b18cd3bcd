// Cluster identity: the cluster key pair, its certificate, and this HSM's
// TLS server identity under it.
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "hsm/hsm.h"
#include "hsm/internal/core.h"

namespace coffer::hsm {
namespace {

using crypto::SecretBytes;

constexpr int64_t kTlsValiditySeconds = int64_t{398} * 24 * 3600;
constexpr size_t kMaxClusterIdSize = 64;

// A PEM private key for the TLS stack, from a stored PKCS#8 key.
absl::StatusOr<SecretBytes> Pkcs8ToPem(const SecretBytes& pkcs8) {
  COFFER_ASSIGN_OR_RETURN(crypto::PrivateKey key,
                          crypto::PrivateKey::FromPkcs8Der(pkcs8));
  return key.ToPem();
}

}  // namespace

namespace internal {

absl::StatusOr<TlsIdentityRecord> IssueTlsIdentity(
    const Core& core, const ClusterRecord& cluster) {
  COFFER_ASSIGN_OR_RETURN(
      crypto::Certificate cert,
      crypto::Certificate::FromPem(cluster.cluster_cert_pem));
  COFFER_ASSIGN_OR_RETURN(
      crypto::PrivateKey cluster_key,
      crypto::PrivateKey::FromPkcs8Der(cluster.cluster_key_pkcs8));
  COFFER_ASSIGN_OR_RETURN(
      crypto::PrivateKey tls_key,
      crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEcP256));
  crypto::CertificateSpec spec;
  spec.common_name = absl::StrCat(cluster.cluster_id, "/", core.device->serial);
  spec.organization = core.device->manufacturer_id;
  spec.usage = crypto::CertificateUsage::kTlsServer;
  spec.dns_names = {"localhost"};
  spec.ip_addresses = {"127.0.0.1", "::1"};
  spec.not_before_unix = core.now() - 300;
  spec.not_after_unix =
      std::min(core.now() + kTlsValiditySeconds, cert.not_after_unix());
  COFFER_ASSIGN_OR_RETURN(
      crypto::Certificate tls_cert,
      crypto::Issue(cluster_key, cert, tls_key.public_key(), spec));
  TlsIdentityRecord tls;
  tls.cert_chain_pem = tls_cert.ToPem() + cert.ToPem();
  COFFER_ASSIGN_OR_RETURN(tls.key_pkcs8, tls_key.ToPkcs8Der());
  return tls;
}

bool TlsIdentityMatches(const TlsIdentityRecord& tls,
                        const ClusterRecord& cluster) {
  absl::StatusOr<crypto::Certificate> cert =
      crypto::Certificate::FromPem(cluster.cluster_cert_pem);
  return cert.ok() && absl::EndsWith(tls.cert_chain_pem, cert->ToPem());
}

}  // namespace internal

absl::StatusOr<std::string> Hsm::CreateClusterCsr(std::string_view cluster_id) {
  std::unique_lock lock(core_->mu);
  if (core_->state != HsmState::kCommissioned) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a cluster CSR can be made only in state COMMISSIONED; this HSM is ",
        std::string(StateName(core_->state))));
  }
  if (cluster_id.empty() || cluster_id.size() > kMaxClusterIdSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cluster id must be 1 to ", kMaxClusterIdSize, " characters"));
  }
  COFFER_ASSIGN_OR_RETURN(
      crypto::PrivateKey key,
      crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEcP384));
  COFFER_ASSIGN_OR_RETURN(crypto::CertificateRequest csr,
                          crypto::CertificateRequest::Create(
                              key, cluster_id, core_->device->manufacturer_id));
  ClusterRecord record;
  record.cluster_id = std::string(cluster_id);
  COFFER_ASSIGN_OR_RETURN(record.cluster_key_pkcs8, key.ToPkcs8Der());
  record.cluster_csr_pem = csr.ToPem();
  COFFER_ASSIGN_OR_RETURN(record.sync_key,
                          crypto::RandomSecret(kClusterSyncKeySize));
  std::vector<store::RecordWrite> writes;
  writes.push_back({kClusterKind, "identity", Encode(record)});
  COFFER_RETURN_IF_ERROR(core_->CommitState(std::move(writes)));
  return record.cluster_csr_pem;
}

absl::Status Hsm::InstallClusterCertificate(
    std::string_view cert_pem, std::string_view customer_anchor_pem) {
  std::unique_lock lock(core_->mu);
  if (core_->state != HsmState::kCommissioned || !core_->cluster) {
    return absl::FailedPreconditionError(absl::StrCat(
        "install the cluster certificate after CreateClusterCsr, in state "
        "COMMISSIONED; this HSM is ",
        std::string(StateName(core_->state))));
  }
  COFFER_ASSIGN_OR_RETURN(crypto::Certificate cert,
                          crypto::Certificate::FromPem(cert_pem));
  COFFER_ASSIGN_OR_RETURN(crypto::Certificate anchor,
                          crypto::Certificate::FromPem(customer_anchor_pem));
  COFFER_ASSIGN_OR_RETURN(
      crypto::PrivateKey cluster_key,
      crypto::PrivateKey::FromPkcs8Der(core_->cluster->cluster_key_pkcs8));
  COFFER_ASSIGN_OR_RETURN(Bytes want, cluster_key.public_key().ToDer());
  COFFER_ASSIGN_OR_RETURN(Bytes got, cert.public_key().ToDer());
  if (want != got) {
    return absl::InvalidArgumentError(
        "the certificate is not for this cluster's key: sign the CSR this "
        "HSM produced");
  }
  if (!cert.is_ca()) {
    return absl::InvalidArgumentError(
        "the cluster certificate must be a CA certificate (basicConstraints "
        "CA:TRUE): the cluster key issues each HSM's TLS certificate");
  }
  COFFER_RETURN_IF_ERROR(crypto::VerifyChain(cert, {}, {anchor}, core_->now()));

  ClusterRecord cluster = {core_->cluster->cluster_id,
                           core_->cluster->cluster_key_pkcs8.Clone(),
                           core_->cluster->cluster_csr_pem,
                           std::string(cert_pem),
                           std::string(customer_anchor_pem),
                           anchor.ToPem(),
                           core_->cluster->sync_key.Clone(),
                           core_->cluster->log_position};
  COFFER_ASSIGN_OR_RETURN(TlsIdentityRecord tls,
                          internal::IssueTlsIdentity(*core_, cluster));

  std::vector<store::RecordWrite> device_writes;
  device_writes.push_back({kTlsIdentityKind, "server", Encode(tls)});
  COFFER_RETURN_IF_ERROR(core_->CommitDevice(std::move(device_writes)));
  std::vector<store::RecordWrite> writes;
  writes.push_back({kClusterKind, "identity", Encode(cluster)});
  COFFER_RETURN_IF_ERROR(core_->CommitState(std::move(writes)));
  core_->state = HsmState::kUnactivated;
  return absl::OkStatus();
}

absl::StatusOr<TlsCredentials> Hsm::CurrentTlsCredentials() const {
  std::shared_lock lock(core_->mu);
  TlsCredentials creds;
  const bool clustered =
      core_->tls && core_->cluster && !core_->cluster->cluster_cert_pem.empty();
  if (clustered) {
    creds.cert_chain_pem = core_->tls->cert_chain_pem;
    COFFER_ASSIGN_OR_RETURN(creds.key_pem, Pkcs8ToPem(core_->tls->key_pkcs8));
    creds.client_anchors_pem = core_->cluster->client_anchors_pem;
    // The service keeps its access (appliance user, health checks).
    if (core_->commission) {
      creds.client_anchors_pem += core_->commission->service_ca_pem;
    }
    return creds;
  }
  creds.cert_chain_pem = core_->device->device_cert_pem;
  COFFER_ASSIGN_OR_RETURN(creds.key_pem,
                          Pkcs8ToPem(core_->device->device_key_pkcs8));
  if (core_->commission) {
    creds.client_anchors_pem = core_->commission->service_ca_pem;
  }
  return creds;
}

}  // namespace coffer::hsm
