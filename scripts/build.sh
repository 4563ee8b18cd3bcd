#!/usr/bin/env bash
# Configures and builds one flavour of the tree.
#   scripts/build.sh release   -> build/release (optimised, with benchmarks)
#   scripts/build.sh test      -> build/test    (tests, warnings as errors)
#   scripts/build.sh asan      -> build/asan    (AddressSanitizer + UBSan)
# Extra arguments are passed to `cmake --build` (e.g. --target crypto_bench).
set -euo pipefail
cd "$(dirname "$0")/.."

flavour="${1:-release}"
shift || true
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=Release) ;;
  test)    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOFFER_BUILD_BENCH=OFF) ;;
  asan)    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOFFER_BUILD_BENCH=OFF
                 -DCOFFER_SANITIZE=ON) ;;
  *) echo "build.sh: unknown flavour '$flavour' (release|test|asan)" >&2; exit 2 ;;
esac

# ccache: share hits between clones of the tree (CI builds a fresh clone).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
# Two cores: two compile jobs keep memory and the machine responsive.
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
cmake -S . -B "build/$flavour" -G Ninja "${args[@]}" >/dev/null
cmake --build "build/$flavour" "$@"
