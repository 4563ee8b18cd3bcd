#!/usr/bin/env bash
# Builds the crypto benchmark in Release mode and runs it, comparing Coffer's
# crypto wrappers with the same operations on raw OpenSSL; then the backup
# benchmark (create/restore of 1k, 10k and 100k objects against the raw KWP
# ceiling), then the cluster benchmark (add an HSM to a cluster of 1k and
# 10k keys; kill -9 to replacement ACTIVE; 3 runs each). Arguments are
# passed to the crypto benchmark, e.g.
#   scripts/bench.sh --benchmark_min_time=0.05 --benchmark_repetitions=2
#   scripts/bench.sh --benchmark_filter=KWP
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build/release --target crypto_bench backup_bench cluster_bench
build/release/bench/crypto_bench "$@"
build/release/bench/backup_bench
exec build/release/bench/cluster_bench --keys 1000,10000 --runs 3
