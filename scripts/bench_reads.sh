#!/usr/bin/env bash
# bench_reads.sh - read benchmarks side by side in one run: svc-registry vs nginx serving the
# identical bytes as static files vs etcd 3.4's JSON-gateway range read. wrk -t2, keep-alive,
# 64 and 256 connections, ROUNDS alternating rounds of SECS seconds; medians reported.
# Writes JSON lines to $1 (results file) and a table to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench-reads
. scripts/lib_bench.sh
out=${1:-/dev/stdout}
SECS=${BENCH_READ_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}


# --- the registry: 2 versions, ~1 KiB and ~64 KiB ---------------------------------------------
build/bench/gen_store "$work/reg" 2 --size 1024 --last-size 65536 >/dev/null
RP=$(free_port)
build/svc-registry --bind "127.0.0.1:$RP" --data-dir "$work/reg/store" --log-level warn \
    2>"$work/reg.log" &
pids+=($!)
wait_http "http://127.0.0.1:$RP/healthz"
mkdir -p "$work/www/registry"
curl -s "http://127.0.0.1:$RP/registry/head" >"$work/www/registry/head"
curl -s "http://127.0.0.1:$RP/registry/1" >"$work/www/registry/1"
curl -s "http://127.0.0.1:$RP/registry/2" >"$work/www/registry/2"

# --- nginx serving the same bytes -------------------------------------------------------------
NP=$(free_port)
cat >"$work/nginx.conf" <<CONF
worker_processes 2;
user $(id -un);
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 60;
    default_type application/json;
    server {
        listen 127.0.0.1:$NP;
        root $work/www;
    }
}
CONF
nginx -c "$work/nginx.conf" -p "$work" 2>>"$work/nginx-error.log" &
pids+=($!)
wait_http "http://127.0.0.1:$NP/registry/head"
cmp -s <(curl -s "http://127.0.0.1:$NP/registry/2") "$work/www/registry/2"

# --- etcd 3.4 with the head bytes under one key -----------------------------------------------
EP=$(free_port)
EPP=$(free_port)
etcd --name bench --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$EP" \
    --advertise-client-urls "http://127.0.0.1:$EP" --listen-peer-urls "http://127.0.0.1:$EPP" \
    --initial-advertise-peer-urls "http://127.0.0.1:$EPP" \
    --initial-cluster "bench=http://127.0.0.1:$EPP" >"$work/etcd.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$EP/version"
ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$EP" put registry/head \
    "$(cat "$work/www/registry/head")" >/dev/null
key=$(printf 'registry/head' | base64 -w0)
cat >"$work/range.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$key"}'
wrk.headers["Content-Type"] = "application/json"
LUA

# run NAME URL CONNS [SCRIPT]: one wrk round; prints "rps p50_ms p99_ms"
run() {
    local url=$2 conns=$3 script=${4:-}
    local args=(-t2 "-c$conns" "-d${SECS}s" --latency)
    [[ -n $script ]] && args+=(-s "$script")
    wrk "${args[@]}" "$url" 2>/dev/null | awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                         if (v ~ /s$/) return v * 1000; return v }
        /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
        /^Requests\/sec:/ { rps = $2 }
        END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }'
}

declare -A res
targets=(
    "reg_head|http://127.0.0.1:$RP/registry/head|"
    "nginx_head|http://127.0.0.1:$NP/registry/head|"
    "reg_v1k|http://127.0.0.1:$RP/registry/1|"
    "nginx_v1k|http://127.0.0.1:$NP/registry/1|"
    "reg_v64k|http://127.0.0.1:$RP/registry/2|"
    "nginx_v64k|http://127.0.0.1:$NP/registry/2|"
    "etcd_range|http://127.0.0.1:$EP/v3/kv/range|$work/range.lua"
)
for round in $(seq 1 "$ROUNDS"); do
    for conns in 64 256; do
        for t in "${targets[@]}"; do
            IFS='|' read -r name url script <<<"$t"
            res["$name,$conns,$round"]=$(run "$name" "$url" "$conns" "$script")
        done
    done
done

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
stat_of() { # NAME CONNS FIELD(1 rps, 2 p50, 3 p99) -> median over rounds
    for r in $(seq 1 "$ROUNDS"); do echo "${res[$1,$2,$r]}" | cut -d' ' -f"$3"; done | median
}
printf '%-12s %5s %10s %9s %9s\n' target conns req/s p50_ms p99_ms
for conns in 64 256; do
    for t in "${targets[@]}"; do
        name=${t%%|*}
        rps=$(stat_of "$name" "$conns" 1)
        p50=$(stat_of "$name" "$conns" 2)
        p99=$(stat_of "$name" "$conns" 3)
        printf '%-12s %5s %10s %9s %9s\n' "$name" "$conns" "$rps" "$p50" "$p99"
        echo "{\"bench\":\"reads\",\"target\":\"$name\",\"conns\":$conns,\"rps\":$rps,\"p50_ms\":$p50,\"p99_ms\":$p99}" >>"$out"
    done
    for pair in head v1k v64k; do
        r=$(stat_of "reg_$pair" "$conns" 1)
        n=$(stat_of "nginx_$pair" "$conns" 1)
        printf '  ratio registry/nginx %-5s @%s: %s\n' "$pair" "$conns" \
            "$(awk -v a="$r" -v b="$n" 'BEGIN { printf "%.2f", a / b }')"
    done
    r=$(stat_of reg_head "$conns" 1)
    e=$(stat_of etcd_range "$conns" 1)
    printf '  ratio registry head / etcd range @%s: %s\n' "$conns" \
        "$(awk -v a="$r" -v b="$e" 'BEGIN { printf "%.2f", a / b }')"
done
