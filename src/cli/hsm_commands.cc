// HSM lifecycle (info, commissioning, cluster identity, activation) and
// sessions (login, logout).
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/commands.h"
#include "cli/io.h"
#include "cli/secrets.h"

namespace coffer::cli {
namespace {

using crypto::SecretBytes;

void SetSecret(std::string* field, const SecretBytes& secret) {
  ByteView bytes = secret.ExposeSecret();
  field->assign(bytes.begin(), bytes.end());
}

// Sends a request that carries a secret in `field`, then wipes it.
absl::StatusOr<pb::Response> CallWithSecret(Connection& conn,
                                            pb::Request& request,
                                            std::string* field) {
  absl::StatusOr<pb::Response> response = conn.Call(request);
  client::WipeBytes(field);
  return response;
}

absl::Status SimpleOk(Context& ctx, const std::string& message) {
  Json doc;
  doc["ok"] = true;
  ctx.out.Print(doc, message);
  return absl::OkStatus();
}

}  // namespace

absl::Status HsmInfo(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenConnection(ctx.connection));
  pb::Request request;
  request.mutable_get_info();
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  ctx.out.Print(InfoToJson(response.get_info()));
  return absl::OkStatus();
}

absl::Status HsmCommission(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(uint64_t count, ctx.args.GetUint("--components"));
  COFFER_ASSIGN_OR_RETURN(std::string service_ca,
                          ReadFile(ctx.args.Get("--service-ca")));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenConnection(ctx.connection));
  pb::Request request;
  pb::BeginCommissionRequest* r = request.mutable_begin_commission();
  r->set_mode(ctx.args.Get("--mode") == "fips" ? pb::MODE_FIPS
                                               : pb::MODE_NON_FIPS);
  r->set_component_count(static_cast<uint32_t>(count));
  r->set_combined_kcv(ctx.args.Get("--combined-kcv"));
  r->set_service_ca_pem(service_ca);
  COFFER_RETURN_IF_ERROR(conn.Call(request).status());
  Json doc;
  doc["mode"] = ctx.args.Get("--mode");
  doc["components_missing"] = count;
  ctx.out.Print(doc, absl::StrCat("Commissioning started: each of ", count,
                                  " custodians now runs `coffer hsm "
                                  "add-component`."));
  return absl::OkStatus();
}

absl::Status HsmAddComponent(Context& ctx) {
  const std::string custodian = ctx.args.Get("--custodian");
  COFFER_ASSIGN_OR_RETURN(
      SecretBytes hex,
      ReadSecret(ctx.args, {"component",
                            "AKBK component (hex) for " + custodian + ": "}));
  COFFER_ASSIGN_OR_RETURN(SecretBytes component, HexToSecret(hex));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenConnection(ctx.connection));
  pb::Request request;
  pb::AddAkbkComponentRequest* r = request.mutable_add_akbk_component();
  r->set_custodian(custodian);
  r->set_kcv(ctx.args.Get("--kcv"));
  SetSecret(r->mutable_component(), component);
  COFFER_ASSIGN_OR_RETURN(
      pb::Response response,
      CallWithSecret(conn, request, r->mutable_component()));
  const uint32_t missing = response.add_akbk_component().components_missing();
  Json doc;
  doc["custodian"] = custodian;
  doc["components_missing"] = missing;
  ctx.out.Print(doc, missing == 0
                         ? "All components in: the HSM is COMMISSIONED."
                         : "Component accepted.");
  return absl::OkStatus();
}

absl::Status HsmClusterCsr(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenConnection(ctx.connection));
  pb::Request request;
  request.mutable_create_cluster_csr()->set_cluster_id(
      ctx.args.Get("--cluster-id"));
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  const std::string& csr = response.create_cluster_csr().csr_pem();
  const std::string out = ctx.args.Get("--out");
  COFFER_RETURN_IF_ERROR(WriteOutput(out, AsBytes(csr)));
  if (!out.empty() && out != "-") {
    Json doc;
    doc["csr"] = out;
    ctx.out.Print(doc,
                  "Wrote the cluster CSR: have the customer's CA sign "
                  "it (`coffer ca sign-csr`).");
  }
  return absl::OkStatus();
}

absl::Status HsmInstallClusterCert(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::string cert, ReadFile(ctx.args.Get("--cert")));
  COFFER_ASSIGN_OR_RETURN(std::string anchor,
                          ReadFile(ctx.args.Get("--anchor")));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenConnection(ctx.connection));
  pb::Request request;
  request.mutable_install_cluster_certificate()->set_cluster_cert_pem(cert);
  request.mutable_install_cluster_certificate()->set_customer_anchor_pem(
      anchor);
  COFFER_RETURN_IF_ERROR(conn.Call(request).status());
  return SimpleOk(ctx,
                  "Cluster certificate installed: the HSM is UNACTIVATED; "
                  "clients now verify it against the customer's CA.");
}

absl::Status HsmActivate(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(
      SecretBytes password,
      ReadSecret(ctx.args, {"password", "New password for admin: ", true}));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenConnection(ctx.connection));
  pb::Request request;
  std::string* field = request.mutable_activate()->mutable_admin_password();
  SetSecret(field, password);
  COFFER_RETURN_IF_ERROR(CallWithSecret(conn, request, field).status());
  return SimpleOk(ctx,
                  "Activated: log in as admin (`coffer login --user "
                  "admin`).");
}

absl::Status Login(Context& ctx) {
  std::string user = ctx.args.Get("--user");
  SecretBytes password;
  if (ctx.args.Has("--credentials-file")) {
    COFFER_ASSIGN_OR_RETURN(
        Credentials c, ReadCredentialsFile(ctx.args.Get("--credentials-file")));
    user = std::move(c.user);
    password = std::move(c.password);
  } else {
    if (user.empty())
      return UsageError("--user or --credentials-file is required");
    COFFER_ASSIGN_OR_RETURN(
        password,
        ReadSecret(ctx.args, {"password", "Password for " + user + ": "}));
  }
  COFFER_ASSIGN_OR_RETURN(ConnectionConfig config,
                          ResolveConfig(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(Connection conn, Connection::Open(config));
  pb::Request request;
  request.mutable_login()->set_user(user);
  std::string* field = request.mutable_login()->mutable_password();
  SetSecret(field, password);
  COFFER_ASSIGN_OR_RETURN(pb::Response response,
                          CallWithSecret(conn, request, field));
  Session session{response.login().session(), user,
                  RoleName(response.login().role()), config.hsm};
  if (absl::StatusOr<Session> old = LoadSession(config.session_file);
      old.ok()) {
    pb::Request logout;  // best effort: end the session this one replaces
    logout.set_session(old->token);
    logout.mutable_logout();
    (void)conn.Call(logout);
  }
  COFFER_RETURN_IF_ERROR(SaveSession(config.session_file, session));
  Json doc;
  doc["user"] = user;
  doc["role"] = session.role;
  doc["hsm"] = config.hsm;
  doc["session_file"] = config.session_file;
  ctx.out.Print(doc, "Logged in.");
  return absl::OkStatus();
}

absl::Status Logout(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(ConnectionConfig config,
                          ResolveConfig(ctx.connection));
  Json doc;
  doc["logged_out"] = FileExists(config.session_file);
  if (!FileExists(config.session_file)) {
    ctx.out.Print(doc, "Not logged in.");
    return absl::OkStatus();
  }
  COFFER_ASSIGN_OR_RETURN(Session session, LoadSession(config.session_file));
  COFFER_ASSIGN_OR_RETURN(Connection conn, Connection::Open(config));
  pb::Request request;
  request.set_session(session.token);
  request.mutable_logout();
  absl::Status s = conn.Call(request).status();
  if (!s.ok() && s.code() != absl::StatusCode::kUnauthenticated) return s;
  COFFER_RETURN_IF_ERROR(RemoveSession(config.session_file));
  doc["user"] = session.user;
  ctx.out.Print(doc, s.ok() ? "Logged out."
                            : "The session had already ended; removed it.");
  return absl::OkStatus();
}

}  // namespace coffer::cli
