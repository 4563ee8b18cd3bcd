// Power-on self-test, as an HSM runs before it serves anything: a
// known-answer test of every primitive (NIST CAVP and RFC vectors compiled
// in) and a pairwise-consistency test of each key type.
#ifndef COFFER_CRYPTO_SELF_TEST_H_
#define COFFER_CRYPTO_SELF_TEST_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace coffer::crypto {

struct SelfTestResult {
  std::string name;     // e.g. "AES-256-KWP wrap KAT"
  absl::Status status;  // OK, or what differed
};

// Runs every self-test; never stops at the first failure.
std::vector<SelfTestResult> RunSelfTests();

// OK only if every self-test passed; else the first failure, by name.
absl::Status SelfTestsPass();

}  // namespace coffer::crypto

#endif  // COFFER_CRYPTO_SELF_TEST_H_
