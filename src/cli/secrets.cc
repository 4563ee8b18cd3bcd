#include "cli/secrets.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/io.h"
#include "crypto/random.h"

namespace coffer::cli {
namespace {

using crypto::SecretBytes;

constexpr size_t kMaxSecret = 4096;

// Reads one line from the terminal on stdin with echo off.
absl::StatusOr<SecretBytes> Prompt(const std::string& prompt) {
  std::fputs(prompt.c_str(), stderr);
  std::fflush(stderr);
  termios saved;
  const bool have_tty = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (have_tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  SecretBytes line(kMaxSecret);
  size_t n = 0;
  for (;;) {
    char c = 0;
    const ssize_t r = read(STDIN_FILENO, &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || c == '\n') break;
    if (n < line.size())
      line.ExposeSecretMutable()[n++] = static_cast<uint8_t>(c);
  }
  if (have_tty) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  line.Truncate(n);
  return line;
}

absl::StatusOr<SecretBytes> FromPrompt(const SecretRequest& request) {
  if (!isatty(STDIN_FILENO)) {
    return UsageError(absl::StrCat(
        "no ", request.what, " given and stdin is not a terminal: use --",
        request.what, "-file FILE or --", request.what, "-stdin"));
  }
  COFFER_ASSIGN_OR_RETURN(SecretBytes first, Prompt(request.prompt));
  if (request.confirm) {
    COFFER_ASSIGN_OR_RETURN(SecretBytes again, Prompt("Again: "));
    if (!crypto::ConstantTimeEquals(first.ExposeSecret(),
                                    again.ExposeSecret())) {
      return UsageError("the two entries differ");
    }
  }
  return first;
}

}  // namespace

std::vector<Flag> SecretFlags(const char* what) {
  return {
      {absl::StrCat("--", what, "-file"),
       absl::StrCat("read the ", what, " from the first line of FILE")},
      {absl::StrCat("--", what, "-stdin"),
       absl::StrCat("read the ", what, " from the first line of stdin"),
       Flag::kSwitch},
  };
}

SecretBytes FirstLine(const SecretBytes& bytes) {
  ByteView in = bytes.ExposeSecret();
  size_t n = 0;
  while (n < in.size() && in[n] != '\n') ++n;
  if (n > 0 && in[n - 1] == '\r') --n;
  return SecretBytes::CopyOf(in.subspan(0, n));
}

absl::StatusOr<SecretBytes> ReadSecret(const Args& args,
                                       const SecretRequest& request) {
  const std::string file_flag = absl::StrCat("--", request.what, "-file");
  const std::string stdin_flag = absl::StrCat("--", request.what, "-stdin");
  SecretBytes secret;
  if (args.Has(file_flag)) {
    COFFER_ASSIGN_OR_RETURN(SecretBytes whole,
                            ReadSecretFile(args.Get(file_flag)));
    secret = FirstLine(whole);
  } else if (args.Switch(stdin_flag)) {
    SecretBytes whole(kMaxSecret);
    size_t n = 0;
    while (n < whole.size()) {
      const ssize_t r =
          read(STDIN_FILENO, whole.ExposeSecretMutable().data() + n,
               whole.size() - n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      n += static_cast<size_t>(r);
    }
    whole.Truncate(n);
    secret = FirstLine(whole);
  } else {
    COFFER_ASSIGN_OR_RETURN(secret, FromPrompt(request));
  }
  if (secret.empty()) {
    return UsageError(absl::StrCat("the ", request.what, " is empty"));
  }
  return secret;
}

absl::StatusOr<SecretBytes> GeneratePassword() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  constexpr size_t kLength = 24;
  SecretBytes out(kLength);
  for (size_t i = 0; i < kLength;) {
    COFFER_ASSIGN_OR_RETURN(SecretBytes r, crypto::RandomSecret(1));
    const uint8_t b = r.ExposeSecret()[0];
    if (b >= 252) continue;  // 252 = 7 * 36: keep the choice uniform
    out.ExposeSecretMutable()[i++] = static_cast<uint8_t>(kAlphabet[b % 36]);
  }
  return out;
}

absl::StatusOr<Credentials> ReadCredentialsFile(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(SecretBytes whole, ReadSecretFile(path));
  SecretBytes line = FirstLine(whole);
  ByteView in = line.ExposeSecret();
  size_t colon = 0;
  while (colon < in.size() && in[colon] != ':') ++colon;
  if (colon == 0 || colon + 1 >= in.size()) {
    return UsageError(absl::StrCat(
        path, " is not a credentials file (first line user:password)"));
  }
  Credentials c;
  c.user.assign(in.begin(), in.begin() + static_cast<ptrdiff_t>(colon));
  c.password = SecretBytes::CopyOf(in.subspan(colon + 1));
  return c;
}

absl::Status WriteCredentialsFile(const std::string& path,
                                  const std::string& user,
                                  const SecretBytes& password) {
  SecretBytes line(user.size() + 1 + password.size() + 1);
  auto out = line.ExposeSecretMutable();
  std::copy(user.begin(), user.end(), out.begin());
  out[user.size()] = ':';
  std::copy(password.ExposeSecret().begin(), password.ExposeSecret().end(),
            out.begin() + static_cast<ptrdiff_t>(user.size() + 1));
  out[out.size() - 1] = '\n';
  return WriteSecretFile(path, line.ExposeSecret());
}

absl::StatusOr<pb::Response> SendSecret(Connection& conn, pb::Request& request,
                                        std::string* field,
                                        const SecretBytes& secret) {
  field->assign(secret.ExposeSecret().begin(), secret.ExposeSecret().end());
  absl::StatusOr<pb::Response> response = conn.Call(request);
  client::WipeBytes(field);
  return response;
}

absl::Status CreateCryptoUserWithCredentials(
    Connection& conn, const SecretBytes& admin_password,
    const std::string& name, const std::string& credentials_path) {
  pb::Request login;
  login.mutable_login()->set_user("admin");
  COFFER_ASSIGN_OR_RETURN(
      pb::Response session,
      SendSecret(conn, login, login.mutable_login()->mutable_password(),
                 admin_password));
  conn.set_session(session.login().session());
  COFFER_ASSIGN_OR_RETURN(SecretBytes cu_password, GeneratePassword());
  pb::Request create;
  create.mutable_create_user()->set_name(name);
  create.mutable_create_user()->set_role(pb::ROLE_CRYPTO_USER);
  COFFER_RETURN_IF_ERROR(
      SendSecret(conn, create, create.mutable_create_user()->mutable_password(),
                 cu_password)
          .status());
  pb::Request logout;
  logout.mutable_logout();
  COFFER_RETURN_IF_ERROR(conn.Call(logout).status());
  return WriteCredentialsFile(credentials_path, name, cu_password);
}

}  // namespace coffer::cli
