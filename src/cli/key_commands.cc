// Keys: generate, list, attributes, sharing, destroy, wrap and unwrap. A
// crypto user's session is required for everything but listing (admins may
// list and read attributes too).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "cli/commands.h"
#include "cli/io.h"
#include "crypto/x509.h"

namespace coffer::cli {
namespace {

// Usage flags when --usage is not given.
const char* DefaultUsage(pb::KeyType type) {
  switch (type) {
    case pb::KEY_TYPE_AES:
      return "encrypt,decrypt,wrap,unwrap";
    case pb::KEY_TYPE_RSA:
      return "sign,verify,encrypt,decrypt,wrap,unwrap";
    default:
      return "sign,verify";  // generic secret (HMAC), EC, Ed25519
  }
}

absl::StatusOr<pb::KeyTemplate> BuildTemplate(const Args& args,
                                              pb::KeyType type) {
  pb::KeyTemplate t;
  t.set_key_type(type);
  t.set_label(args.Get("--label"));
  if (args.Has("--id")) {
    absl::StatusOr<Bytes> id = HexDecode(args.Get("--id"));
    if (!id.ok())
      return UsageError(absl::StrCat("--id: ", id.status().message()));
    t.set_id(std::string(id->begin(), id->end()));
  }
  t.set_session_object(args.Switch("--session"));
  t.mutable_sensitive()->set_value(true);
  t.mutable_extractable()->set_value(args.Switch("--extractable"));
  t.mutable_wrap_with_trusted()->set_value(args.Switch("--wrap-with-trusted"));
  COFFER_RETURN_IF_ERROR(ApplyUsage(
      args.Has("--usage") ? args.Get("--usage") : DefaultUsage(type), t));
  return t;
}

// Whether a key of class `c` is the one a label names for this side of an
// operation (certificates never are).
bool FitsSide(pb::ObjectClass c, bool private_side) {
  return c == pb::OBJECT_CLASS_SECRET_KEY ||
         (private_side && c == pb::OBJECT_CLASS_PRIVATE_KEY) ||
         (!private_side && c == pb::OBJECT_CLASS_PUBLIC_KEY);
}

absl::StatusOr<bool> ParseBool(const std::string& v) {
  if (v == "true" || v == "yes" || v == "1" || v == "on") return true;
  if (v == "false" || v == "no" || v == "0" || v == "off") return false;
  return UsageError(absl::StrCat("'", v, "' is not true or false"));
}

absl::Status SetChange(const std::string& name, const std::string& value,
                       pb::AttributeChange& c) {
  if (name == "label") {
    c.set_label(value);
    return absl::OkStatus();
  }
  if (name == "id") {
    absl::StatusOr<Bytes> id = HexDecode(value);
    if (!id.ok()) return UsageError("--value for id must be hex");
    c.set_id(std::string(id->begin(), id->end()));
    return absl::OkStatus();
  }
  using Setter = pb::OptionalBool* (pb::AttributeChange::*)();
  static const std::pair<const char*, Setter> kBools[] = {
      {"sensitive", &pb::AttributeChange::mutable_sensitive},
      {"extractable", &pb::AttributeChange::mutable_extractable},
      {"encrypt", &pb::AttributeChange::mutable_encrypt},
      {"decrypt", &pb::AttributeChange::mutable_decrypt},
      {"sign", &pb::AttributeChange::mutable_sign},
      {"verify", &pb::AttributeChange::mutable_verify},
      {"wrap", &pb::AttributeChange::mutable_wrap},
      {"unwrap", &pb::AttributeChange::mutable_unwrap},
      {"derive", &pb::AttributeChange::mutable_derive},
      {"trusted", &pb::AttributeChange::mutable_trusted},
      {"wrap_with_trusted", &pb::AttributeChange::mutable_wrap_with_trusted},
  };
  for (const auto& [n, setter] : kBools) {
    if (name != n) continue;
    COFFER_ASSIGN_OR_RETURN(bool on, ParseBool(value));
    (c.*setter)()->set_value(on);
    return absl::OkStatus();
  }
  return UsageError(absl::StrCat("unknown attribute '", name,
                                 "': use label, id, sensitive, extractable, "
                                 "encrypt, decrypt, sign, verify, wrap, "
                                 "unwrap, derive, trusted, wrap_with_trusted"));
}

absl::Status Done(Context& ctx, uint64_t handle, const std::string& message) {
  Json doc;
  doc["handle"] = HandleJson(handle);
  doc["ok"] = true;
  ctx.out.Print(doc, message);
  return absl::OkStatus();
}

absl::Status Share(Context& ctx, bool unshare) {
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(
      uint64_t handle, ResolveKey(conn, ctx.args, "--handle", "--label", true));
  const std::string user = ctx.args.Get("--user");
  pb::Request request;
  request.mutable_share_key()->set_handle(handle);
  request.mutable_share_key()->set_user(user);
  request.mutable_share_key()->set_unshare(unshare);
  COFFER_RETURN_IF_ERROR(conn.Call(request).status());
  return Done(ctx, handle,
              absl::StrCat(unshare ? "Stopped sharing key " : "Shared key ",
                           handle, unshare ? " with " : " with ", user, "."));
}

}  // namespace

absl::StatusOr<uint64_t> ResolveKey(Connection& conn, const Args& args,
                                    const std::string& handle_flag,
                                    const std::string& label_flag,
                                    bool private_side) {
  if (args.Has(handle_flag)) return args.GetUint(handle_flag);
  if (!args.Has(label_flag)) {
    return UsageError(absl::StrCat("give ", handle_flag, " or ", label_flag));
  }
  const std::string label = args.Get(label_flag);
  pb::Request request;
  request.mutable_find_keys()->mutable_filter()->set_label(label);
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  std::vector<uint64_t> fits;
  for (const pb::KeyInfo& k : response.find_keys().keys()) {
    if (FitsSide(k.attributes().object_class(), private_side)) {
      fits.push_back(k.handle());
    }
  }
  if (fits.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no key labelled '", label, "' that you may use"));
  }
  if (fits.size() > 1) {
    return UsageError(absl::StrCat(fits.size(), " keys are labelled '", label,
                                   "' (handles ", absl::StrJoin(fits, ", "),
                                   "): use ", handle_flag));
  }
  return fits.front();
}

absl::Status KeyGenerateSymmetric(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(pb::KeyType type,
                          ParseKeyType(ctx.args.Get("--type")));
  COFFER_ASSIGN_OR_RETURN(uint64_t bits, ctx.args.GetUint("--bits"));
  COFFER_ASSIGN_OR_RETURN(pb::KeyTemplate t, BuildTemplate(ctx.args, type));
  t.set_bits(static_cast<uint32_t>(bits));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  pb::Request request;
  *request.mutable_generate_key()->mutable_template_() = t;
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  Json doc;
  doc["handle"] = HandleJson(response.generate_key().handle());
  doc["type"] = KeyTypeName(type);
  doc["bits"] = bits;
  doc["label"] = t.label();
  ctx.out.Print(doc, "Generated a key.");
  return absl::OkStatus();
}

absl::Status KeyGenerateAsymmetric(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(pb::KeyType type,
                          ParseKeyType(ctx.args.Get("--type")));
  COFFER_ASSIGN_OR_RETURN(pb::KeyTemplate t, BuildTemplate(ctx.args, type));
  if (type == pb::KEY_TYPE_RSA) {
    COFFER_ASSIGN_OR_RETURN(uint64_t bits, ctx.args.GetUint("--bits"));
    t.set_bits(static_cast<uint32_t>(bits));
  }
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  pb::Request request;
  *request.mutable_generate_key_pair()->mutable_template_() = t;
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  Json doc;
  doc["private_handle"] =
      HandleJson(response.generate_key_pair().private_handle());
  doc["public_handle"] =
      HandleJson(response.generate_key_pair().public_handle());
  doc["type"] = KeyTypeName(type);
  doc["label"] = t.label();
  ctx.out.Print(doc, "Generated a key pair.");
  return absl::OkStatus();
}

absl::Status KeyList(Context& ctx) {
  pb::Request request;
  pb::KeyFilter* filter = request.mutable_find_keys()->mutable_filter();
  if (ctx.args.Has("--label")) filter->set_label(ctx.args.Get("--label"));
  if (ctx.args.Has("--type")) {
    COFFER_ASSIGN_OR_RETURN(pb::KeyType type,
                            ParseKeyType(ctx.args.Get("--type")));
    filter->set_key_type(type);
  }
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  Json doc;
  doc["keys"] = Json::array();
  for (const pb::KeyInfo& k : response.find_keys().keys()) {
    doc["keys"].push_back(KeyToJson(k, false));
  }
  ctx.out.Print(doc, "",
                {"handle", "class", "type", "bits", "label", "owner", "usage",
                 "token", "extractable", "shared_with"});
  return absl::OkStatus();
}

absl::Status KeyAttributes(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(
      uint64_t handle, ResolveKey(conn, ctx.args, "--handle", "--label", true));
  pb::Request request;
  request.mutable_get_attributes()->set_handle(handle);
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  ctx.out.Print(KeyToJson(response.get_attributes().key(), true));
  return absl::OkStatus();
}

absl::Status KeySetAttribute(Context& ctx) {
  pb::Request request;
  COFFER_RETURN_IF_ERROR(
      SetChange(ctx.args.Get("--name"), ctx.args.Get("--value"),
                *request.mutable_set_attribute()->mutable_change()));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(
      uint64_t handle, ResolveKey(conn, ctx.args, "--handle", "--label", true));
  request.mutable_set_attribute()->set_handle(handle);
  COFFER_RETURN_IF_ERROR(conn.Call(request).status());
  return Done(ctx, handle, "Attribute changed.");
}

absl::Status KeyShare(Context& ctx) { return Share(ctx, false); }
absl::Status KeyUnshare(Context& ctx) { return Share(ctx, true); }

absl::Status KeyDelete(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(
      uint64_t handle, ResolveKey(conn, ctx.args, "--handle", "--label", true));
  COFFER_RETURN_IF_ERROR(
      Confirm(ctx.args, absl::StrCat("Destroy key ", handle, "?")));
  pb::Request request;
  request.mutable_destroy_key()->set_handle(handle);
  COFFER_RETURN_IF_ERROR(conn.Call(request).status());
  return Done(ctx, handle, absl::StrCat("Destroyed key ", handle, "."));
}

absl::Status KeyWrap(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(
      MechanismSpec mech,
      ParseMechanism(ctx.args.Get("--mechanism"), MechanismUse::kWrap));
  COFFER_ASSIGN_OR_RETURN(uint64_t wrapping,
                          ctx.args.GetUint("--wrapping-handle"));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(
      uint64_t handle, ResolveKey(conn, ctx.args, "--handle", "--label", true));
  pb::Request request;
  pb::WrapKeyRequest* r = request.mutable_wrap_key();
  r->set_wrapping_handle(wrapping);
  r->set_handle(handle);
  *r->mutable_mechanism() = ToParams(mech);
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  const std::string out = ctx.args.Get("--out");
  const std::string& wrapped = response.wrap_key().wrapped();
  COFFER_RETURN_IF_ERROR(WriteOutput(out, AsBytes(wrapped)));
  if (!out.empty() && out != "-") {
    Json doc;
    doc["handle"] = HandleJson(handle);
    doc["out"] = out;
    doc["bytes"] = wrapped.size();
    ctx.out.Print(doc, "Wrapped the key.");
  }
  return absl::OkStatus();
}

absl::Status KeyUnwrap(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(
      MechanismSpec mech,
      ParseMechanism(ctx.args.Get("--mechanism"), MechanismUse::kWrap));
  COFFER_ASSIGN_OR_RETURN(uint64_t unwrapping,
                          ctx.args.GetUint("--unwrapping-handle"));
  COFFER_ASSIGN_OR_RETURN(pb::KeyType type,
                          ParseKeyType(ctx.args.Get("--type")));
  COFFER_ASSIGN_OR_RETURN(pb::KeyTemplate t, BuildTemplate(ctx.args, type));
  COFFER_ASSIGN_OR_RETURN(std::string wrapped, ReadInput(ctx.args.Get("--in")));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  pb::Request request;
  pb::UnwrapKeyRequest* r = request.mutable_unwrap_key();
  r->set_unwrapping_handle(unwrapping);
  *r->mutable_mechanism() = ToParams(mech);
  r->set_wrapped(wrapped);
  *r->mutable_template_() = t;
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  Json doc;
  doc["handle"] = HandleJson(response.unwrap_key().handle());
  doc["type"] = KeyTypeName(type);
  doc["label"] = t.label();
  ctx.out.Print(doc, "Unwrapped the key.");
  return absl::OkStatus();
}

absl::Status KeyImportCertificate(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::string pem, ReadInput(ctx.args.Get("--in")));
  COFFER_ASSIGN_OR_RETURN(crypto::Certificate cert,
                          crypto::Certificate::FromPem(pem));
  const Bytes der = cert.ToDer();
  pb::Request request;
  pb::ImportCertificateRequest* r = request.mutable_import_certificate();
  r->set_certificate_der(std::string(der.begin(), der.end()));
  r->set_label(ctx.args.Get("--label"));
  r->set_session_object(ctx.args.Switch("--session"));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  Json doc;
  doc["handle"] = std::to_string(response.import_certificate().handle());
  doc["subject"] = cert.subject_common_name();
  ctx.out.Print(doc, "imported certificate for " + cert.subject_common_name());
  return absl::OkStatus();
}

}  // namespace coffer::cli
