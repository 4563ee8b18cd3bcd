// Integration-test helpers: a development HSM made by `coffer dev-hsm up`
// in a temporary directory (coffer-hsm runs as a separate process on a
// loopback port chosen at run time), and `coffer` run as a subprocess
// against it. Every process is stopped when the DevHsm goes away, even when
// the test failed.
#ifndef COFFER_TESTS_INTEGRATION_DEV_HSM_FIXTURE_H_
#define COFFER_TESTS_INTEGRATION_DEV_HSM_FIXTURE_H_

#include <sys/types.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"

namespace coffer::integration {

using Json = nlohmann::json;
using testing::ProcessResult;

// Paths of the binaries under test (CMake passes them in).
std::string CofferBin();
std::string HsmBin();

// An environment for children: ours without COFFER_* and XDG_RUNTIME_DIR,
// plus COFFER_HSM_BIN and `extra`.
std::vector<std::string> ChildEnv(const std::vector<std::string>& extra = {});
// ChildEnv for a `coffer` process: with the LeakSanitizer suppressions of
// tests/integration/lsan_cli.supp.
std::vector<std::string> CliEnv(std::vector<std::string> extra = {});

// Runs `coffer args...` (no config unless args name one).
ProcessResult RunCoffer(const std::vector<std::string>& args,
                        const std::string& stdin_data = "");

class DevHsm {
 public:
  // `coffer dev-hsm up --dir <tmp>/dev --mode MODE`.
  static absl::StatusOr<std::unique_ptr<DevHsm>> Up(
      const std::string& mode = "non-fips");
  ~DevHsm();  // `dev-hsm down`, then SIGKILL if it is still running

  const std::string& dir() const { return dir_; }
  std::string File(const std::string& name) const { return dir_ + "/" + name; }
  pid_t pid() const;  // from hsm.pid
  int port() const { return port_; }

  // `coffer --config config.json --session-file <dir>/<session>.session
  // [--hsm override] args...`. `service` uses service.json instead.
  ProcessResult Coffer(const std::vector<std::string>& args,
                       const std::string& stdin_data = "",
                       const std::string& session = "main") const;
  ProcessResult Service(const std::vector<std::string>& args,
                        const std::string& stdin_data = "") const;
  // The same with --output json; parses stdout (null if not JSON).
  Json CofferJson(const std::vector<std::string>& args,
                  const std::string& session = "main",
                  ProcessResult* result = nullptr) const;

  // Passwords from the credentials files dev-hsm up wrote.
  std::string AdminPassword() const;
  std::string CuUser() const;
  std::string CuPassword() const;

  // Logs `user` in to `session` with --password-stdin; returns the result.
  ProcessResult Login(const std::string& user, const std::string& password,
                      const std::string& session = "main") const;
  // Admin login in session "admin", then `user create`.
  ProcessResult CreateCryptoUser(const std::string& name,
                                 const std::string& password) const;

  // The CU's objects as `coffer key list` shows them in `session`, as
  // "handle label" strings (empty if the listing failed, which is also
  // reported as a test failure).
  std::set<std::string> KeyList(const std::string& session = "main") const;
  // The state `hsm-info` reports over the service's connection (which
  // also works while TAMPERED), or "unreachable".
  std::string StateName() const;
  // Logs the dev CU in to session "main"; true on success (a failure is
  // also reported as a test failure).
  bool LogInCu() const;

  // For tests that restart the daemon themselves: the address all later
  // commands use (passed as --hsm).
  void set_hsm_override(const std::string& hsm) { hsm_override_ = hsm; }

 private:
  DevHsm() = default;
  std::vector<std::string> Base(const std::string& config,
                                const std::string& session) const;
  testing::TempDir temp_;
  std::string dir_;
  int port_ = 0;
  std::string hsm_override_;
};

// Reads a whole file; "" if it cannot.
std::string ReadAll(const std::string& path);
void WriteAll(const std::string& path, const std::string& data);

}  // namespace coffer::integration

#endif  // COFFER_TESTS_INTEGRATION_DEV_HSM_FIXTURE_H_
