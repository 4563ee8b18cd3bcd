#include "testing/test_files.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace coffer::testing {
namespace {

std::string FromEnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return (value != nullptr && *value != '\0') ? value : fallback;
}

}  // namespace

std::string TestDataDir() {
  return FromEnvOr("COFFER_TESTDATA_DIR", COFFER_DEFAULT_TESTDATA_DIR);
}

std::string NistVectorsDir() {
  return FromEnvOr("COFFER_NIST_VECTORS_DIR",
                   "/usr/lib/python3/dist-packages/cryptography_vectors");
}

absl::StatusOr<std::string> ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(
        "cannot open test vector file ", path,
        " (run scripts/install-deps.sh: it installs the Debian package "
        "python3-cryptography-vectors)"));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace coffer::testing
