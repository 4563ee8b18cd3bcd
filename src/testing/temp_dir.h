// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
// when the object goes out of scope, even if the test failed.
#ifndef COFFER_TESTING_TEMP_DIR_H_
#define COFFER_TESTING_TEMP_DIR_H_

#include <string>
#include <vector>

namespace coffer::testing {

class TempDir {
 public:
  TempDir();  // aborts the test binary if no directory can be made
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string File(const std::string& name) const;
  // Every regular file below path(), recursively.
  std::vector<std::string> ListFiles() const;

 private:
  std::string path_;
};

}  // namespace coffer::testing

#endif  // COFFER_TESTING_TEMP_DIR_H_
