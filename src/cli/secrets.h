// Secrets for `coffer` (passwords, AKBK components): from a file, from
// stdin, or from a prompt without echo (only when stdin is a terminal).
// Never from argv or the environment. They live in SecretBytes only.
#ifndef COFFER_CLI_SECRETS_H_
#define COFFER_CLI_SECRETS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/command_table.h"
#include "cli/connection.h"
#include "crypto/secret_bytes.h"

namespace coffer::cli {

// Flags naming where one secret comes from: `--<what>-file FILE` and
// `--<what>-stdin`, e.g. what = "password" or "component".
std::vector<Flag> SecretFlags(const char* what);

struct SecretRequest {
  const char* what = "password";  // matches the SecretFlags() used
  std::string prompt;             // "Password for alice: "
  bool confirm = false;           // a new secret: prompt twice
};

// The first line of the file (or of stdin), without its line ending; or a
// prompt. UsageError when none applies (no file, no --X-stdin, and stdin
// is not a terminal), or the secret is empty.
absl::StatusOr<crypto::SecretBytes> ReadSecret(const Args& args,
                                               const SecretRequest& request);

// The first line of `bytes`, without its line ending.
crypto::SecretBytes FirstLine(const crypto::SecretBytes& bytes);

// A fresh development password: 24 characters of [a-z0-9] (~124 bits).
absl::StatusOr<crypto::SecretBytes> GeneratePassword();

// A "user:password" credentials file (first line), as written by
// `coffer dev-hsm up`.
struct Credentials {
  std::string user;
  crypto::SecretBytes password;
};
absl::StatusOr<Credentials> ReadCredentialsFile(const std::string& path);
// Writes a new credentials file, "user:password\n", mode 0600; a usage
// error if it exists (a secret file is never overwritten).
absl::Status WriteCredentialsFile(const std::string& path,
                                  const std::string& user,
                                  const crypto::SecretBytes& password);

// Sends `request` with `secret` in `field`, then wipes the field.
absl::StatusOr<pb::Response> SendSecret(Connection& conn, pb::Request& request,
                                        std::string* field,
                                        const crypto::SecretBytes& secret);

// Logs in as "admin" with `admin_password`, creates crypto user `name` with
// a generated password, logs out, and writes `name:password` to
// `credentials_path` (0600): the last step of the development set-ups.
absl::Status CreateCryptoUserWithCredentials(
    Connection& conn, const crypto::SecretBytes& admin_password,
    const std::string& name, const std::string& credentials_path);

}  // namespace coffer::cli

#endif  // COFFER_CLI_SECRETS_H_
