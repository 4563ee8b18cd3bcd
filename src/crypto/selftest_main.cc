// coffer-selftest: runs the crypto module's power-on self-tests and prints
// one line per test. Exit status 0 only if every test passed.
#include <cstdio>

#include "crypto/crypto.h"

int main() {
  using coffer::crypto::RunSelfTests;
  (void)coffer::crypto::DisableCoreDumps();
  int failed = 0;
  int passed = 0;
  for (const auto& result : RunSelfTests()) {
    const bool ok = result.status.ok();
    std::printf("%-55s %s\n", result.name.c_str(), ok ? "ok" : "FAILED");
    if (!ok) {
      std::printf("    %s\n", result.status.ToString().c_str());
      ++failed;
    } else {
      ++passed;
    }
  }
  std::printf("self-test: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
