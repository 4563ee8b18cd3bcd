// Users: admins create, delete and unlock them; everyone lists them and
// changes their own password. Passwords come from secrets.h, never argv.
#include <unistd.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/commands.h"
#include "cli/secrets.h"

namespace coffer::cli {
namespace {

using crypto::SecretBytes;

absl::Status CallWithPassword(Connection& conn, pb::Request& request,
                              std::string* field, const SecretBytes& password) {
  ByteView bytes = password.ExposeSecret();
  field->assign(bytes.begin(), bytes.end());
  absl::Status s = conn.Call(request).status();
  client::WipeBytes(field);
  return s;
}

absl::Status Done(Context& ctx, const std::string& user,
                  const std::string& message) {
  Json doc;
  doc["user"] = user;
  doc["ok"] = true;
  ctx.out.Print(doc, message);
  return absl::OkStatus();
}

}  // namespace

absl::Status Confirm(const Args& args, const std::string& question) {
  if (args.Switch("--force")) return absl::OkStatus();
  if (!isatty(STDIN_FILENO)) {
    return UsageError(question + ": not confirmed (add --force in scripts)");
  }
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  if (answer == "y" || answer == "Y" || answer == "yes") {
    return absl::OkStatus();
  }
  return UsageError("cancelled");
}

absl::Status UserCreate(Context& ctx) {
  const std::string name = ctx.args.Get("--name");
  COFFER_ASSIGN_OR_RETURN(pb::Role role, ParseRole(ctx.args.Get("--role")));
  COFFER_ASSIGN_OR_RETURN(
      SecretBytes password,
      ReadSecret(ctx.args, {"password", "Password for " + name + ": ", true}));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  pb::Request request;
  pb::CreateUserRequest* r = request.mutable_create_user();
  r->set_name(name);
  r->set_role(role);
  COFFER_RETURN_IF_ERROR(
      CallWithPassword(conn, request, r->mutable_password(), password));
  return Done(ctx, name,
              absl::StrCat("Created ", RoleName(role), " ", name, "."));
}

absl::Status UserDelete(Context& ctx) {
  const std::string name = ctx.args.Get("--name");
  COFFER_RETURN_IF_ERROR(Confirm(ctx.args, "Delete user " + name + "?"));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  pb::Request request;
  request.mutable_delete_user()->set_name(name);
  COFFER_RETURN_IF_ERROR(conn.Call(request).status());
  return Done(ctx, name, "Deleted user " + name + ".");
}

absl::Status UserList(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  pb::Request request;
  request.mutable_list_users();
  COFFER_ASSIGN_OR_RETURN(pb::Response response, conn.Call(request));
  Json doc;
  doc["users"] = Json::array();
  for (const pb::UserInfo& u : response.list_users().users()) {
    doc["users"].push_back(UserToJson(u));
  }
  ctx.out.Print(doc);
  return absl::OkStatus();
}

absl::Status UserChangePassword(Context& ctx) {
  Session session;
  COFFER_ASSIGN_OR_RETURN(Connection conn,
                          OpenSession(ctx.connection, &session));
  const std::string name =
      ctx.args.Has("--name") ? ctx.args.Get("--name") : session.user;
  COFFER_ASSIGN_OR_RETURN(
      SecretBytes password,
      ReadSecret(ctx.args,
                 {"password", "New password for " + name + ": ", true}));
  pb::Request request;
  pb::ChangePasswordRequest* r = request.mutable_change_password();
  r->set_name(name);
  COFFER_RETURN_IF_ERROR(
      CallWithPassword(conn, request, r->mutable_new_password(), password));
  return Done(ctx, name, "Changed the password of " + name + ".");
}

absl::Status UserUnlock(Context& ctx) {
  const std::string name = ctx.args.Get("--name");
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  pb::Request request;
  request.mutable_unlock_user()->set_name(name);
  COFFER_RETURN_IF_ERROR(conn.Call(request).status());
  return Done(ctx, name, "Unlocked " + name + ".");
}

absl::Status UserSetLockout(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(uint64_t max,
                          ctx.args.GetUint("--max-failed-logins"));
  pb::Request request;
  request.mutable_set_lockout_policy()->set_max_failed_logins(
      static_cast<uint32_t>(max));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  COFFER_RETURN_IF_ERROR(conn.Call(request).status());
  Json doc;
  doc["max_failed_logins"] = max;
  ctx.out.Print(
      doc, absl::StrCat("users are locked after ", max, " wrong passwords"));
  return absl::OkStatus();
}

}  // namespace coffer::cli
