#!/usr/bin/env bash
# bench.sh - runs the benchmarks side by side with their anchors, in one invocation, and writes
# a table to stdout and bench/results/latest.json. Figures are ratios to anchors of the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
out=bench/results/latest.json
mkdir -p bench/results
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
secs=${BENCH_SECONDS:-2}

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"

# --- BLAKE3: in-process, through `svcr b3`, and b3sum --no-mmap, on the same files ------------
"$B/bench/bench_crypto" "$secs" >"$work/crypto.jsonl"

# mbps CMD...: runs CMD three times, prints the best MB/s over $bytes (median is noisier here).
mbps() {
    local best=0 t
    for _ in 1 2 3; do
        t=$( { TIMEFORMAT=%R; time "$@" >/dev/null 2>&1; } 2>&1 | tail -1)
        best=$(awk -v b="$best" -v t="$t" -v n="$bytes" \
            'BEGIN { r = (t > 0 ? n / t / 1e6 : 0); print (r > b ? r : b) }')
    done
    echo "$best"
}
rows=()
for spec in 1024:4096 65536:1024 1048576:128; do
    size=${spec%%:*}
    count=${spec##*:}
    mkdir -p "$work/s$size"
    for i in $(seq 1 "$count"); do head -c "$size" /dev/urandom >"$work/s$size/$i"; done
    bytes=$((size * count))
    ours=$(grep "\"size\":$size," "$work/crypto.jsonl" | sed -E 's/.*"bytes_per_s":([0-9.]+).*/\1/')
    ours_mb=$(awk -v x="$ours" 'BEGIN { printf "%.0f", x / 1e6 }')
    cli_mb=$(cd "$work/s$size" && mbps "$OLDPWD/$B/svcr" b3 $(seq 1 "$count"))
    b3sum_mb=$(cd "$work/s$size" && mbps b3sum --no-mmap $(seq 1 "$count"))
    rows+=("$(printf '{"bench":"blake3","size":%s,"inproc_MBps":%s,"svcr_b3_MBps":%.0f,' \
        "$size" "$ours_mb" "$cli_mb")$(printf '"b3sum_no_mmap_MBps":%.0f,"ratio_cli_vs_b3sum":%.2f}' \
        "$b3sum_mb" "$(awk -v a="$cli_mb" -v b="$b3sum_mb" 'BEGIN { print (b > 0 ? a / b : 0) }')")")
    printf '%-28s in-process %6s MB/s | svcr b3 %6.0f MB/s | b3sum --no-mmap %6.0f MB/s | ratio %.2f\n' \
        "blake3 $size B x $count" "$ours_mb" "$cli_mb" "$b3sum_mb" \
        "$(awk -v a="$cli_mb" -v b="$b3sum_mb" 'BEGIN { print (b > 0 ? a / b : 0) }')"
done
verify=$(grep ed25519 "$work/crypto.jsonl" | sed -E 's/.*"per_s":([0-9.]+).*/\1/')
printf '%-28s %8.0f verifies/s (%.1f us each; SPEC anchor ~57 us)\n' "ed25519 approval verify" \
    "$verify" "$(awk -v v="$verify" 'BEGIN { print 1e6 / v }')"
rows+=("{\"bench\":\"ed25519_approval_verify\",\"per_s\":$verify}")

# --- the other sections: each appends JSON lines to $lines --------------------------------------
lines="$work/lines.jsonl"
: >"$lines"
for r in "${rows[@]}"; do echo "$r" >>"$lines"; done
section() { echo; echo "== $1"; }
section "governance cycles in-process (bench_pipeline: K = 1, 8, 64; LMDB, fsync on)"
"$B/bench/bench_pipeline" "${PIPELINE_SECONDS:-5}" | tee -a "$lines"
section "etcd durable puts (anchor for durable writes)"
scripts/bench_etcd_puts.sh "$lines"
section "reads: registry vs nginx (same bytes) vs etcd range (wrk -t2)"
scripts/bench_reads.sh "$lines"
if [[ -x scripts/bench_sse.sh ]]; then
    section "SSE fan-out"
    scripts/bench_sse.sh "$lines"
fi
if [[ -x scripts/bench_coldstart.sh ]]; then
    section "cold start and full verification"
    scripts/bench_coldstart.sh "$lines"
fi
{
    echo "{\"date\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"cores\":$(nproc),\"results\":["
    paste -sd, "$lines"
    echo "]}"
} >"$out"
echo
echo "# wrote $out"
