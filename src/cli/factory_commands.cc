// Offline development provisioning: the factory, CAs and the AKBK ceremony.
// INSECURE by design (keys in plain files): stand-ins for a factory HSM, a
// customer's PKI and custodians with smart cards. Every message says so.
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/commands.h"
#include "cli/io.h"
#include "cli/provision_files.h"

namespace coffer::cli {
namespace {

constexpr char kDevWarning[] =
    "DEVELOPMENT ONLY, INSECURE: these keys are plain files; never use them "
    "to protect real data.";

}  // namespace

absl::Status FactoryInit(Context& ctx) {
  const std::string dir = ctx.args.Get("--dir");
  const std::string id = ctx.args.Get("--manufacturer-id");
  COFFER_ASSIGN_OR_RETURN(provision::Factory factory,
                          provision::CreateFactory(id));
  COFFER_RETURN_IF_ERROR(SaveFactory(dir, factory));
  Json doc;
  doc["factory_dir"] = dir;
  doc["manufacturer_id"] = id;
  doc["mkbk"] = dir + "/mkbk.key";
  doc["ca_key"] = dir + "/ca.key";
  doc["ca_certificate"] = dir + "/ca.pem";
  doc["warning"] = kDevWarning;
  ctx.out.Print(doc, "Created a development factory.");
  return absl::OkStatus();
}

absl::Status FactoryManufacture(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(provision::Factory factory,
                          LoadFactory(ctx.args.Get("--factory")));
  const std::string data_dir = ctx.args.Get("--data-dir");
  COFFER_RETURN_IF_ERROR(ManufactureInto(
      factory, data_dir, ctx.args.Get("--serial"), ctx.args.Get("--firmware")));
  Json doc;
  doc["data_dir"] = data_dir;
  doc["manufacturer_id"] = factory.manufacturer_id;
  doc["serial"] = ctx.args.Get("--serial");
  doc["firmware_version"] = ctx.args.Get("--firmware");
  doc["warning"] = kDevWarning;
  ctx.out.Print(doc,
                "Manufactured an HSM (UNCOMMISSIONED). Start it with: "
                "coffer-hsm --data-dir " +
                    data_dir + " --bootstrap-client-ca SERVICE_CA.pem");
  return absl::OkStatus();
}

absl::Status CaInit(Context& ctx) {
  const std::string dir = ctx.args.Get("--dir");
  const std::string name = ctx.args.Get("--name");
  const std::string org =
      ctx.args.Has("--organization") ? ctx.args.Get("--organization") : name;
  COFFER_ASSIGN_OR_RETURN(provision::CertificateAuthority ca,
                          provision::CreateCa(name, org));
  COFFER_RETURN_IF_ERROR(SaveCa(dir, ca));
  Json doc;
  doc["ca_dir"] = dir;
  doc["name"] = name;
  doc["certificate"] = dir + "/ca.pem";
  doc["key"] = dir + "/ca.key";
  doc["warning"] = kDevWarning;
  ctx.out.Print(doc, "Created a development CA.");
  return absl::OkStatus();
}

absl::Status CaIssue(Context& ctx) {
  const bool client = ctx.args.Switch("--client");
  const bool server = ctx.args.Switch("--server");
  if (client == server) {
    return UsageError("give exactly one of --client and --server");
  }
  COFFER_ASSIGN_OR_RETURN(provision::CertificateAuthority ca,
                          LoadCa(ctx.args.Get("--dir")));
  COFFER_ASSIGN_OR_RETURN(
      provision::IssuedKey issued,
      provision::IssueLeaf(ca, ctx.args.Get("--name"),
                           client ? crypto::CertificateUsage::kTlsClient
                                  : crypto::CertificateUsage::kTlsServer));
  const std::string prefix = ctx.args.Get("--out");
  COFFER_RETURN_IF_ERROR(SaveIssued(prefix, issued));
  Json doc;
  doc["certificate"] = prefix + ".pem";
  doc["key"] = prefix + ".key";
  doc["usage"] = client ? "tls-client" : "tls-server";
  doc["subject"] = issued.cert.subject_common_name();
  doc["issuer"] = issued.cert.issuer_common_name();
  doc["warning"] = kDevWarning;
  ctx.out.Print(doc, "Issued a development certificate.");
  return absl::OkStatus();
}

absl::Status CaSignCsr(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(provision::CertificateAuthority ca,
                          LoadCa(ctx.args.Get("--dir")));
  COFFER_ASSIGN_OR_RETURN(std::string csr, ReadFile(ctx.args.Get("--csr")));
  COFFER_ASSIGN_OR_RETURN(crypto::Certificate cert,
                          provision::SignClusterCsr(ca, csr));
  const std::string out = ctx.args.Get("--out");
  COFFER_RETURN_IF_ERROR(WriteFile(out, cert.ToPem()));
  Json doc;
  doc["certificate"] = out;
  doc["subject"] = cert.subject_common_name();
  doc["issuer"] = cert.issuer_common_name();
  doc["serial"] = cert.serial_hex();
  ctx.out.Print(doc, "Signed the cluster certificate.");
  return absl::OkStatus();
}

absl::Status CeremonyAkbk(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(uint64_t count, ctx.args.GetUint("--components"));
  if (count < 2 || count > 9) {
    return UsageError("--components must be 2 to 9 (two-person control)");
  }
  COFFER_ASSIGN_OR_RETURN(
      provision::AkbkCeremony ceremony,
      provision::GenerateAkbk(static_cast<uint32_t>(count)));
  const std::string dir = ctx.args.Get("--out-dir");
  COFFER_RETURN_IF_ERROR(SaveCeremony(dir, ceremony));
  Json doc;
  doc["components"] = Json::array();
  for (size_t i = 0; i < ceremony.components.size(); ++i) {
    Json c;
    c["component"] = i + 1;
    c["file"] = ComponentPath(dir, i + 1);
    c["kcv"] = ceremony.components[i].kcv_hex;
    doc["components"].push_back(c);
  }
  doc["combined_kcv"] = ceremony.combined_kcv_hex;
  doc["warning"] = kDevWarning;
  ctx.out.Print(doc,
                "AKBK components written. Give each file to a different "
                "custodian; each runs `coffer hsm add-component`.");
  return absl::OkStatus();
}

}  // namespace coffer::cli
