#include "cli/output.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace coffer::cli {
namespace {

// One cell: strings as they are, booleans as yes/no, arrays joined.
std::string Cell(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_null()) return "-";
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const Json& e : v) parts.push_back(Cell(e));
    return parts.empty() ? "-" : absl::StrJoin(parts, ",");
  }
  return v.dump();
}

bool IsTable(const Json& v) {
  return v.is_array() && !v.empty() &&
         std::all_of(v.begin(), v.end(),
                     [](const Json& e) { return e.is_object(); });
}

std::string Table(const Json& array, const std::vector<std::string>& wanted) {
  std::vector<std::string> columns = wanted;
  if (columns.empty()) {
    for (auto it = array.front().begin(); it != array.front().end(); ++it) {
      columns.push_back(it.key());
    }
  }
  std::vector<std::vector<std::string>> rows;
  for (const Json& item : array) {
    std::vector<std::string> row;
    for (const std::string& c : columns) {
      row.push_back(item.contains(c) ? Cell(item[c]) : "-");
    }
    rows.push_back(std::move(row));
  }
  return RenderTable(columns, rows);
}

void Fields(const Json& doc, const std::string& indent,
            const std::vector<std::string>& columns, std::ostream& out) {
  size_t width = 0;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (!IsTable(it.value())) width = std::max(width, it.key().size());
  }
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const Json& v = it.value();
    if (IsTable(v)) {
      out << Table(v, columns);
    } else if (v.is_array() && v.empty() && it.key() != "shared_with") {
      out << indent << "(no " << it.key() << ")\n";
    } else if (v.is_object()) {
      out << indent << it.key() << ":\n";
      Fields(v, indent + "  ", columns, out);
    } else {
      out << indent << it.key() << std::string(width - it.key().size() + 2, ' ')
          << Cell(v) << "\n";
    }
  }
}

}  // namespace

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      s += cells[i];
      if (i + 1 < cells.size())
        s += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    return s + "\n";
  };
  std::vector<std::string> upper;
  for (const std::string& h : header) {
    std::string u = h;
    std::transform(u.begin(), u.end(), u.begin(), [](char c) {
      return c == '_' ? ' '
                      : static_cast<char>(
                            std::toupper(static_cast<unsigned char>(c)));
    });
    upper.push_back(u);
  }
  std::string out = line(upper);
  for (const auto& row : rows) out += line(row);
  return out;
}

void Output::Print(const Json& doc, const std::string& note,
                   const std::vector<std::string>& columns) {
  if (json()) {
    out_ << doc.dump(2) << "\n";
    return;
  }
  if (!note.empty()) out_ << note << "\n";
  if (doc.is_object()) {
    Fields(doc, "", columns, out_);
  } else if (IsTable(doc)) {
    out_ << Table(doc, columns);
  } else if (!doc.is_null()) {
    out_ << Cell(doc) << "\n";
  }
  out_.flush();
}

void Output::Note(const std::string& line) {
  if (!json()) out_ << line << "\n";
}

void Output::Progress(const std::string& line) {
  if (!json() && isatty(STDERR_FILENO)) err_ << line << "\n";
}

void Output::Error(const absl::Status& status, int exit_code) {
  const std::string code = absl::StatusCodeToString(status.code());
  if (json()) {
    Json doc;
    doc["error"]["code"] = code;
    doc["error"]["message"] = std::string(status.message());
    doc["error"]["exit_code"] = exit_code;
    err_ << doc.dump(2) << "\n";
  } else {
    err_ << "coffer: " << code << ": " << status.message() << "\n";
  }
  err_.flush();
}

std::string IsoUtc(int64_t unix_seconds) {
  if (unix_seconds == 0) return "";
  const time_t t = static_cast<time_t>(unix_seconds);
  tm parts{};
  char text[32] = "";
  if (gmtime_r(&t, &parts) == nullptr ||
      strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts) == 0) {
    return std::to_string(unix_seconds);
  }
  return text;
}

}  // namespace coffer::cli
