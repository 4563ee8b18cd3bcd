// The embedded HSM provider: coffer-hsm processes on this machine.
// DEVELOPMENT ONLY, INSECURE (internal/provider_dev_material.h).
//
// Layout of the provider directory (all directories 0700):
//   lock                  held while a provider has the directory open
//   dev/                  the development secrets (provider_dev_material.h)
//   hsms/<hsm_id>/        one per HSM, removed by Destroy:
//     data/               the HSM's data directory (node/data_dir.h)
//     hsm.json            {"format": 1, "serial", "mode"}: written last by
//                         Provision, so its absence marks an HSM whose
//                         provisioning never finished
//     pid, port           the running process and its port (rewritten on
//                         every start; port is removed before a start)
//     log                 the process's stdout and stderr, appended
// The processes run in their own sessions: a manager restart re-attaches
// to them through pid/port (Resume) instead of restarting them.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "base/files.h"
#include "base/log.h"
#include "base/process.h"
#include "base/status.h"
#include "client/hsm_client.h"
#include "crypto/random.h"
#include "manager/hsm_provider.h"
#include "manager/internal/provider_dev_material.h"
#include "nlohmann/json.hpp"
#include "provision/commission.h"
#include "provision/files.h"

namespace coffer::manager {

net::TlsCredentials ServiceIdentity::ClientCredentials(
    const std::string& extra_anchors_pem) const {
  net::TlsCredentials creds;
  creds.certificate_chain_pem = cert_chain_pem;
  creds.private_key_pem = key_pem.Clone();
  creds.trust_anchors_pem = manufacturer_ca_pem + extra_anchors_pem;
  return creds;
}

namespace {

namespace fs = std::filesystem;
namespace pb = ::coffer::hsm::v1;

constexpr char kFirmware[] = "0.1.0";
constexpr char kTempMarker[] = ".provider-tmp-";
constexpr size_t kMaxIdLength = 64;

absl::Status CheckId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= kMaxIdLength;
  for (char c : id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("bad HSM id '", id.substr(0, kMaxIdLength),
                   "': use 1-64 characters of a-z, 0-9 and '-'"));
}

pb::Mode WireMode(ClusterMode mode) {
  return mode == ClusterMode::kFips ? pb::MODE_FIPS : pb::MODE_NON_FIPS;
}

bool Exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// Replaces `path` atomically with `text`.
absl::Status WriteAtomically(const std::string& path, const std::string& text) {
  COFFER_ASSIGN_OR_RETURN(
      AtomicFile file,
      AtomicFile::Create(fs::path(path).parent_path().string(), kTempMarker));
  COFFER_RETURN_IF_ERROR(file.Write(AsBytes(text)));
  return file.Commit(path);
}

// A positive number alone in a file, or NotFound.
absl::StatusOr<int> ReadNumber(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat("no ", path));
  char buf[32] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  int value = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(std::string(buf, n)),
                        &value) ||
      value <= 0) {
    return absl::NotFoundError(absl::StrCat(path, " holds no number"));
  }
  return value;
}

// The files of one HSM.
struct HsmPaths {
  HsmPaths(const std::string& hsms_dir, const std::string& id)
      : dir(hsms_dir + "/" + id),
        data(dir + "/data"),
        record(dir + "/hsm.json"),
        pid(dir + "/pid"),
        port(dir + "/port"),
        log(dir + "/log") {}
  std::string dir, data, record, pid, port, log;
};

struct Record {
  std::string serial;
  std::string mode;
};

absl::Status WriteRecord(const HsmPaths& p, const Record& r) {
  nlohmann::json doc;
  doc["format"] = 1;
  doc["serial"] = r.serial;
  doc["mode"] = r.mode;
  return WriteAtomically(p.record, doc.dump(2) + "\n");
}

// NotFound if the HSM's provisioning never finished.
absl::StatusOr<Record> ReadRecord(const HsmPaths& p) {
  std::FILE* f = std::fopen(p.record.c_str(), "re");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat("no ", p.record));
  nlohmann::json doc = nlohmann::json::parse(f, nullptr, false);
  std::fclose(f);
  if (!doc.is_object() || !doc.contains("serial") ||
      !doc["serial"].is_string()) {
    return absl::DataLossError(
        absl::StrCat(p.record, " is damaged: Destroy this HSM"));
  }
  return Record{doc["serial"].get<std::string>(), doc.value("mode", "")};
}

// A process of ours that exited stays a zombie until waited for; the pid
// file names the last one started for this HSM. A process that is still
// dying (no longer "running": its command line is gone) is waited for
// briefly; a running one, or one that is not our child, is left alone.
void ReapIfExited(const HsmPaths& p) {
  absl::StatusOr<int> pid = ReadNumber(p.pid);
  if (!pid.ok()) return;
  for (int waited = 0; waited < 2000; waited += 20) {
    if (waitpid(*pid, nullptr, WNOHANG) != 0) return;  // reaped, or not ours
    if (ProcessRunning(*pid, p.data)) return;
    usleep(20000);
  }
}

// The pid of the HSM's process if it is running.
absl::StatusOr<pid_t> RunningPid(const HsmPaths& p) {
  absl::StatusOr<int> pid = ReadNumber(p.pid);
  if (!pid.ok() || !ProcessRunning(*pid, p.data)) {
    return absl::NotFoundError("not running");
  }
  return static_cast<pid_t>(*pid);
}

class LocalHsmProvider final : public HsmProvider {
 public:
  LocalHsmProvider(LocalHsmProviderOptions options, OwnerLock lock,
                   internal::DevMaterial dev)
      : options_(std::move(options)),
        hsms_dir_(options_.dir + "/hsms"),
        lock_(std::move(lock)),
        dev_(std::move(dev)) {}

  absl::StatusOr<ProvidedHsm> Provision(
      const ProvisionRequest& request) override;
  absl::StatusOr<ProvidedHsm> Resume(
      const std::string& hsm_id,
      const std::vector<std::string>& extra_args) override;
  bool Alive(const std::string& hsm_id) override;
  absl::Status Destroy(const std::string& hsm_id) override;
  const ServiceIdentity& service_identity() const override {
    return dev_.identity;
  }

 private:
  // Serializes the calls for one HSM id (different ids run concurrently).
  absl::Mutex& IdMutex(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<ProvidedHsm> ProvisionLocked(const ProvisionRequest& request,
                                              const HsmPaths& p);
  // Starts coffer-hsm on a free port and waits until it serves.
  absl::StatusOr<int> Start(const HsmPaths& p,
                            const std::vector<std::string>& extra_args);
  // Commissions a fresh HSM as the service and checks what it reports.
  absl::Status Commission(int port, ClusterMode mode,
                          const std::string& serial);
  // Stops the process and removes the HSM's directory.
  absl::Status Remove(const HsmPaths& p);
  std::string Endpoint(int port) const {
    return absl::StrCat(options_.listen_host, ":", port);
  }

  const LocalHsmProviderOptions options_;
  const std::string hsms_dir_;
  const OwnerLock lock_;  // one provider per directory, for our lifetime
  const internal::DevMaterial dev_;
  absl::Mutex mu_;
  // Never erased: ids are not reused, and a mutex must outlive its users.
  std::map<std::string, std::unique_ptr<absl::Mutex>> id_mutexes_
      ABSL_GUARDED_BY(mu_);
};

absl::Mutex& LocalHsmProvider::IdMutex(const std::string& id) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<absl::Mutex>& m = id_mutexes_[id];
  if (m == nullptr) m = std::make_unique<absl::Mutex>();
  return *m;
}

absl::StatusOr<int> LocalHsmProvider::Start(
    const HsmPaths& p, const std::vector<std::string>& extra_args) {
  std::remove(p.port.c_str());
  std::vector<std::string> argv = {
      options_.hsm_binary, "--data-dir",  p.data, "--listen",
      Endpoint(0),         "--port-file", p.port, "--bootstrap-client-ca",
      dev_.service_ca_path};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  COFFER_ASSIGN_OR_RETURN(pid_t pid, StartDetached(argv, p.log));
  absl::Status s = WriteAtomically(p.pid, absl::StrCat(pid, "\n"));
  absl::StatusOr<int> port =
      s.ok() ? WaitForPortFile(pid, p.port, p.log, options_.start_timeout_ms)
             : absl::StatusOr<int>(s);
  if (!port.ok()) {
    (void)StopProcess(pid, 2000);
    return port.status();
  }
  return port;
}

absl::Status LocalHsmProvider::Commission(int port, ClusterMode mode,
                                          const std::string& serial) {
  net::TlsClientOptions tls;
  tls.credentials = dev_.identity.ClientCredentials();
  COFFER_ASSIGN_OR_RETURN(
      client::HsmClient hsm,
      client::HsmClient::Connect(
          {options_.listen_host, static_cast<uint16_t>(port)}, tls));
  COFFER_RETURN_IF_ERROR(provision::CommissionOverWire(
      [&hsm](pb::Request& request) { return hsm.CallInPlace(request); },
      WireMode(mode), dev_.ceremony, dev_.identity.service_ca_pem));
  pb::Request request;
  request.mutable_get_info();
  COFFER_ASSIGN_OR_RETURN(pb::Response response, hsm.Call(request));
  const pb::GetInfoResponse& info = response.get_info();
  if (info.state() != pb::HSM_STATE_COMMISSIONED ||
      info.mode() != WireMode(mode) || info.serial() != serial) {
    return absl::InternalError(absl::StrCat(
        "the HSM reports serial ", info.serial(), ", state ",
        pb::HsmState_Name(info.state()), ", mode ", pb::Mode_Name(info.mode()),
        " after commissioning; expected ", serial, ", HSM_STATE_COMMISSIONED, ",
        pb::Mode_Name(WireMode(mode))));
  }
  return absl::OkStatus();
}

absl::StatusOr<ProvidedHsm> LocalHsmProvider::ProvisionLocked(
    const ProvisionRequest& request, const HsmPaths& p) {
  COFFER_RETURN_IF_ERROR(MakePrivateDirectory(p.dir));
  COFFER_ASSIGN_OR_RETURN(Bytes random, crypto::RandomBytes(6));
  const std::string serial = absl::StrCat("DEV-", HexEncode(random));
  COFFER_RETURN_IF_ERROR(
      provision::ManufactureDataDir(dev_.factory, p.data, serial, kFirmware));
  COFFER_ASSIGN_OR_RETURN(int port, Start(p, request.extra_args));
  absl::Status commissioned = Commission(port, request.mode, serial);
  if (!commissioned.ok()) {
    return absl::Status(commissioned.code(),
                        absl::StrCat("commissioning ", request.hsm_id,
                                     " failed: ", commissioned.message(),
                                     "; its log ends with:\n", LogTail(p.log)));
  }
  COFFER_RETURN_IF_ERROR(
      WriteRecord(p, {serial, std::string(Name(request.mode))}));
  return ProvidedHsm{request.hsm_id, Endpoint(port), serial};
}

absl::StatusOr<ProvidedHsm> LocalHsmProvider::Provision(
    const ProvisionRequest& request) {
  COFFER_RETURN_IF_ERROR(CheckId(request.hsm_id));
  absl::MutexLock id_lock(&IdMutex(request.hsm_id));
  const HsmPaths p(hsms_dir_, request.hsm_id);
  if (Exists(p.dir)) {
    return absl::AlreadyExistsError(absl::StrCat(request.hsm_id,
                                                 " was provided already (",
                                                 p.dir, "); Destroy it first"));
  }
  absl::StatusOr<ProvidedHsm> made = ProvisionLocked(request, p);
  if (!made.ok()) {
    Log("local HSM provider: provisioning %s failed: %s",
        request.hsm_id.c_str(), std::string(made.status().message()).c_str());
    if (absl::Status removed = Remove(p); !removed.ok()) {
      Log("local HSM provider: cleaning up %s: %s", request.hsm_id.c_str(),
          std::string(removed.message()).c_str());
    }
    return made;
  }
  Log("local HSM provider: %s (serial %s, %s) serving on %s",
      made->hsm_id.c_str(), made->serial.c_str(),
      std::string(Name(request.mode)).c_str(), made->endpoint.c_str());
  return made;
}

absl::StatusOr<ProvidedHsm> LocalHsmProvider::Resume(
    const std::string& hsm_id, const std::vector<std::string>& extra_args) {
  COFFER_RETURN_IF_ERROR(CheckId(hsm_id));
  absl::MutexLock id_lock(&IdMutex(hsm_id));
  const HsmPaths p(hsms_dir_, hsm_id);
  if (!Exists(p.dir)) {
    return absl::NotFoundError(absl::StrCat("this provider has no HSM ", hsm_id,
                                            " (never provided, or destroyed)"));
  }
  absl::StatusOr<Record> record = ReadRecord(p);
  if (absl::IsNotFound(record.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "provisioning of ", hsm_id, " never finished: Destroy it"));
  }
  COFFER_RETURN_IF_ERROR(record.status());
  ReapIfExited(p);
  absl::StatusOr<pid_t> pid = RunningPid(p);
  if (pid.ok()) {
    absl::StatusOr<int> port = ReadNumber(p.port);
    if (port.ok()) return ProvidedHsm{hsm_id, Endpoint(*port), record->serial};
    // Running but never served (a start interrupted by a manager crash).
    (void)StopProcess(*pid, options_.stop_timeout_ms);
  }
  COFFER_ASSIGN_OR_RETURN(int port, Start(p, extra_args));
  Log("local HSM provider: restarted %s (serial %s) on %s", hsm_id.c_str(),
      record->serial.c_str(), Endpoint(port).c_str());
  return ProvidedHsm{hsm_id, Endpoint(port), record->serial};
}

bool LocalHsmProvider::Alive(const std::string& hsm_id) {
  return CheckId(hsm_id).ok() && RunningPid(HsmPaths(hsms_dir_, hsm_id)).ok();
}

absl::Status LocalHsmProvider::Remove(const HsmPaths& p) {
  ReapIfExited(p);
  if (absl::StatusOr<pid_t> pid = RunningPid(p); pid.ok()) {
    absl::Status stopped = StopProcess(*pid, options_.stop_timeout_ms);
    if (!stopped.ok()) {
      Log("local HSM provider: %s", std::string(stopped.message()).c_str());
    }
    if (ProcessRunning(*pid, p.data)) {
      return absl::InternalError(absl::StrCat(
          "could not stop process ", *pid, " of ", p.dir, "; nothing removed"));
    }
  }
  std::error_code ec;
  fs::remove_all(p.dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot remove ", p.dir, ": ", ec.message()));
  }
  return FsyncDirectory(hsms_dir_);
}

absl::Status LocalHsmProvider::Destroy(const std::string& hsm_id) {
  COFFER_RETURN_IF_ERROR(CheckId(hsm_id));
  absl::MutexLock id_lock(&IdMutex(hsm_id));
  const HsmPaths p(hsms_dir_, hsm_id);
  if (!Exists(p.dir)) return absl::OkStatus();
  COFFER_RETURN_IF_ERROR(Remove(p));
  Log("local HSM provider: destroyed %s", hsm_id.c_str());
  return absl::OkStatus();
}

absl::Status CheckOptions(const LocalHsmProviderOptions& o) {
  if (o.dir.empty()) {
    return absl::InvalidArgumentError("the HSM provider needs a directory");
  }
  if (access(o.hsm_binary.c_str(), X_OK) != 0 ||
      !fs::is_regular_file(o.hsm_binary)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the coffer-hsm binary '", o.hsm_binary,
                     "' is not an executable file: give the path of "
                     "coffer-hsm"));
  }
  if (o.listen_host.empty() || o.start_timeout_ms <= 0 ||
      o.stop_timeout_ms <= 0) {
    return absl::InvalidArgumentError(
        "the HSM provider needs a listen host and positive timeouts");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<HsmProvider>> OpenLocalHsmProvider(
    LocalHsmProviderOptions options) {
  COFFER_RETURN_IF_ERROR(CheckOptions(options));
  std::error_code ec;
  options.dir = fs::absolute(options.dir, ec).lexically_normal().string();
  if (!options.dir.empty() && options.dir.back() == '/') options.dir.pop_back();
  options.hsm_binary = fs::absolute(options.hsm_binary, ec).string();
  COFFER_RETURN_IF_ERROR(MakePrivateDirectory(options.dir));
  COFFER_ASSIGN_OR_RETURN(
      OwnerLock lock,
      OwnerLock::Acquire(
          options.dir + "/lock",
          absl::StrCat("the HSM provider directory ", options.dir)));
  Log("WARNING: local HSM provider in %s is DEVELOPMENT ONLY, INSECURE: its "
      "factory MKBK, service CA key and AKBK components are plain files "
      "there; never put real keys in the HSMs it makes",
      options.dir.c_str());
  COFFER_ASSIGN_OR_RETURN(internal::DevMaterial dev,
                          internal::OpenDevMaterial(options.dir));
  COFFER_RETURN_IF_ERROR(MakePrivateDirectory(options.dir + "/hsms"));
  RemoveStaleTempFiles(options.dir + "/hsms", kTempMarker, true);
  return std::make_unique<LocalHsmProvider>(std::move(options), std::move(lock),
                                            std::move(dev));
}

}  // namespace coffer::manager
