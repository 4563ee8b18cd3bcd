#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test twice: once normally and
# once under AddressSanitizer + UndefinedBehaviorSanitizer, then fuzzes the
# backup decoder (scripts/fuzz.sh). Also checks that the sources are
# clang-formatted. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== format check (clang-format) =="
git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror

run_suite() {
  local flavour="$1"
  echo "== build ($flavour) =="
  bash scripts/build.sh "$flavour"
  echo "== tests ($flavour) =="
  local rc=0
  (cd "build/$flavour" && ctest --output-on-failure -j2) || rc=$?
  # The known-answer tests print how many vectors they checked.
  grep -h '^\[vectors\]' "build/$flavour/Testing/Temporary/LastTest.log" || true
  return "$rc"
}

export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

status=0
run_suite test || status=1
run_suite asan || status=1
# Decoders of untrusted bytes get fuzzed, for a bounded time (default 60 s).
echo "== fuzz (libFuzzer, ${COFFER_FUZZ_SECONDS:-60}s) =="
bash scripts/fuzz.sh || status=1
if [ "$status" -ne 0 ]; then
  echo "test.sh: FAILED (see the output above)"
fi
exit "$status"
