// The `coffer` command line is one table of "noun verb" commands
// (command_table.cc). Each row names its flags declaratively; the table
// drives parsing (CLI11), help, and dispatch to the row's handler.
//
// Handlers return absl::Status. The exit code comes from the status
// (ExitCodeOf): 0 ok, 1 the HSM (or a local tool) refused or failed,
// 2 usage, 3 cannot reach or authenticate the HSM. docs/cli.md lists them.
#ifndef COFFER_CLI_COMMAND_TABLE_H_
#define COFFER_CLI_COMMAND_TABLE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/connection.h"
#include "cli/output.h"

namespace coffer::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitRefused = 1,      // the HSM refused (its message is printed)
  kExitUsage = 2,        // bad arguments or unreadable local input
  kExitUnreachable = 3,  // cannot connect, or the TLS handshake failed
};

// Tags `status` with the exit code it must produce.
absl::Status WithExitCode(absl::Status status, ExitCode code);
absl::Status UsageError(const std::string& message);
// The tagged code; untagged errors are kExitRefused.
ExitCode ExitCodeOf(const absl::Status& status);

// One flag of a command. Secrets are never flags (secrets.h).
struct Flag {
  // kList: one or more values (`--tag a=b c=d`, or the flag repeated); a
  // positional list takes the rest of the words.
  enum Kind { kValue, kSwitch, kList };
  std::string name;  // "--label"; a name without dashes is positional
  std::string help;
  Kind kind = kValue;
  bool required = false;
  std::vector<std::string> choices = {};  // allowed values, if any
  const char* default_value = nullptr;    // shown in help; Get() returns it
};

// The parsed flags of the chosen command.
class Args {
 public:
  bool Has(const std::string& name) const {
    return values_.count(name) > 0 || lists_.count(name) > 0;
  }
  // The value, its default, or "".
  std::string Get(const std::string& name) const;
  bool Switch(const std::string& name) const { return Has(name); }
  // Decimal; UsageError names the flag when it is not a number.
  absl::StatusOr<uint64_t> GetUint(const std::string& name) const;
  void Set(const std::string& name, std::string value) {
    values_[name] = std::move(value);
  }
  void SetDefault(const std::string& name, std::string value) {
    defaults_[name] = std::move(value);
  }
  // The values of a kList flag, in order; empty if not given.
  std::vector<std::string> GetList(const std::string& name) const {
    auto it = lists_.find(name);
    return it != lists_.end() ? it->second : std::vector<std::string>{};
  }
  void SetList(const std::string& name, std::vector<std::string> values) {
    lists_[name] = std::move(values);
  }

 private:
  std::map<std::string, std::string> values_, defaults_;
  std::map<std::string, std::vector<std::string>> lists_;
};

// What a handler gets.
struct Context {
  const Args& args;
  const ConnectionFlags& connection;
  Output& out;
};

using Handler = absl::Status (*)(Context&);

struct Command {
  std::string noun;
  std::string verb;  // "" for a one-word command (`coffer login`)
  std::string help;
  std::vector<Flag> flags;
  Handler handler;  // nullptr: a row that only describes a noun
};

// Every command, in help order.
const std::vector<Command>& CommandTable();

// Parses argv against the table and runs the chosen handler. Returns the
// process exit code; prints results and errors through `out`.
int RunCommandLine(int argc, char** argv);

}  // namespace coffer::cli

#endif  // COFFER_CLI_COMMAND_TABLE_H_
