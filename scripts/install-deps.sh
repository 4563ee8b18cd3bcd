#!/usr/bin/env bash
# Installs every Debian 12 package Coffer needs to build, test and benchmark.
# Idempotent: when everything is already installed it changes nothing and
# does not touch the network. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config clang-format git
  # libraries
  libssl-dev openssl libabsl-dev nlohmann-json3-dev libsqlite3-dev
  protobuf-compiler libprotobuf-dev libcli11-dev
  # gRPC for the manager's control-plane API (proto/CMakeLists.txt)
  libgrpc++-dev protobuf-compiler-grpc
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # NIST CAVP vectors (key wrap, SP 800-108) for the known-answer tests
  python3-cryptography-vectors
  # an independent implementation of the backup format's test vector
  # (testdata/backup/check-vectors.py)
  python3-cryptography
  # libFuzzer (scripts/fuzz.sh): clang 14 and its runtime libraries
  # (libclang_rt.fuzzer, asan, ubsan: only recommended by clang-14, and we
  # install without recommends)
  clang libclang-rt-14-dev
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
      grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
