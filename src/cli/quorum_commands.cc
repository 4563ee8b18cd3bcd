// Quorum (M of N admins): approval keys, M per service, and tokens that M
// admins approve by signing their challenge with their own private key,
// which never leaves the admin's machine. Pass an approved token to the
// operation it unlocks with $COFFER_QUORUM_TOKEN.
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/commands.h"
#include "cli/io.h"
#include "crypto/asymmetric.h"

namespace coffer::cli {
namespace {

absl::StatusOr<pb::QuorumService> ParseService(const std::string& name) {
  if (name == "user-management") return pb::QUORUM_SERVICE_USER_MANAGEMENT;
  if (name == "quorum-changes") return pb::QUORUM_SERVICE_QUORUM_CHANGES;
  if (name == "key-use") return pb::QUORUM_SERVICE_KEY_USE;
  return UsageError(absl::StrCat("unknown quorum service '", name, "'"));
}

std::string ServiceName(pb::QuorumService s) {
  switch (s) {
    case pb::QUORUM_SERVICE_USER_MANAGEMENT:
      return "user-management";
    case pb::QUORUM_SERVICE_QUORUM_CHANGES:
      return "quorum-changes";
    case pb::QUORUM_SERVICE_KEY_USE:
      return "key-use";
    default:
      return "unknown";
  }
}

Json TokenToJson(const pb::QuorumToken& t) {
  Json j;
  j["token"] = t.id();
  j["service"] = ServiceName(t.service());
  j["requested_by"] = t.requested_by();
  j["expires_unix"] = t.expires_unix();
  j["approvals"] = t.approvers_size();
  j["required"] = t.required();
  j["approvers"] = Json::array();
  for (const std::string& a : t.approvers()) j["approvers"].push_back(a);
  j["challenge"] = HexEncode(AsBytes(t.challenge()));
  return j;
}

}  // namespace

absl::Status QuorumKeygen(Context& ctx) {
  const std::string prefix = ctx.args.Get("--out");
  COFFER_ASSIGN_OR_RETURN(
      crypto::PrivateKey key,
      crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEcP256));
  COFFER_ASSIGN_OR_RETURN(crypto::SecretBytes pem, key.ToPem());
  COFFER_RETURN_IF_ERROR(WriteSecretFile(prefix + ".key", pem.ExposeSecret()));
  COFFER_ASSIGN_OR_RETURN(std::string pub, key.public_key().ToPem());
  COFFER_RETURN_IF_ERROR(WriteFile(prefix + ".pub.pem", pub, 0644));
  Json doc;
  doc["private_key"] = prefix + ".key";
  doc["public_key"] = prefix + ".pub.pem";
  ctx.out.Print(doc, "wrote " + prefix + ".key (keep it secret) and " + prefix +
                         ".pub.pem (register it)");
  return absl::OkStatus();
}

absl::Status QuorumRegisterKey(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::string pem,
                          ReadFile(ctx.args.Get("--public-key")));
  COFFER_ASSIGN_OR_RETURN(crypto::PublicKey key,
                          crypto::PublicKey::FromPem(pem));
  COFFER_ASSIGN_OR_RETURN(Bytes der, key.ToDer());
  pb::Request request;
  request.mutable_register_quorum_key()->set_public_key_der(
      std::string(der.begin(), der.end()));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  COFFER_RETURN_IF_ERROR(conn.Call(request).status());
  Json doc;
  doc["ok"] = true;
  ctx.out.Print(doc, "quorum key registered");
  return absl::OkStatus();
}

absl::Status QuorumSet(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(pb::QuorumService service,
                          ParseService(ctx.args.Get("--service")));
  COFFER_ASSIGN_OR_RETURN(uint64_t m, ctx.args.GetUint("--m"));
  pb::Request request;
  request.mutable_set_quorum()->set_service(service);
  request.mutable_set_quorum()->set_m(static_cast<uint32_t>(m));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  COFFER_RETURN_IF_ERROR(conn.Call(request).status());
  Json doc;
  doc["service"] = ServiceName(service);
  doc["m"] = m;
  ctx.out.Print(doc, absl::StrCat(ServiceName(service), " now needs ", m,
                                  " admin approval(s)"));
  return absl::OkStatus();
}

absl::Status QuorumList(Context& ctx) {
  pb::Request request;
  request.mutable_list_quorum();
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  const pb::ListQuorumResponse& q = response.list_quorum();
  Json doc;
  doc["quorum"] = {{"user-management", q.user_management()},
                   {"quorum-changes", q.quorum_changes()},
                   {"key-use", q.key_use()}};
  doc["tokens"] = Json::array();
  for (const pb::QuorumToken& t : q.tokens()) {
    Json row = TokenToJson(t);
    row.erase("challenge");
    doc["tokens"].push_back(row);
  }
  ctx.out.Print(
      doc, absl::StrCat("M of N: user-management ", q.user_management(),
                        ", quorum-changes ", q.quorum_changes(), ", key-use ",
                        q.key_use()));
  return absl::OkStatus();
}

absl::Status QuorumTokenCreate(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(pb::QuorumService service,
                          ParseService(ctx.args.Get("--service")));
  pb::Request request;
  request.mutable_create_quorum_token()->set_service(service);
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  const pb::QuorumToken& t = response.create_quorum_token().token();
  ctx.out.Print(
      TokenToJson(t),
      absl::StrCat("token ", t.id(), " for ", ServiceName(service), ": have ",
                   t.required(), " admin(s) approve it within 10 minutes"));
  return absl::OkStatus();
}

absl::Status QuorumTokenApprove(Context& ctx) {
  const std::string token_id = ctx.args.Get("--token");
  COFFER_ASSIGN_OR_RETURN(crypto::SecretBytes pem,
                          ReadSecretFile(ctx.args.Get("--key-file")));
  COFFER_ASSIGN_OR_RETURN(crypto::PrivateKey key,
                          crypto::PrivateKey::FromPem(pem));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  pb::Request list;
  list.mutable_list_quorum();
  COFFER_ASSIGN_OR_RETURN(pb::Response listed, conn.Call(list));
  const pb::QuorumToken* token = nullptr;
  for (const pb::QuorumToken& t : listed.list_quorum().tokens()) {
    if (t.id() == token_id) token = &t;
  }
  if (token == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no open quorum token ", token_id, " (expired?)"));
  }
  COFFER_ASSIGN_OR_RETURN(Bytes signature,
                          key.Sign({crypto::SignatureAlgorithm::kEcdsaDer,
                                    crypto::HashAlg::kSha256},
                                   AsBytes(token->challenge())));
  pb::Request request;
  pb::ApproveQuorumTokenRequest* r = request.mutable_approve_quorum_token();
  r->set_token_id(token_id);
  r->set_admin(ctx.args.Get("--admin"));
  r->set_signature(std::string(signature.begin(), signature.end()));
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  const pb::QuorumToken& t = response.approve_quorum_token().token();
  ctx.out.Print(TokenToJson(t),
                absl::StrCat("token ", t.id(), ": ", t.approvers_size(), " of ",
                             t.required(), " approvals"));
  return absl::OkStatus();
}

}  // namespace coffer::cli
