// The command line's names for wire enums ("ec-p256", "crypto-user",
// "aes-gcm", ...) and the JSON schema of keys, users and HSM info. These
// names are part of the stable `--output json` schema (docs/cli.md).
#ifndef COFFER_CLI_NAMES_H_
#define COFFER_CLI_NAMES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/connection.h"
#include "cli/output.h"

namespace coffer::cli {

std::vector<std::string> KeyTypeNames();  // for --type choices
absl::StatusOr<pb::KeyType> ParseKeyType(const std::string& name);
std::string KeyTypeName(pb::KeyType type);

std::vector<std::string> RoleNames();
absl::StatusOr<pb::Role> ParseRole(const std::string& name);
std::string RoleName(pb::Role role);

std::string ModeName(pb::Mode mode);       // "fips" / "non-fips"
std::string StateName(pb::HsmState s);     // "ACTIVE", "TAMPERED", ...
std::string ClassName(pb::ObjectClass c);  // "secret-key", ...

// What a mechanism is for: it decides how the CLI frames data (for
// symmetric encryption: iv || ciphertext) and which key of a label to use.
enum class MechanismUse { kSign, kEncrypt, kWrap };
struct MechanismSpec {
  std::string name;  // "ecdsa-sha256"
  MechanismUse use;
  pb::Mechanism mechanism;
  pb::HashAlg hash;
  size_t iv_size;  // bytes the CLI frames in front of the ciphertext
};
std::vector<std::string> MechanismNames(MechanismUse use);
absl::StatusOr<MechanismSpec> ParseMechanism(const std::string& name,
                                             MechanismUse use);
pb::MechanismParams ToParams(const MechanismSpec& spec);

// Key usage flags for --usage: encrypt,decrypt,sign,verify,wrap,unwrap,derive
// Sets them all (true or false) on `t`; the default depends on the type.
absl::Status ApplyUsage(const std::string& list, pb::KeyTemplate& t);

// Handles are 64-bit: JSON carries them as decimal strings, so parsers that
// read numbers as doubles (jq, JavaScript) cannot round them.
Json HandleJson(uint64_t handle);
Json KeyToJson(const pb::KeyInfo& key, bool with_public_key);
Json UserToJson(const pb::UserInfo& user);
Json InfoToJson(const pb::GetInfoResponse& info);

}  // namespace coffer::cli

#endif  // COFFER_CLI_NAMES_H_
