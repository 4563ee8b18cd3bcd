// Where the manager's HSMs come from. The control plane asks for a new HSM
// (CreateHsm, replacements), finds its HSMs again after a restart, and
// throws them away; how an HSM is made is the provider's business. The
// embedded default (OpenLocalHsmProvider) runs coffer-hsm processes on this
// machine; a pool of HSMs commissioned in advance on other machines fits
// the same interface (Provision hands one out, Destroy zeroizes and returns
// it), which is why nothing here speaks of processes or files.
//
// Every HSM a provider hands out was made by one manufacturer and
// commissioned by one service (one AKBK), so a backup of any of them
// restores into any other: that is what the backup protocol's "same
// manufacturer, same service" checks require.
//
// Implementations are thread-safe: the manager provisions several HSMs at
// once. Provision, Resume and Destroy of one hsm_id are serialized; Alive
// never waits for them. Destroying the provider object leaves the HSMs
// running: a restarted manager Resumes them.
#ifndef COFFER_MANAGER_HSM_PROVIDER_H_
#define COFFER_MANAGER_HSM_PROVIDER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "manager/types.h"
#include "net/credentials.h"

namespace coffer::manager {

// What the manager needs to reach a provided HSM as the service.
struct ProvidedHsm {
  std::string hsm_id;    // the manager's id ("hsm-...")
  std::string endpoint;  // "HOST:PORT"
  std::string serial;    // the device serial the HSM reports
};

struct ProvisionRequest {
  std::string hsm_id;                     // [a-z0-9-], 1-64 characters
  ClusterMode mode = ClusterMode::kFips;  // fixed at commissioning
  // Passed through to coffer-hsm (the manager's cluster-log flags).
  std::vector<std::string> extra_args;
};

// The identity the manager presents to provided HSMs, and what it trusts
// in them before a cluster exists. Move-only (the key).
struct ServiceIdentity {
  std::string cert_chain_pem;       // client certificate under service_ca
  crypto::SecretBytes key_pem;      // its private key
  std::string service_ca_pem;       // the HSMs were commissioned with it
  std::string manufacturer_ca_pem;  // every device certificate chains here

  // Client credentials for calling a provided HSM: this identity, trusting
  // the manufacturer CA (the device certificate an HSM serves until it has
  // a cluster identity) plus `extra_anchors_pem` (the cluster's trust
  // anchor, for HSMs serving their cluster-issued certificate).
  net::TlsCredentials ClientCredentials(
      const std::string& extra_anchors_pem = "") const;
};

class HsmProvider {
 public:
  virtual ~HsmProvider() = default;

  // A new HSM: manufactured, commissioned (AKBK installed under two-person
  // control, `mode` fixed), serving. State COMMISSIONED: no cluster yet.
  // Blocks until it serves; DeadlineExceeded or Unavailable (with the tail
  // of its log) if it does not. On any failure nothing is left running and
  // its data is gone. AlreadyExists if `hsm_id` was provided before and
  // not destroyed; InvalidArgument for a malformed id.
  virtual absl::StatusOr<ProvidedHsm> Provision(
      const ProvisionRequest& request) = 0;

  // Re-attaches to an HSM provided earlier (after a manager restart): its
  // endpoint if it runs; if it is gone but its data is not, restarts it
  // (same data, same serial, maybe a new endpoint) with `extra_args`
  // (which are not applied to an HSM that still runs).
  // NotFound if this provider never provided it or destroyed it;
  // FailedPrecondition if its Provision never finished (Destroy it).
  virtual absl::StatusOr<ProvidedHsm> Resume(
      const std::string& hsm_id,
      const std::vector<std::string>& extra_args) = 0;

  // Whether the HSM is up (cheap, never blocks on other calls; the
  // manager's health check also calls the HSM itself).
  virtual bool Alive(const std::string& hsm_id) = 0;

  // Stops the HSM and erases everything it held. OK if already gone.
  virtual absl::Status Destroy(const std::string& hsm_id) = 0;

  // The same for the provider's lifetime, and for every HSM it provides.
  virtual const ServiceIdentity& service_identity() const = 0;
};

struct LocalHsmProviderOptions {
  std::string dir;                        // everything lives here (made 0700)
  std::string hsm_binary;                 // path of coffer-hsm
  std::string listen_host = "127.0.0.1";  // HSMs listen here (port 0)
  int start_timeout_ms = 20000;
  int stop_timeout_ms = 10000;  // SIGTERM -> SIGKILL
};

// The embedded default. DEVELOPMENT ONLY, INSECURE: the first open makes,
// in plain files under `dir`, a development factory (manufacturer
// "coffer-dev"), a service CA with a client identity, and an AKBK split
// between 2 development custodians; later opens reuse them, so every HSM
// it ever makes shares manufacturer and AKBK. Each HSM is a coffer-hsm
// process in its own session (it survives a manager restart) with its own
// data directory; local_hsm_provider.cc describes the layout.
// InvalidArgument if `hsm_binary` is not an executable file (checked before
// anything is created); FailedPrecondition if another provider has `dir`
// open.
absl::StatusOr<std::unique_ptr<HsmProvider>> OpenLocalHsmProvider(
    LocalHsmProviderOptions options);

}  // namespace coffer::manager

#endif  // COFFER_MANAGER_HSM_PROVIDER_H_
