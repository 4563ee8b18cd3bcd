#!/usr/bin/env bash
# The main job: builds everything, runs the crypto self-test, starts a
# standalone development HSM (coffer-hsm on 127.0.0.1) and does real work
# on it through the `coffer` CLI, then runs the benchmarks: the crypto
# wrappers against raw OpenSSL, the HSM's operations raw / in process /
# through its wire API, and backup create/restore against raw KWP. The
# cluster (manager, sync) comes with issue 5; this job grows into that demo.
# Extra arguments go to the crypto benchmark (e.g. --benchmark_repetitions=3).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/build.sh release
bin="$PWD/build/release"
export PATH="$bin/src/cli:$bin/src/node:$PATH"

echo "== crypto self-test =="
"$bin/src/crypto/coffer-selftest"

echo "== a development HSM doing real work =="
dir=$(mktemp -d /tmp/coffer-run-XXXXXX)
cleanup() { coffer dev-hsm down --dir "$dir/dev" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
coffer dev-hsm up --dir "$dir/dev"
export COFFER_CONFIG="$dir/dev/config.json"
set -x
coffer hsm-info
coffer login --credentials-file "$dir/dev/cu.credentials"
coffer key generate-asymmetric --type ec-p256 --label demo-signing
coffer key generate-symmetric --type aes --bits 256 --label demo-aes
echo "an important message" > "$dir/message.txt"
coffer crypto sign --label demo-signing --mechanism ecdsa-sha256 \
  --in "$dir/message.txt" --out "$dir/message.sig"
coffer crypto verify --label demo-signing --mechanism ecdsa-sha256 \
  --in "$dir/message.txt" --signature "$dir/message.sig"
coffer crypto encrypt --label demo-aes --mechanism aes-gcm \
  --in "$dir/message.txt" --out "$dir/message.enc"
coffer crypto decrypt --label demo-aes --mechanism aes-gcm \
  --in "$dir/message.enc"
coffer key list
coffer logout
set +x

echo "== a backup made inside the HSM, checked offline, restored =="
set -x
coffer login --credentials-file "$dir/dev/admin.credentials"
coffer hsm backup --out "$dir/hsm.backup"
coffer logout
# Offline, with no secret: structure, seal-covered counts, the source HSM's
# signature and its certificate's chain to the manufacturer (factory) CA.
coffer backup verify "$dir/hsm.backup" --manufacturer-ca "$dir/dev/factory/ca.pem"
coffer backup inspect "$dir/hsm.backup"
# A key made after the backup; the restore takes the HSM back without it.
coffer login --credentials-file "$dir/dev/cu.credentials"
coffer key generate-symmetric --type aes --bits 128 --label after-backup
coffer key list
coffer logout
coffer login --credentials-file "$dir/dev/admin.credentials"
coffer hsm restore --in "$dir/hsm.backup" --force
# Every session ended with the restore: log in again, same users and keys.
coffer login --credentials-file "$dir/dev/cu.credentials"
coffer key list
coffer crypto verify --label demo-signing --mechanism ecdsa-sha256 \
  --in "$dir/message.txt" --signature "$dir/message.sig"
coffer logout
set +x
coffer dev-hsm down --dir "$dir/dev"

echo "== crypto benchmark (Coffer wrappers vs raw OpenSSL EVP) =="
"$bin/bench/crypto_bench" "$@"
echo "== HSM benchmark (raw OpenSSL / in process / wire API) =="
"$bin/bench/hsm_bench" --seconds 2
echo "== backup benchmark (create/restore of 1k/10k objects vs raw OpenSSL KWP; bench.sh runs 100k) =="
"$bin/bench/backup_bench" --quick
