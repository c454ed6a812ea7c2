#!/usr/bin/env bash
# run-tests.sh - runs every test the build produced and prints one closing tally.
#
# Suites: unit tests (cmocka, TAP output) in build/tests and again under ASan+UBSan in
# build/san/tests; black-box scripts in tests/integration (they print TAP "ok"/"not ok" lines);
# a short libFuzzer smoke run of every fuzz target. The last line is "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

export SVCR_VECTORS_DIR="${SVCR_VECTORS_DIR:-$(cd .. && pwd)/shared/vectors}"
export SVCR_ROOT="$PWD"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
pass=0
fail=0
failed_names=()
logdir=build/test-logs
mkdir -p "$logdir"

# count_tap NAME LOGFILE STATUS: adds the TAP results of one suite to the tally.
count_tap() {
    local name=$1 log=$2 status=$3 p f
    p=$(grep -cE '^ok [0-9]+|^ok -' "$log")
    f=$(grep -cE '^not ok' "$log")
    if [[ $status -ne 0 && $f -eq 0 ]]; then
        f=1 # crashed or exited non-zero without a TAP failure line: still a failure
        echo "not ok - $name exited with status $status" >>"$log"
    fi
    pass=$((pass + p))
    fail=$((fail + f))
    if [[ $f -gt 0 ]]; then
        failed_names+=("$name")
        printf '%-44s %4d passed, %d FAILED  (log: %s)\n' "$name" "$p" "$f" "$log"
        grep -E '^not ok|^# ' "$log" | head -20 | sed 's/^/    /'
    else
        printf '%-44s %4d passed\n' "$name" "$p"
    fi
}

run_unit_dir() {
    local dir=$1 tag=$2 t name log
    for t in "$dir"/test_*; do
        [[ -x $t ]] || continue
        name="$tag$(basename "$t")"
        log="$logdir/${name//\//_}.log"
        CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log" 2>&1
        count_tap "$name" "$log" $?
        grep -E '^# vectors:' "$log" | sed 's/^/    /'
    done
}

echo "== formatting (clang-format 14, .clang-format)"
log="$logdir/format.log"
scripts/check-format.sh >"$log" 2>&1
count_tap "format/clang-format" "$log" $?
log="$logdir/calls.log"
if scripts/check-calls.sh >"$log" 2>&1; then
    echo "ok - no two files of one module call each other" >>"$log"
    count_tap "structure/module-calls" "$log" 0
else
    count_tap "structure/module-calls" "$log" 1
fi

echo "== unit tests"
run_unit_dir build/tests ""
echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    run_unit_dir build/san/tests "san/"

echo "== black-box tests (the real binary on loopback)"
for t in build/itests/test_*; do
    [[ -x $t ]] || continue
    name="itest/$(basename "$t")"
    log="$logdir/${name//\//_}.log"
    SVCR_BIN="$PWD/build/svc-registry" CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log" 2>&1
    count_tap "$name" "$log" $?
done
for t in build/san/itests/test_*; do
    [[ -x $t ]] || continue
    name="itest-san/$(basename "$t")"
    log="$logdir/${name//\//_}.log"
    ASAN_OPTIONS=detect_leaks=1 SVCR_BIN="$PWD/build/san/svc-registry" \
        CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log" 2>&1
    count_tap "$name" "$log" $?
done
for s in tests/integration/*.sh; do
    [[ $(basename "$s") == lib.sh ]] && continue
    [[ -f $s ]] || continue
    name="integration/$(basename "$s" .sh)"
    log="$logdir/${name//\//_}.log"
    bash "$s" >"$log" 2>&1
    count_tap "$name" "$log" $?
done

echo "== fuzz smoke (${FUZZ_SECONDS}s each)"
for f in build/fuzz/fuzz_*; do
    [[ -x $f ]] || continue
    name="fuzz/$(basename "$f")"
    log="$logdir/${name//\//_}.log"
    corpus_src="fuzz/corpus/$(basename "$f" | sed 's/^fuzz_//')"
    work=$(mktemp -d)
    [[ -d $corpus_src ]] && cp -r "$corpus_src"/. "$work"/ 2>/dev/null
    if "$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -artifact_prefix="$logdir/" \
        "$work" >"$log" 2>&1; then
        echo "ok - $name ($(grep -oE 'Done [0-9]+ runs' "$log" | tail -1))" >>"$log"
        count_tap "$name" "$log" 0
    else
        count_tap "$name" "$log" 1
    fi
    rm -rf "$work"
done

echo
if [[ $fail -gt 0 ]]; then
    echo "failed suites: ${failed_names[*]}"
fi
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
