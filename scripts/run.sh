#!/usr/bin/env bash
# The main job. Until the cluster lands (issues 3-5) it is the crypto core's
# power-on self-test followed by its benchmark against raw OpenSSL.
# Arguments are passed to the benchmark (e.g. --benchmark_repetitions=3).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/build.sh release
echo "== crypto self-test =="
build/release/src/crypto/coffer-selftest
echo "== crypto benchmark (Coffer wrappers vs raw OpenSSL EVP) =="
build/release/bench/crypto_bench "$@"
