// Local files for `coffer`: inputs (a file, or stdin), outputs (a file, or
// stdout), and secret files (mode 0600, never overwritten). All binary-safe.
// An unreadable input or an unwritable output is a usage error (exit 2).
#ifndef COFFER_CLI_IO_H_
#define COFFER_CLI_IO_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/secret_bytes.h"

namespace coffer::cli {

absl::StatusOr<std::string> ReadFile(const std::string& path);
// `path` empty or "-": all of stdin.
absl::StatusOr<std::string> ReadInput(const std::string& path);
// A whole file into zeroizing memory (keys, components, passwords).
absl::StatusOr<crypto::SecretBytes> ReadSecretFile(const std::string& path);

// Creates or truncates `path` with `mode` (applied even if it existed).
absl::Status WriteFile(const std::string& path, ByteView data,
                       mode_t mode = 0644);
absl::Status WriteFile(const std::string& path, const std::string& data,
                       mode_t mode = 0644);
// `path` empty or "-": stdout.
absl::Status WriteOutput(const std::string& path, ByteView data);
// A new file, mode 0600; AlreadyExists (usage) if it exists: a secret is
// never silently replaced.
absl::Status WriteSecretFile(const std::string& path, ByteView data);

// mkdir -p, then chmod `mode` on the last component.
absl::Status MakeDirs(const std::string& path, mode_t mode);
bool FileExists(const std::string& path);
// `path` made absolute against `base_dir` unless it already is.
std::string ResolvePath(const std::string& base_dir, const std::string& path);

// Lower-case hex into zeroizing memory (whitespace around it ignored).
absl::StatusOr<crypto::SecretBytes> HexToSecret(const crypto::SecretBytes& hex);
crypto::SecretBytes SecretToHex(const crypto::SecretBytes& secret);

}  // namespace coffer::cli

#endif  // COFFER_CLI_IO_H_
