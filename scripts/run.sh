#!/usr/bin/env bash
# The main job: builds everything, runs the crypto self-test, then a
# narrated scenario on a local Coffer cluster started by `coffer up` (a
# coffer-manager with 2 coffer-hsm processes on loopback, activated with a
# generated customer CA): keys and signatures, a third HSM joining, an
# on-demand backup, an HSM killed with kill -9 and replaced by the manager,
# a new cluster made from the backup signing with the same key. Then a
# standalone development HSM's offline backup checks, and the benchmarks.
# Extra arguments go to the crypto benchmark (e.g. --benchmark_repetitions=3).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/build.sh release
bin="$PWD/build/release"
export PATH="$bin/src/cli:$bin/src/node:$bin/src/manager:$PATH"

echo "== crypto self-test =="
"$bin/src/crypto/coffer-selftest"

dir=$(mktemp -d /tmp/coffer-run-XXXXXX)
cleanup() {
  coffer down --dir "$dir/cluster" >/dev/null 2>&1 || true
  coffer dev-hsm down --dir "$dir/dev" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
say() { printf '\n-- %s\n' "$*"; }
# hsm_field CLUSTER FIELD [STATE]: FIELD of each HSM of CLUSTER (in STATE).
hsm_field() {
  coffer hsm list --cluster "$1" --all --output json | python3 -c '
import json, sys
field, state = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
for h in json.load(sys.stdin)["hsms"]:
    if not state or h["state"] == state:
        print(h[field])' "$2" "${3:-}"
}

echo "== a local cluster: coffer-manager + 2 HSMs, activated (coffer up) =="
coffer up --dir "$dir/cluster" --hsms 2
. "$dir/cluster/env"
cluster="$COFFER_CLUSTER_ID"
set -x
coffer cluster describe "$cluster"
coffer hsm list --cluster "$cluster"
set +x

say "keys and signatures: the CLI reaches the cluster's HSMs through the manager"
set -x
coffer login --credentials-file "$COFFER_CU_CREDENTIALS"
coffer key generate-asymmetric --type ec-p256 --label demo-signing
coffer key generate-symmetric --type aes --bits 256 --label demo-aes
echo "an important message" > "$dir/message.txt"
coffer crypto sign --label demo-signing --mechanism ecdsa-sha256 \
  --in "$dir/message.txt" --out "$dir/message.sig"
coffer crypto encrypt --label demo-aes --mechanism aes-gcm \
  --in "$dir/message.txt" --out "$dir/message.enc"
set +x

say "a third HSM joins: a fresh backup, restored into a new HSM, caught up from the cluster log"
set -x
coffer hsm create --cluster "$cluster"
coffer hsm list --cluster "$cluster"
set +x
newest=$(hsm_field "$cluster" endpoint ACTIVE | tail -1)
say "the key made before it joined works through the new HSM ($newest)"
set -x
coffer --hsm "$newest" --session-file "$dir/new-hsm.session" login \
  --credentials-file "$COFFER_CU_CREDENTIALS"
coffer --hsm "$newest" --session-file "$dir/new-hsm.session" crypto verify \
  --label demo-signing --mechanism ecdsa-sha256 \
  --in "$dir/message.txt" --signature "$dir/message.sig"
coffer --hsm "$newest" --session-file "$dir/new-hsm.session" crypto decrypt \
  --label demo-aes --mechanism aes-gcm --in "$dir/message.enc"
set +x

say "a backup on demand, archived envelope-encrypted under the region's KMS key"
set -x
coffer backup create --cluster "$cluster"
coffer backup list --cluster "$cluster"
set +x
backup=$(coffer backup list --cluster "$cluster" --output json | python3 -c '
import json, sys
print([b for b in json.load(sys.stdin)["backups"] if b["state"] == "READY"][-1]["backup_id"])')

victim=$(hsm_field "$cluster" hsm_id ACTIVE | head -1)
say "kill -9 HSM $victim and watch the manager replace it (health checks every 2 s)"
kill -9 "$(cat "$dir/cluster/manager/hsms/hsms/$victim/pid")"
start=$(date +%s%N)
last=""
for _ in $(seq 1 300); do
  now=$(coffer hsm list --cluster "$cluster" --all)
  if [ "$now" != "$last" ]; then echo "$now"; echo; last="$now"; fi
  if [ "$(hsm_field "$cluster" state | grep -c '^ACTIVE$')" = 3 ] &&
     hsm_field "$cluster" hsm_id DELETED | grep -qx "$victim"; then
    break
  fi
  sleep 0.2
done
awk -v a="$start" -v b="$(date +%s%N)" \
  'BEGIN { printf "replaced: 3 HSMs ACTIVE again %.1f s after the kill\n", (b - a) / 1e9 }'
set -x
# The CLI's HSM may have been the one that died: log in again.
coffer login --credentials-file "$COFFER_CU_CREDENTIALS"
coffer key list
coffer crypto verify --label demo-signing --mechanism ecdsa-sha256 \
  --in "$dir/message.txt" --signature "$dir/message.sig"
set +x

say "a new cluster from backup $backup: no initialization, just an HSM"
set -x
coffer cluster create --region local --source-backup "$backup"
set +x
restored=$(coffer cluster list --output json | python3 -c '
import json, sys
print([c for c in json.load(sys.stdin)["clusters"] if c["source_backup_id"] == sys.argv[1]][-1]["cluster_id"])' "$backup")
set -x
coffer hsm create --cluster "$restored"
set +x
sed "s/$cluster/$restored/" "$COFFER_CONFIG" > "$dir/restored.json"
python3 - "$dir/restored.json" "$dir/restored.session" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1])); doc["session_file"] = sys.argv[2]
json.dump(doc, open(sys.argv[1], "w"), indent=2)
PY
say "the same key signs in the new cluster ($restored)"
set -x
COFFER_CONFIG="$dir/restored.json" coffer login \
  --credentials-file "$COFFER_CU_CREDENTIALS"
COFFER_CONFIG="$dir/restored.json" coffer crypto sign --label demo-signing \
  --mechanism ecdsa-sha256 --in "$dir/message.txt" --out "$dir/restored.sig"
# ... and the original cluster verifies that signature: one key, two clusters.
coffer crypto verify --label demo-signing --mechanism ecdsa-sha256 \
  --in "$dir/message.txt" --signature "$dir/restored.sig"
coffer logout
set +x
coffer down --dir "$dir/cluster"

echo "== a standalone development HSM: a backup file checked offline, restored =="
coffer dev-hsm up --dir "$dir/dev"
export COFFER_CONFIG="$dir/dev/config.json"
set -x
coffer login --credentials-file "$dir/dev/cu.credentials"
coffer key generate-asymmetric --type ec-p256 --label demo-signing
coffer crypto sign --label demo-signing --mechanism ecdsa-sha256 \
  --in "$dir/message.txt" --out "$dir/dev-message.sig"
coffer logout
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
  --in "$dir/message.txt" --signature "$dir/dev-message.sig"
coffer logout
set +x
coffer dev-hsm down --dir "$dir/dev"

echo "== crypto benchmark (Coffer wrappers vs raw OpenSSL EVP) =="
"$bin/bench/crypto_bench" "$@"
echo "== HSM benchmark (raw OpenSSL / in process / wire API) =="
"$bin/bench/hsm_bench" --seconds 2
echo "== backup benchmark (create/restore of 1k/10k objects vs raw OpenSSL KWP; bench.sh runs 100k) =="
"$bin/bench/backup_bench" --quick
echo "== cluster benchmark (add an HSM to a cluster of 1k/10k keys; kill -9 to replacement ACTIVE) =="
"$bin/bench/cluster_bench" --keys 1000,10000 --runs 1
