# lib_bench.sh - helpers the benchmark scripts share (sourced, not run): a temp work dir under
# build/ with servers killed by PID on exit, free loopback ports, waiting for an HTTP answer.
# Set BENCH_NAME before sourcing.

mkdir -p build
work=$(mktemp -d "$PWD/build/${BENCH_NAME:-bench}.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { # a port nobody listens on, below the kernel's ephemeral range (32768+)
    local p
    while :; do
        p=$((20000 + RANDOM % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

wait_http() { # URL: waits up to 10 s for any HTTP answer
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "${BENCH_NAME:-bench}: $1 did not come up" >&2
    return 1
}
