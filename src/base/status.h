// Error propagation helpers used at every module boundary.
//
// Errors are values: functions return absl::Status or absl::StatusOr<T>.
// Messages say what was wrong and what to do; they never carry secret bytes.
#ifndef COFFER_BASE_STATUS_H_
#define COFFER_BASE_STATUS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define COFFER_INTERNAL_CONCAT_(a, b) a##b
#define COFFER_INTERNAL_CONCAT(a, b) COFFER_INTERNAL_CONCAT_(a, b)

// Returns from the enclosing function if `expr` yields a non-OK status.
#define COFFER_RETURN_IF_ERROR(expr)                                  \
  do {                                                                \
    if (::absl::Status coffer_status_ = (expr); !coffer_status_.ok()) \
        [[unlikely]] {                                                \
      return coffer_status_;                                          \
    }                                                                 \
  } while (false)

// `COFFER_ASSIGN_OR_RETURN(auto x, MakeX());` declares or assigns `x` from a
// StatusOr, or returns its error from the enclosing function.
#define COFFER_ASSIGN_OR_RETURN(lhs, rexpr) \
  COFFER_INTERNAL_ASSIGN_OR_RETURN(         \
      COFFER_INTERNAL_CONCAT(coffer_statusor_, __LINE__), lhs, rexpr)

#define COFFER_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                     \
  if (!tmp.ok()) [[unlikely]] {                           \
    return std::move(tmp).status();                       \
  }                                                       \
  lhs = *std::move(tmp)

#endif  // COFFER_BASE_STATUS_H_
