#!/usr/bin/env bash
# perf_sweep.sh - read sweep for operators: offered load from 500 req/s up to the maximum
# against a running registry (default http://127.0.0.1:8080/registry/head), 64 keep-alive
# connections, wrk with a per-request delay to hold each offered rate. Prints achieved req/s and
# latency percentiles per step.
#   usage: scripts/perf_sweep.sh [URL] [SECONDS_PER_STEP]
set -euo pipefail
URL=${1:-http://127.0.0.1:8080/registry/head}
SECS=${2:-5}
CONNS=64
command -v wrk >/dev/null || { echo "perf_sweep: wrk is not installed (scripts/deps.sh bench)" >&2; exit 2; }
curl -sf -o /dev/null "$URL" || { echo "perf_sweep: $URL does not answer" >&2; exit 2; }
lua=$(mktemp)
trap 'rm -f "$lua"' EXIT
printf '%-10s %10s %9s %9s %9s\n' offered achieved p50_ms p90_ms p99_ms
for rate in 500 1000 2000 5000 10000 20000 40000 max; do
    if [[ $rate == max ]]; then
        : >"$lua"
    else # each connection waits CONNS*1000/rate ms between requests
        echo "function delay() return $((CONNS * 1000 / rate)) end" >"$lua"
    fi
    wrk -t2 "-c$CONNS" "-d${SECS}s" --latency -s "$lua" "$URL" 2>/dev/null | awk -v r="$rate" '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                         if (v ~ /s$/) return v * 1000; return v }
        /^ +50%/ { p50 = ms($2) } /^ +90%/ { p90 = ms($2) } /^ +99%/ { p99 = ms($2) }
        /^Requests\/sec:/ { rps = $2 }
        END { printf "%-10s %10.0f %9.3f %9.3f %9.3f\n", r, rps, p50, p90, p99 }'
done
