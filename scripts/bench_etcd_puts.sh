#!/usr/bin/env bash
# bench_etcd_puts.sh - the durable-write anchor: etcd 3.4 puts of a ~1 KiB value through its JSON
# gateway (every put is fsync'd to etcd's WAL, batched across concurrent clients), with 1 and
# 64 concurrent clients, SECS seconds each. Appends JSON lines to $1.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench-etcd
. scripts/lib_bench.sh
out=${1:-/dev/stdout}
SECS=${BENCH_PUT_SECONDS:-5}
EP=$(free_port)
EPP=$(free_port)
etcd --name bench --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$EP" \
    --advertise-client-urls "http://127.0.0.1:$EP" --listen-peer-urls "http://127.0.0.1:$EPP" \
    --initial-advertise-peer-urls "http://127.0.0.1:$EPP" \
    --initial-cluster "bench=http://127.0.0.1:$EPP" >"$work/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$EP/version" && break; sleep 0.1; done
key=$(printf 'registry/bench' | base64 -w0)
value=$(head -c 768 /dev/urandom | base64 -w0) # 1 KiB once base64'd, like a payload
cat >"$work/put.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$key","value":"$value"}'
wrk.headers["Content-Type"] = "application/json"
LUA
for spec in "1 1" "2 64"; do
    set -- $spec
    line=$(wrk "-t$1" "-c$2" "-d${SECS}s" --latency -s "$work/put.lua" \
        "http://127.0.0.1:$EP/v3/kv/put" 2>/dev/null | awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                         if (v ~ /s$/) return v * 1000; return v }
        /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } /^Requests\/sec:/ { rps = $2 }
        END { printf "%.0f %.3f %.3f", rps, p50, p99 }')
    read -r rps p50 p99 <<<"$line"
    printf 'etcd durable put  clients %-3s %8s puts/s  p50 %s ms  p99 %s ms\n' "$2" "$rps" "$p50" "$p99"
    echo "{\"bench\":\"etcd_put\",\"clients\":$2,\"puts_per_s\":$rps,\"p50_ms\":$p50,\"p99_ms\":$p99}" >>"$out"
done
