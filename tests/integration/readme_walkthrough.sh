#!/usr/bin/env bash
# readme_walkthrough.sh - the newcomer's path, tested: `make run`'s script creates dev governance
# material and starts the registry; scripts/demo.sh runs the README's walkthrough block against
# it; a committed version arrives on `svcr watch`; the registry stops by PID.
set -u
. "$(dirname "$0")/lib.sh"
cd "$SVCR_ROOT"
work=$(mktemp -d)
pid=
cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# Ports below the kernel's ephemeral range (32768+), so no outgoing connection holds one; a
# port that still fails to bind is retried with another.
up=0
for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 12000))
    export SVCR_DEV_DIR="$work/dev" SVCR_BIND_ADDR="127.0.0.1:$port"
    export SVCR_STORAGE_DATA_DIR="$work/registry"
    scripts/run_local.sh --log-level warn >"$work/run.out" 2>"$work/run.err" &
    pid=$!
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && { up=1; break; }
        sleep 0.1
    done
    [[ $up -eq 1 ]] && break
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=
    echo "# attempt $attempt on port $port failed: $(tail -1 "$work/run.err")"
done
check "make run's script starts the registry" test $up -eq 1
[[ $up -eq 1 ]] || sed 's/^/# /' "$work/run.err" | tail -5
check "it created signer keys 0600 in a 0700 dir" \
    test "$(stat -c %a "$work/dev")" = 700 -a "$(stat -c %a "$work/dev/alpha.key")" = 600
check "it printed the walkthrough commands" grep -q 'build/svcr propose' "$work/run.out"
DEV="$work/dev" SVCR_URL="http://127.0.0.1:$port" scripts/demo.sh >"$work/demo.out" 2>&1
rc=$?
check "scripts/demo.sh (the README block) exits 0" test $rc -eq 0
[[ $rc -eq 0 ]] || sed 's/^/# /' "$work/demo.out" | head -30
check "the watcher saw version 1 arrive" grep -q 'version 1' "$work/dev/watch.log"
check "HEAD is version 1" \
    grep -q '"version":1' <(curl -s "http://127.0.0.1:$port/registry/head")
check "verify-remote agreed" grep -q '^ok' "$work/demo.out"
tap_done
