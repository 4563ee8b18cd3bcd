#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build/fuzz, -DCOFFER_FUZZ=ON),
# generates a seed corpus of real backups, and fuzzes the backup decoder and
# restore path (backup_fuzz), then the record decoders beneath them
# (records_fuzz), each for a bounded time. Exits non-zero on any crash, leak,
# timeout or broken invariant, and prints the reproducer's path.
#   COFFER_FUZZ_SECONDS  how long to fuzz backup_fuzz (default 60)
#   COFFER_FUZZ_RECORDS_SECONDS  how long to fuzz records_fuzz (default 20)
#   COFFER_FUZZ_KEEP     a directory to keep the grown corpus in (optional)
# Reproduce a crash: build/fuzz/fuzz/backup_fuzz CRASH_FILE
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${COFFER_FUZZ_SECONDS:-60}"
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOFFER_BUILD_BENCH=OFF \
  -DCOFFER_FUZZ=ON >/dev/null
cmake --build build/fuzz --target backup_fuzz records_fuzz
fuzzer="$PWD/build/fuzz/fuzz/backup_fuzz"
records_fuzzer="$PWD/build/fuzz/fuzz/records_fuzz"

work="$(mktemp -d "${TMPDIR:-/tmp}/coffer-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/seeds" "$work/corpus" "$work/records" "$work/artifacts" \
  "$work/tmp"
# The harness's HSMs live under TMPDIR; a crash cannot leave them behind.
export TMPDIR="$work/tmp"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

echo "== fuzz: seed corpus =="
# -runs=0: LLVMFuzzerInitialize writes the seeds, then nothing is fuzzed.
COFFER_FUZZ_SEED_DIR="$work/seeds" "$fuzzer" -runs=0 >"$work/seed.log" 2>&1 ||
  { cat "$work/seed.log"; echo "fuzz.sh: seeding failed" >&2; exit 1; }
ls -l "$work/seeds"

echo "== fuzz: backup_fuzz for ${seconds}s =="
# New inputs go to the first directory (a scratch one), so the seeds stay
# as generated; -artifact_prefix puts crash files where we can find them.
# The per-input NEW/REDUCE lines and the dictionary are dropped from the
# log; pulses and the final stats stay.
set +e
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=25 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
  "$work/corpus" "$work/seeds" 2>&1 |
  grep -v '^#[0-9]*[[:space:]]*\(NEW\|REDUCE\)\|^[[:space:]]*NEW_FUNC\|# Uses: [0-9]*$'
rc="${PIPESTATUS[0]}"
records_seconds="${COFFER_FUZZ_RECORDS_SECONDS:-20}"
echo "== fuzz: records_fuzz for ${records_seconds}s =="
"$records_fuzzer" -max_total_time="$records_seconds" -rss_limit_mb=2048 \
  -timeout=25 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
  "$work/records" 2>&1 |
  grep -v '^#[0-9]*[[:space:]]*\(NEW\|REDUCE\)\|^[[:space:]]*NEW_FUNC\|# Uses: [0-9]*$'
records_rc="${PIPESTATUS[0]}"
[ "$rc" -ne 0 ] || rc="$records_rc"
set -e
if [ -n "${COFFER_FUZZ_KEEP:-}" ]; then
  mkdir -p "$COFFER_FUZZ_KEEP" && cp -r "$work/corpus/." "$COFFER_FUZZ_KEEP/"
fi
if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
  mkdir -p build/fuzz/crashes
  cp "$work/artifacts/"* build/fuzz/crashes/ 2>/dev/null || true
  echo "fuzz.sh: FAILED (exit $rc); reproducers:" >&2
  ls -1 "$PWD"/build/fuzz/crashes/* >&2 2>/dev/null || true
  exit 1
fi
echo "fuzz.sh: no crash in ${seconds}s + ${records_seconds}s"
