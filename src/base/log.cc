#include "base/log.h"

#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace coffer {

void Log(const char* format, ...) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  char line[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(line, sizeof(line), format, args);
  va_end(args);
  std::fprintf(stderr, "%s %s\n", stamp, line);
}

}  // namespace coffer
