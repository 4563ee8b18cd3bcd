// Locating and reading test data. A missing file is an error the test must
// report as a failure, never a reason to skip.
#ifndef COFFER_TESTING_TEST_FILES_H_
#define COFFER_TESTING_TEST_FILES_H_

#include <string>

#include "absl/status/statusor.h"

namespace coffer::testing {

// The project's testdata/ folder: $COFFER_TESTDATA_DIR (set by CTest), else
// the path baked in at build time.
std::string TestDataDir();

// The NIST CAVP vectors shipped by Debian's python3-cryptography-vectors
// package (the cryptography_vectors/ folder), located through
// $COFFER_NIST_VECTORS_DIR, else the package's installed path.
std::string NistVectorsDir();

// Reads a whole file. NotFound names the path and how to get the file.
absl::StatusOr<std::string> ReadTestFile(const std::string& path);

}  // namespace coffer::testing

#endif  // COFFER_TESTING_TEST_FILES_H_
