#include "cli/local_cluster_files.h"

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/process.h"
#include "base/status.h"
#include "cli/io.h"

namespace coffer::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kManagerStopMs = 15000;  // it gives running calls 5 s
constexpr int kHsmStopMs = 10000;

// A pid alone in a file, or 0.
pid_t ReadPid(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  int pid = 0;
  if (!text.ok() ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) || pid <= 0) {
    return 0;
  }
  return static_cast<pid_t>(pid);
}

// The directories of the provider's HSMs: manager/hsms/hsms/<id> is the
// local provider's layout (src/manager/local_hsm_provider.cc); one level
// up is searched too, so that a provider that flattens it is still found.
std::vector<fs::path> HsmDirs(const LocalClusterPaths& p) {
  std::vector<fs::path> dirs;
  for (const std::string& root : {p("manager/hsms/hsms"), p("manager/hsms")}) {
    std::error_code ec;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (it->is_directory(ec) && fs::exists(it->path() / "pid", ec)) {
        dirs.push_back(it->path());
      }
    }
  }
  return dirs;
}

}  // namespace

LocalClusterPaths::LocalClusterPaths(const std::string& path) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) canonical = fs::absolute(path, ec).lexically_normal();
  dir = canonical.string();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
}

std::string ShellQuote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string EnvFileText(
    const std::vector<std::pair<std::string, std::string>>& variables) {
  std::string text =
      "# Written by `coffer up` (DEVELOPMENT ONLY, INSECURE). Use: . "
      "this-file\n";
  for (const auto& [name, value] : variables) {
    absl::StrAppend(&text, "export ", name, "=", ShellQuote(value), "\n");
  }
  return text;
}

absl::Status WriteCliConfig(const LocalClusterPaths& p,
                            const std::string& manager,
                            const std::string& cluster_id) {
  Json doc;
  doc["manager"] = manager;
  if (!cluster_id.empty()) doc["cluster_id"] = cluster_id;
  doc["ca"] = p("ca/ca.pem");
  doc["cert"] = p("client.pem");
  doc["key"] = p("client.key");
  doc["session_file"] = p("session");
  return WriteFile(p("config.json"), doc.dump(2) + "\n", 0600);
}

absl::Status WriteClientFiles(const LocalClusterPaths& p,
                              const std::string& manager,
                              const std::string& cluster_id) {
  Json cluster;
  cluster["cluster_id"] = cluster_id;
  cluster["manager"] = manager;
  cluster["ca"] = p("ca/ca.pem");
  cluster["cert"] = p("client.pem");
  cluster["key"] = p("client.key");
  Json doc;
  doc["clusters"] = Json::array({cluster});
  COFFER_RETURN_IF_ERROR(WriteFile(p("pkcs11.json"), doc.dump(2) + "\n", 0600));
  return WriteFile(
      p("env"),
      EnvFileText({{"COFFER_CONFIG", p("config.json")},
                   {"COFFER_PKCS11_CONFIG", p("pkcs11.json")},
                   {"COFFER_CLUSTER_ID", cluster_id},
                   {"COFFER_ADMIN_CREDENTIALS", p("admin.credentials")},
                   {"COFFER_CU_CREDENTIALS", p("cu.credentials")}}),
      0600);
}

std::string ManagerMarker(const LocalClusterPaths& p) {
  // The command line's NULs read as spaces: "--data-dir DIR/manager --...".
  return absl::StrCat("--data-dir ", p("manager"), " ");
}

std::vector<LocalProcess> RunningManager(const LocalClusterPaths& p) {
  const pid_t pid = ReadPid(p("manager.pid"));
  if (pid > 0 && ProcessRunning(pid, ManagerMarker(p))) {
    return {{"coffer-manager", pid, ManagerMarker(p)}};
  }
  return {};
}

std::vector<LocalProcess> RunningHsms(const LocalClusterPaths& p) {
  std::vector<LocalProcess> running;
  for (const fs::path& dir : HsmDirs(p)) {
    const pid_t pid = ReadPid((dir / "pid").string());
    const std::string marker = (dir / "data").string();
    if (pid > 0 && ProcessRunning(pid, marker)) {
      running.push_back({dir.filename().string(), pid, marker});
    }
  }
  return running;
}

Json StopLocalCluster(const LocalClusterPaths& p) {
  Json still = Json::array();
  bool manager_stopped = false;
  for (const LocalProcess& m : RunningManager(p)) {
    (void)StopProcess(m.pid, kManagerStopMs);
    if (ProcessRunning(m.pid, m.marker)) {
      still.push_back(m.what);
    } else {
      manager_stopped = true;
    }
  }
  if (RunningManager(p).empty()) {  // stale files of a stopped manager too
    std::remove(p("manager.pid").c_str());
    std::remove(p("manager.port").c_str());
  }
  // Scanned after the manager stopped: it can start no HSM any more.
  Json hsms = Json::array();
  for (const LocalProcess& h : RunningHsms(p)) {
    (void)StopProcess(h.pid, kHsmStopMs);
    (ProcessRunning(h.pid, h.marker) ? still : hsms).push_back(h.what);
  }
  Json doc;
  doc["manager"] = manager_stopped;
  doc["hsms"] = hsms;
  doc["still_running"] = still;
  return doc;
}

}  // namespace coffer::cli
