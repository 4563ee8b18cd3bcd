// The service's commissioning step, over an HSM's wire API: the mode, the
// service CA and the AKBK under two-person control, each development
// custodian sending their own component. What `coffer dev-hsm up` and
// coffer-manager's local HSM provider do for a freshly manufactured HSM
// (state UNCOMMISSIONED -> COMMISSIONED).
#ifndef COFFER_PROVISION_COMMISSION_H_
#define COFFER_PROVISION_COMMISSION_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coffer/hsm/v1/hsm.pb.h"
#include "provision/provision.h"

namespace coffer::provision {

// Sends one request and returns the response or the HSM's refusal. Takes
// the request by reference so the caller's copy is the only one and can be
// wiped after sending (client::HsmClient::CallInPlace fits).
using WireCall =
    std::function<absl::StatusOr<hsm::v1::Response>(hsm::v1::Request& request)>;

// BeginCommission(mode, the ceremony's component count and combined KCV,
// `service_ca_pem`), then AddAkbkComponent for each component in order, as
// custodian "dev-custodian-K" (K from 1), with the component wiped from the
// request once sent. Returns the first error from `call` unchanged (the
// HSM is then left part-way: BeginCommission can only be run once on an
// HSM, so the caller discards it).
absl::Status CommissionOverWire(const WireCall& call, hsm::v1::Mode mode,
                                const AkbkCeremony& ceremony,
                                const std::string& service_ca_pem);

}  // namespace coffer::provision

#endif  // COFFER_PROVISION_COMMISSION_H_
