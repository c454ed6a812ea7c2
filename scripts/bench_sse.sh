#!/usr/bin/env bash
# bench_sse.sh - SSE fan-out (SPEC §14): commit -> delivery latency, missed events, server RSS.
# usage: scripts/bench_sse.sh [RESULTS_FILE]   (JSON lines appended; default stdout)
# env: BENCH_SSE_CLIENTS (10000), BENCH_SSE_COMMITS (20), BENCH_SSE_INTERVAL_MS (300),
#      BENCH_SSE_WINDOW (256 connections opening at once).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench-sse
. scripts/lib_bench.sh
out=${1:-/dev/stdout}
CLIENTS=${BENCH_SSE_CLIENTS:-10000}
COMMITS=${BENCH_SSE_COMMITS:-20}
INTERVAL=${BENCH_SSE_INTERVAL_MS:-300}
WINDOW=${BENCH_SSE_WINDOW:-256}
for b in build/svc-registry build/bench/gen_store build/bench/bench_sse; do
    [[ -x $b ]] || {
        echo "bench_sse: $b missing: make build && make BUILD=build $b" >&2
        exit 1
    }
done


# 10,000 streams need 10,000 descriptors in the server and in the client.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
need=$((CLIENTS + 256))
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $need ]]; then
    echo "bench_sse: open-file limit $(ulimit -n) < $need; lower BENCH_SSE_CLIENTS" >&2
    exit 1
fi

build/bench/gen_store "$work" 1 >/dev/null
umask 077
secret=$(head -c 32 /dev/urandom | base64 -w0)
printf '{"keys":[{"id":"k1","secret":"%s"}]}\n' "$secret" >"$work/root-keys.json"
chmod 600 "$work/root-keys.json"
umask 022

P=$(free_port)
build/svc-registry --bind "127.0.0.1:$P" --data-dir "$work/store" \
    --trust-roots "$work/trust-roots.json" --root-keys "$work/root-keys.json" \
    --max-conns $((CLIENTS + 2000)) --sse-max-clients $((CLIENTS + 100)) --log-level warn \
    2>"$work/server.log" &
spid=$!
pids+=("$spid")
wait_http "http://127.0.0.1:$P/healthz"

echo "# bench_sse: $CLIENTS clients, $COMMITS commits every ${INTERVAL} ms, server pid $spid," \
    "port $P, nofile $(ulimit -n), $(nproc) cores" >&2
rc=0
build/bench/bench_sse --port "$P" --clients "$CLIENTS" --commits "$COMMITS" \
    --interval-ms "$INTERVAL" --window "$WINDOW" --server-pid "$spid" \
    --root-keys "$work/root-keys.json" --trust-roots "$work/trust-roots.json" \
    >"$work/sse.jsonl" || rc=$?
cat "$work/sse.jsonl" >>"$out"
if ! kill -0 "$spid" 2>/dev/null; then
    echo "bench_sse: the server died; its log:" >&2
    cat "$work/server.log" >&2
    rc=1
elif [[ -s $work/server.log ]]; then
    echo "# server log (warnings):" >&2
    tail -n 20 "$work/server.log" >&2
fi
exit "$rc"
