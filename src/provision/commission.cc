#include "provision/commission.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "client/hsm_client.h"

namespace coffer::provision {

namespace pb = ::coffer::hsm::v1;

absl::Status CommissionOverWire(const WireCall& call, pb::Mode mode,
                                const AkbkCeremony& ceremony,
                                const std::string& service_ca_pem) {
  pb::Request begin;
  pb::BeginCommissionRequest* b = begin.mutable_begin_commission();
  b->set_mode(mode);
  b->set_component_count(static_cast<uint32_t>(ceremony.components.size()));
  b->set_combined_kcv(ceremony.combined_kcv_hex);
  b->set_service_ca_pem(service_ca_pem);
  COFFER_RETURN_IF_ERROR(call(begin).status());
  for (size_t i = 0; i < ceremony.components.size(); ++i) {
    const AkbkComponent& c = ceremony.components[i];
    pb::Request add;
    pb::AddAkbkComponentRequest* r = add.mutable_add_akbk_component();
    r->set_custodian(absl::StrCat("dev-custodian-", i + 1));
    r->set_kcv(c.kcv_hex);
    r->mutable_component()->assign(c.component.ExposeSecret().begin(),
                                   c.component.ExposeSecret().end());
    absl::StatusOr<pb::Response> response = call(add);
    client::WipeBytes(r->mutable_component());
    COFFER_RETURN_IF_ERROR(response.status());
  }
  return absl::OkStatus();
}

}  // namespace coffer::provision
