#!/usr/bin/env bash
# bench_coldstart.sh - cold start to read-ready, server RSS, verify-store speed (SPEC §14).
# usage: scripts/bench_coldstart.sh [RESULTS_FILE]   (JSON lines appended; default stdout)
# env: BENCH_COLDSTART_VERSIONS (100000), BENCH_COLDSTART_SIZE (1024 bytes of payload),
#      BENCH_COLDSTART_RUNS (3), BENCH_COLDSTART_SSE (1000 idle SSE clients),
#      BENCH_COLDSTART_SERVER_ARGS (extra server flags, e.g. "--storage-verify-last-k 100").
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench-coldstart
. scripts/lib_bench.sh
out=${1:-/dev/stdout}
N=${BENCH_COLDSTART_VERSIONS:-100000}
SIZE=${BENCH_COLDSTART_SIZE:-1024}
RUNS=${BENCH_COLDSTART_RUNS:-3}
SSE=${BENCH_COLDSTART_SSE:-1000}
for b in build/svc-registry build/svcr build/bench/gen_store build/bench/bench_coldstart; do
    [[ -x $b ]] || {
        echo "bench_coldstart: $b missing: make build && make BUILD=build $b" >&2
        exit 1
    }
done


ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "# bench_coldstart: building a store of $N versions of ~$SIZE B (real pipeline)" >&2
t0=$SECONDS
build/bench/gen_store "$work" "$N" --size "$SIZE" >"$work/gen.json" &
gen=$!
pids+=("$gen")
while kill -0 "$gen" 2>/dev/null; do
    sleep 5
    kill -0 "$gen" 2>/dev/null || break
    done_v=""
    if command -v mdb_stat >/dev/null && [[ -f $work/store/data.mdb ]]; then
        done_v=$(mdb_stat -s versions "$work/store" 2>/dev/null |
            awk '/Entries:/ { print $2 }') || true
    fi
    size_mb=$(($(stat -c %s "$work/store/data.mdb" 2>/dev/null || echo 0) / 1048576))
    echo "#   $((SECONDS - t0)) s: ${done_v:-?}/$N versions, data.mdb ${size_mb} MiB" >&2
done
wait "$gen"
cat "$work/gen.json" >&2
cat "$work/gen.json" >>"$out"
fs=$(df -T "$work" | awk 'NR == 2 { print $2 }')
echo "# store: $(du -sh "$work/store" | cut -f1) on $fs" >&2

P=$(free_port)
extra=()
for a in ${BENCH_COLDSTART_SERVER_ARGS:-}; do extra+=(--server-arg "$a"); done
rc=0
build/bench/bench_coldstart --server build/svc-registry --svcr build/svcr \
    --data-dir "$work/store" --port "$P" --runs "$RUNS" --sse-clients "$SSE" \
    --server-log "$work/server.log" "${extra[@]}" >"$work/cs.jsonl" || rc=$?
cat "$work/cs.jsonl" >>"$out"
if [[ -s $work/server.log ]]; then
    echo "# server log (warnings):" >&2
    tail -n 20 "$work/server.log" >&2
fi
exit "$rc"
