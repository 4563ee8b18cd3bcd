// What `coffer` prints. Every command builds one JSON document (its stable
// schema for `--output json`); for people the same document is shown as
// "name  value" lines, with each array of objects as a table. Results go to
// stdout; errors and notes to stderr.
#ifndef COFFER_CLI_OUTPUT_H_
#define COFFER_CLI_OUTPUT_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace coffer::cli {

using Json = nlohmann::ordered_json;

enum class Format { kTable, kJson };

class Output {
 public:
  Output(Format format, std::ostream& out, std::ostream& err)
      : format_(format), out_(out), err_(err) {}

  Format format() const { return format_; }
  bool json() const { return format_ == Format::kJson; }

  // Prints `doc`. For people: `note` first (if any), then the fields; an
  // array of objects becomes a table of `columns` (all keys if empty).
  void Print(const Json& doc, const std::string& note = "",
             const std::vector<std::string>& columns = {});
  // A line for people only (to stdout in table mode; nothing in JSON mode).
  void Note(const std::string& line);
  // Progress for people on a terminal only (stderr); quiet in pipes.
  void Progress(const std::string& line);
  // An error: "coffer: CODE: message" for people, or
  // {"error": {"code", "message", "exit_code"}} in JSON mode; on stderr.
  void Error(const absl::Status& status, int exit_code);

 private:
  Format format_;
  std::ostream& out_;
  std::ostream& err_;
};

// A plain-text table: columns padded to their widest cell.
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// Unix seconds as UTC ISO-8601 ("2026-01-01T00:00:00Z"); 0 is the APIs'
// "not set" and prints as "".
std::string IsoUtc(int64_t unix_seconds);

}  // namespace coffer::cli

#endif  // COFFER_CLI_OUTPUT_H_
