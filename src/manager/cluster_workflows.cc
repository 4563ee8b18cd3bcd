#include "manager/cluster_workflows.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"
#include "client/hsm_client.h"
#include "manager/internal/rules.h"
#include "manager/internal/workflow_util.h"

namespace coffer::manager {
namespace internal {

Hsm* FindHsm(Cluster& c, const std::string& hsm_id) {
  for (Hsm& h : c.hsms) {
    if (h.hsm_id == hsm_id) return &h;
  }
  return nullptr;
}

ClusterState Settled(const Cluster& c) {
  for (const Hsm& h : c.hsms) {
    if (h.state == HsmState::kDegraded) return ClusterState::kDegraded;
  }
  return ClusterState::kActive;
}

ArchivedBackup ArchiveMeta(const Backup& b) {
  ArchivedBackup meta;
  meta.backup_id = b.backup_id;
  meta.cluster_id = b.cluster_id;
  meta.region = b.region;
  meta.mode = b.mode;
  meta.create_time = b.create_time;
  meta.source_backup_id = b.source_backup_id;
  return meta;
}

int64_t Now() { return absl::ToUnixSeconds(absl::Now()); }

}  // namespace internal

namespace {

using internal::ArchiveMeta;
using internal::FindHsm;
using internal::kBackupIoTimeout;
using internal::Now;
using internal::Settled;

constexpr absl::Duration kCatchUpTimeout = absl::Seconds(60);

bool Live(const Hsm& h) { return h.state != HsmState::kDeleted; }

}  // namespace

absl::StatusOr<pb::GetInfoResponse> ClusterWorkflows::HsmCall::Info() {
  pb::Request request;
  request.mutable_get_info();
  COFFER_ASSIGN_OR_RETURN(pb::Response response, client.Call(request));
  return response.get_info();
}

absl::Status ClusterWorkflows::HsmCall::ServiceLogin() {
  pb::Request request;
  request.mutable_service_login();
  COFFER_ASSIGN_OR_RETURN(pb::Response response, client.Call(request));
  client.set_session(response.login().session());
  return absl::OkStatus();
}

ClusterWorkflows::ClusterWorkflows(ControlPlane& control_plane,
                                   HsmProvider& provider,
                                   BackupArchive& archive, LogHost& log_host,
                                   WorkflowOptions options)
    : cp_(control_plane),
      provider_(provider),
      archive_(archive),
      log_host_(log_host),
      options_(options) {}

ClusterWorkflows::~ClusterWorkflows() {
  stop_.Notify();
  if (background_.joinable()) background_.join();
}

absl::Mutex& ClusterWorkflows::ClusterLock(const std::string& cluster_id) {
  absl::MutexLock lock(&locks_mu_);
  std::unique_ptr<absl::Mutex>& mu = cluster_locks_[cluster_id];
  if (!mu) mu = std::make_unique<absl::Mutex>();
  return *mu;
}

absl::StatusOr<ClusterWorkflows::HsmCall> ClusterWorkflows::Connect(
    const Cluster& cluster, const std::string& endpoint,
    absl::Duration io_timeout) {
  COFFER_ASSIGN_OR_RETURN(client::HsmEndpoint where,
                          client::ParseEndpoint(endpoint));
  net::TlsClientOptions tls;
  tls.credentials =
      provider_.service_identity().ClientCredentials(cluster.trust_anchor_pem);
  tls.connect_timeout = options_.hsm_timeout;
  tls.io_timeout = io_timeout;
  COFFER_ASSIGN_OR_RETURN(client::HsmClient hsm,
                          client::HsmClient::Connect(where, tls));
  return HsmCall{std::move(hsm)};
}

bool ClusterWorkflows::Healthy(const Cluster& cluster, const Hsm& hsm,
                               std::string* why) {
  absl::StatusOr<HsmCall> call =
      Connect(cluster, hsm.endpoint, options_.hsm_timeout);
  absl::StatusOr<pb::GetInfoResponse> info =
      call.ok() ? call->Info()
                : absl::StatusOr<pb::GetInfoResponse>(call.status());
  if (!info.ok()) {
    *why = absl::StrCat("HSM ", hsm.hsm_id,
                        " does not answer: ", info.status().message());
    return false;
  }
  if (info->state() == pb::HSM_STATE_TAMPERED) {
    *why = absl::StrCat("HSM ", hsm.hsm_id,
                        " reports TAMPERED: ", info->tamper_reason());
    return false;
  }
  if (!info->sync_error().empty()) {
    *why = absl::StrCat("HSM ", hsm.hsm_id,
                        " stopped syncing: ", info->sync_error());
    return false;
  }
  return true;
}

// --- Adding HSMs -------------------------------------------------------

absl::StatusOr<Hsm> ClusterWorkflows::CreateHsm(
    const std::string& cluster_id, const std::string& availability_zone) {
  absl::MutexLock lock(&ClusterLock(cluster_id));
  COFFER_ASSIGN_OR_RETURN(Cluster cluster, cp_.GetCluster(cluster_id));
  const size_t live =
      std::count_if(cluster.hsms.begin(), cluster.hsms.end(), Live);
  switch (cluster.state) {
    case ClusterState::kUninitialized:
      if (live == 0) return AddFirstHsm(cluster, availability_zone);
      return absl::FailedPreconditionError(absl::StrCat(
          "CreateHsm is not allowed: cluster ", cluster_id,
          " is UNINITIALIZED and has its first HSM; a second HSM is refused "
          "until the cluster is initialized and activated"));
    case ClusterState::kInitialized:
      if (!cluster.source_backup_id.empty() && live == 0) {
        return AddRestoredHsm(cluster, availability_zone);
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "CreateHsm is not allowed: cluster ", cluster_id,
          " is INITIALIZED but not activated; activate it first (coffer "
          "cluster activate)"));
    case ClusterState::kActive:
    case ClusterState::kDegraded:
      return AddRestoredHsm(cluster, availability_zone);
    default:
      return internal::IllegalState(
          "CreateHsm", "cluster", cluster_id, Name(cluster.state),
          "UNINITIALIZED (first HSM), INITIALIZED from a backup, ACTIVE or "
          "DEGRADED");
  }
}

// A new HSM from the provider, attached to `cluster`'s log.
absl::StatusOr<ProvidedHsm> ClusterWorkflows::ProvisionFor(
    const Cluster& cluster, const std::string& hsm_id) {
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> args,
                          log_host_.HsmArgs(hsm_id, cluster.cluster_id));
  log_host_.Allow(hsm_id, cluster.cluster_id);
  return provider_.Provision({hsm_id, cluster.mode, std::move(args)});
}

absl::StatusOr<Hsm> ClusterWorkflows::AddFirstHsm(
    const Cluster& cluster, const std::string& availability_zone) {
  COFFER_ASSIGN_OR_RETURN(std::string hsm_id, cp_.ReserveId("hsm"));
  COFFER_RETURN_IF_ERROR(cp_.UpdateCluster(cluster.cluster_id,
                                           [&](Cluster& c) {
                                             Hsm h;
                                             h.hsm_id = hsm_id;
                                             h.cluster_id = c.cluster_id;
                                             h.availability_zone =
                                                 availability_zone;
                                             h.create_time = Now();
                                             h.state_message = "provisioning";
                                             c.hsms.push_back(h);
                                             return absl::OkStatus();
                                           })
                             .status());
  auto work = [&]() -> absl::StatusOr<std::string> {
    COFFER_ASSIGN_OR_RETURN(ProvidedHsm provided,
                            ProvisionFor(cluster, hsm_id));
    COFFER_ASSIGN_OR_RETURN(HsmCall call, Connect(cluster, provided.endpoint,
                                                  options_.hsm_timeout));
    pb::Request request;
    request.mutable_create_cluster_csr()->set_cluster_id(cluster.cluster_id);
    COFFER_ASSIGN_OR_RETURN(pb::Response response, call.client.Call(request));
    COFFER_RETURN_IF_ERROR(
        cp_.UpdateCluster(cluster.cluster_id,
                          [&](Cluster& c) {
                            Hsm* h = FindHsm(c, hsm_id);
                            h->state = HsmState::kActive;
                            h->state_message.clear();
                            h->endpoint = provided.endpoint;
                            c.cluster_csr_pem =
                                response.create_cluster_csr().csr_pem();
                            c.state_message =
                                "sign the cluster CSR and call "
                                "InitializeCluster";
                            return absl::OkStatus();
                          })
            .status());
    return hsm_id;
  };
  absl::StatusOr<std::string> done = work();
  if (!done.ok()) {
    (void)Discard(cluster.cluster_id, hsm_id,
                  std::string(done.status().message()));
    return done.status();
  }
  COFFER_ASSIGN_OR_RETURN(Cluster after, cp_.GetCluster(cluster.cluster_id));
  Log("cluster %s: HSM %s created (first HSM, CSR ready)",
      cluster.cluster_id.c_str(), hsm_id.c_str());
  return *FindHsm(after, hsm_id);
}

absl::StatusOr<Backup> ClusterWorkflows::BackupToRestore(
    const Cluster& cluster) {
  for (const Hsm& h : cluster.hsms) {
    std::string why;
    if (h.state == HsmState::kActive && Healthy(cluster, h, &why)) {
      return TakeBackup(cluster, h, {});
    }
  }
  // No healthy HSM: the newest READY backup of this cluster, or the one it
  // was made from.
  BackupFilter filter;
  filter.cluster_ids = {cluster.cluster_id};
  filter.states = {BackupState::kReady};
  filter.newest_first = true;
  COFFER_ASSIGN_OR_RETURN(Page<Backup> page, cp_.DescribeBackups(filter, {}));
  for (const Backup& b : page.items) {
    if (b.region == cluster.region) return b;
  }
  if (!cluster.source_backup_id.empty()) {
    filter = {};
    filter.backup_ids = {cluster.source_backup_id};
    COFFER_ASSIGN_OR_RETURN(page, cp_.DescribeBackups(filter, {}));
    if (!page.items.empty() && page.items[0].state == BackupState::kReady) {
      return page.items[0];
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "cluster ", cluster.cluster_id,
      " has no healthy HSM and no READY backup to make a new HSM from"));
}

absl::Status ClusterWorkflows::RestoreInto(const Cluster& cluster,
                                           const Backup& backup,
                                           const ProvidedHsm& hsm) {
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<BackupArchive::Reader> reader,
                          archive_.OpenForRead(ArchiveMeta(backup)));
  COFFER_ASSIGN_OR_RETURN(HsmCall call,
                          Connect(cluster, hsm.endpoint, kBackupIoTimeout));
  COFFER_ASSIGN_OR_RETURN(
      pb::BackupSummary summary,
      call.client.RestoreBackup([&reader] { return reader->Next(); }));
  // A cluster made from a backup starts its own log where the backup
  // stands; every other cluster's log already runs past it.
  log::ClusterLog& log = log_host_.log();
  COFFER_ASSIGN_OR_RETURN(uint64_t last, log.LastPosition(cluster.cluster_id));
  if (last == 0 && summary.log_position() > 0) {
    COFFER_RETURN_IF_ERROR(
        log.StartAt(cluster.cluster_id, summary.log_position()));
    last = summary.log_position();
  }
  // Caught up: the new HSM has applied every entry committed before now.
  COFFER_ASSIGN_OR_RETURN(HsmCall info,
                          Connect(cluster, hsm.endpoint, options_.hsm_timeout));
  const absl::Time deadline = absl::Now() + kCatchUpTimeout;
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(pb::GetInfoResponse state, info.Info());
    if (!state.sync_error().empty()) {
      return absl::DataLossError(
          absl::StrCat("the new HSM could not sync: ", state.sync_error()));
    }
    if (state.log_position() >= last) return absl::OkStatus();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the new HSM reached log position ", state.log_position(), " of ",
          last, " in ", absl::FormatDuration(kCatchUpTimeout)));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

absl::StatusOr<Hsm> ClusterWorkflows::AddRestoredHsm(
    const Cluster& cluster, const std::string& availability_zone) {
  COFFER_ASSIGN_OR_RETURN(std::string hsm_id, cp_.ReserveId("hsm"));
  const ClusterState before = cluster.state;
  COFFER_ASSIGN_OR_RETURN(
      Cluster updating, cp_.UpdateCluster(cluster.cluster_id, [&](Cluster& c) {
        Hsm h;
        h.hsm_id = hsm_id;
        h.cluster_id = c.cluster_id;
        h.availability_zone = availability_zone;
        h.create_time = Now();
        h.state_message = "restoring from a backup";
        c.hsms.push_back(h);
        c.state = ClusterState::kUpdateInProgress;
        c.state_message = absl::StrCat("adding HSM ", hsm_id);
        return absl::OkStatus();
      }));
  auto work = [&]() -> absl::Status {
    COFFER_ASSIGN_OR_RETURN(Backup source, BackupToRestore(updating));
    COFFER_ASSIGN_OR_RETURN(ProvidedHsm provided,
                            ProvisionFor(cluster, hsm_id));
    COFFER_RETURN_IF_ERROR(RestoreInto(updating, source, provided));
    return cp_
        .UpdateCluster(cluster.cluster_id,
                       [&](Cluster& c) {
                         Hsm* h = FindHsm(c, hsm_id);
                         h->state = HsmState::kActive;
                         h->state_message =
                             absl::StrCat("restored from ", source.backup_id);
                         h->endpoint = provided.endpoint;
                         c.state = Settled(c);
                         c.state_message.clear();
                         return absl::OkStatus();
                       })
        .status();
  };
  absl::Status done = work();
  if (!done.ok()) {
    (void)Discard(cluster.cluster_id, hsm_id, std::string(done.message()));
    (void)cp_.UpdateCluster(cluster.cluster_id, [&](Cluster& c) {
      c.state = before;
      c.state_message = absl::StrCat("adding an HSM failed: ", done.message());
      return absl::OkStatus();
    });
    return done;
  }
  COFFER_ASSIGN_OR_RETURN(Cluster after, cp_.GetCluster(cluster.cluster_id));
  Log("cluster %s: HSM %s created from a backup and caught up",
      cluster.cluster_id.c_str(), hsm_id.c_str());
  return *FindHsm(after, hsm_id);
}

// Destroys an HSM and marks it DELETED with `why`.
absl::Status ClusterWorkflows::Discard(const std::string& cluster_id,
                                       const std::string& hsm_id,
                                       const std::string& why) {
  absl::Status destroyed = provider_.Destroy(hsm_id);
  log_host_.Forget(hsm_id);
  return cp_
      .UpdateCluster(cluster_id,
                     [&](Cluster& c) {
                       Hsm* h = FindHsm(c, hsm_id);
                       if (h == nullptr) return absl::OkStatus();
                       h->state = destroyed.ok() ? HsmState::kDeleted
                                                 : HsmState::kDeleteInProgress;
                       h->state_message = why;
                       return absl::OkStatus();
                     })
      .status();
}

// --- Removing HSMs -----------------------------------------------------

absl::Status ClusterWorkflows::DeleteHsm(const std::string& cluster_id,
                                         const std::string& hsm_id) {
  absl::MutexLock lock(&ClusterLock(cluster_id));
  COFFER_ASSIGN_OR_RETURN(Cluster cluster, cp_.GetCluster(cluster_id));
  const Hsm* hsm = FindHsm(cluster, hsm_id);
  if (hsm == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cluster ", cluster_id, " has no HSM ", hsm_id));
  }
  if (hsm->state != HsmState::kActive && hsm->state != HsmState::kDegraded) {
    return internal::IllegalState("DeleteHsm", "HSM", hsm_id, Name(hsm->state),
                                  "ACTIVE or DEGRADED");
  }
  const ClusterState before = cluster.state;
  if (before == ClusterState::kActive || before == ClusterState::kDegraded) {
    COFFER_ASSIGN_OR_RETURN(
        cluster, cp_.UpdateCluster(cluster_id, [&](Cluster& c) {
          c.state = ClusterState::kUpdateInProgress;
          c.state_message = absl::StrCat("deleting HSM ", hsm_id);
          FindHsm(c, hsm_id)->state = HsmState::kDeleteInProgress;
          return absl::OkStatus();
        }));
    // A backup first, from any HSM that answers (the one going, too).
    absl::Status backed_up = absl::UnavailableError("no HSM answered");
    for (const Hsm& h : cluster.hsms) {
      std::string why;
      if (h.state != HsmState::kDeleted && Healthy(cluster, h, &why)) {
        backed_up = TakeBackup(cluster, h, {}).status();
        if (backed_up.ok()) break;
      }
    }
    if (!backed_up.ok()) {
      Log("cluster %s: no backup before deleting %s (%s); the newest backup "
          "stands",
          cluster_id.c_str(), hsm_id.c_str(),
          std::string(backed_up.message()).c_str());
    }
    COFFER_RETURN_IF_ERROR(Discard(cluster_id, hsm_id, "deleted on request"));
    return cp_
        .UpdateCluster(cluster_id,
                       [&](Cluster& c) {
                         c.state = Settled(c);
                         c.state_message.clear();
                         return absl::OkStatus();
                       })
        .status();
  }
  if (before == ClusterState::kUninitialized ||
      before == ClusterState::kInitialized) {
    COFFER_RETURN_IF_ERROR(Discard(cluster_id, hsm_id, "deleted on request"));
    // The cluster identity lived in that HSM: initialization starts over.
    return cp_
        .UpdateCluster(cluster_id,
                       [&](Cluster& c) {
                         if (!c.source_backup_id.empty())
                           return absl::OkStatus();
                         c.state = ClusterState::kUninitialized;
                         c.cluster_csr_pem.clear();
                         c.cluster_certificate_pem.clear();
                         c.trust_anchor_pem.clear();
                         c.state_message =
                             "its HSM was deleted: create an HSM to start "
                             "again";
                         return absl::OkStatus();
                       })
        .status();
  }
  return internal::IllegalState(
      "DeleteHsm", "cluster", cluster_id, Name(before),
      "ACTIVE, DEGRADED, UNINITIALIZED or INITIALIZED");
}

// --- Initialization ----------------------------------------------------

absl::StatusOr<ClusterState> ClusterWorkflows::InitializeCluster(
    const std::string& cluster_id, const std::string& signed_cert_pem,
    const std::string& trust_anchor_pem) {
  if (signed_cert_pem.empty() || trust_anchor_pem.empty()) {
    return absl::InvalidArgumentError(
        "InitializeCluster needs the signed cluster certificate and the "
        "trust anchor (PEM)");
  }
  absl::MutexLock lock(&ClusterLock(cluster_id));
  COFFER_ASSIGN_OR_RETURN(Cluster cluster, cp_.GetCluster(cluster_id));
  const Hsm* first = nullptr;
  for (const Hsm& h : cluster.hsms) {
    if (h.state == HsmState::kActive) first = &h;
  }
  if (cluster.state != ClusterState::kUninitialized || first == nullptr ||
      cluster.cluster_csr_pem.empty()) {
    return internal::IllegalState(
        "InitializeCluster", "cluster", cluster_id, Name(cluster.state),
        "UNINITIALIZED with its first HSM created (CreateHsm)");
  }
  const std::string endpoint = first->endpoint;
  COFFER_RETURN_IF_ERROR(
      cp_.UpdateCluster(cluster_id,
                        [](Cluster& c) {
                          c.state = ClusterState::kInitializeInProgress;
                          return absl::OkStatus();
                        })
          .status());
  auto install = [&]() -> absl::Status {
    COFFER_ASSIGN_OR_RETURN(HsmCall call,
                            Connect(cluster, endpoint, options_.hsm_timeout));
    pb::Request request;
    request.mutable_install_cluster_certificate()->set_cluster_cert_pem(
        signed_cert_pem);
    request.mutable_install_cluster_certificate()->set_customer_anchor_pem(
        trust_anchor_pem);
    return call.client.Call(request).status();
  };
  const absl::Status installed = install();
  COFFER_ASSIGN_OR_RETURN(
      Cluster after, cp_.UpdateCluster(cluster_id, [&](Cluster& c) {
        if (installed.ok()) {
          c.state = ClusterState::kInitialized;
          c.cluster_certificate_pem = signed_cert_pem;
          c.trust_anchor_pem = trust_anchor_pem;
          c.state_message =
              "activate it: coffer cluster activate sets the admin password";
        } else {
          c.state = ClusterState::kUninitialized;
          c.state_message =
              absl::StrCat("InitializeCluster failed: ", installed.message());
        }
        return absl::OkStatus();
      }));
  COFFER_RETURN_IF_ERROR(installed);
  return after.state;
}

}  // namespace coffer::manager
