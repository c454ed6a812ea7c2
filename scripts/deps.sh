#!/usr/bin/env bash
# deps.sh - install exactly the Debian 12 packages this project needs that are missing.
#
# Usage: scripts/deps.sh [build|test|bench]   (default: test)
# Idempotent and silent when nothing is missing. Needs root (or sudo) only when it installs.
set -euo pipefail

profile="${1:-test}"

# What compiling and running the registry needs.
build_pkgs=(
    gcc make pkg-config
    libmicrohttpd-dev libgnutls28-dev libjansson-dev libsodium-dev liblmdb-dev
    libmacaroons-dev libcurl4-openssl-dev zlib1g-dev libsqlite3-dev libpq-dev
    librust-blake3-dev
)
# What the test suite needs on top: unit-test framework, the independent BLAKE3 tool,
# clang + its runtime for libFuzzer and the sanitizers, curl for black-box tests, python3 for
# the scripted hostile registry of svcr_hostile.sh and `script` (bsdutils) for its terminal,
# and Debian 12's clang-format (14), the one the tree is formatted with (scripts/check-format.sh).
test_pkgs=(libcmocka-dev b3sum clang clang-format libclang-rt-14-dev curl python3 bsdutils)
# Benchmark anchors and load generators.
bench_pkgs=(wrk nginx-light etcd-server etcd-client)

case "$profile" in
build) want=("${build_pkgs[@]}") ;;
test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
bench) want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
*)
    echo "deps.sh: unknown profile '$profile' (build|test|bench)" >&2
    exit 2
    ;;
esac

missing=()
for p in "${want[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "deps.sh: missing packages (${missing[*]}) and not root; install them as root" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
