// Minimal logging for the daemons: one line per event on stderr, with a UTC
// timestamp. Never pass secrets; messages are operator-facing.
#ifndef COFFER_BASE_LOG_H_
#define COFFER_BASE_LOG_H_

namespace coffer {

void Log(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace coffer

#endif  // COFFER_BASE_LOG_H_
