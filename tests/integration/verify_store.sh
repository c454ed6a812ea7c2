#!/usr/bin/env bash
# verify_store.sh - `svcr verify-store` through the real binary: a store built by the pipeline
# verifies (text and --json) without being written to; a byte flipped inside a stored artifact
# fails naming its version; a missing store and bad usage exit 2.
set -u
. "$(dirname "$0")/lib.sh"
MAKER="$SVCR_ROOT/build/tests/test_store_verify" # builds a store when SVCR_MAKE_STORE is set
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LC_ALL=C # byte offsets in a binary file

if ! SVCR_MAKE_STORE="$work/store" "$MAKER" >"$work/make.out" 2>&1; then
    not_ok "a store is built through the pipeline ($(head -c 300 "$work/make.out"))"
    tap_done
fi
ok "a store is built through the pipeline ($(head -1 "$work/make.out"))"

# --- an intact store -------------------------------------------------------------------------
cp "$work/store/data.mdb" "$work/data.before"
"$SVCR" verify-store "$work/store" >"$work/out" 2>"$work/err"
rc=$?
check "verify-store exits 0 on an intact store" test $rc -eq 0
ok_line='^ok: 12 versions, [0-9]+ audit records, head b3:[0-9a-f]{64} \([0-9.]+ s, [0-9]+ versions/s\)$'
check "it prints one ok: line with the counts, the head and the rate" grep -qE "$ok_line" "$work/out"
check "it prints exactly one line" test "$(wc -l <"$work/out")" -eq 1
check "it writes nothing into data.mdb" cmp -s "$work/data.before" "$work/store/data.mdb"
echo "# $(cat "$work/out")"

"$SVCR" verify-store --json "$work/store" >"$work/json" 2>"$work/err"
rc=$?
check "--json exits 0 on an intact store" test $rc -eq 0
check "--json says ok with 12 versions" \
    grep -qE '^\{"ok":true,"versions":12,"audit_records":[0-9]+,"head_version":12,' "$work/json"

"$SVCR" verify-store --threads 1 "$work/store" >"$work/out" 2>&1
check "--threads 1 verifies too" test $? -eq 0

# --- one flipped byte inside version 5's artifact ---------------------------------------------
cp -a "$work/store" "$work/bad"
# The marker is a service id of version 5 only; it sits in the artifact (and in the proposal
# record and maybe in stale pages, which verify-store does not read): flip every occurrence.
offsets=$(grep -oba 'svc:0-v5"' "$work/bad/data.mdb" | cut -d: -f1)
check "the payload marker is found in data.mdb" test -n "$offsets"
for off in $offsets; do
    printf 't' | dd of="$work/bad/data.mdb" bs=1 seek="$off" conv=notrunc status=none
done
"$SVCR" verify-store "$work/bad" >"$work/out" 2>"$work/err"
rc=$?
check "verify-store exits 1 on a tampered store" test $rc -eq 1
check "it prints FAIL naming version 5" \
    grep -qE '^FAIL: version 5: artifact bytes do not match their stored hash \(' "$work/out"
check "it prints exactly one line on failure" test "$(wc -l <"$work/out")" -eq 1
echo "# $(cat "$work/out")"
"$SVCR" verify-store --json "$work/bad" >"$work/json" 2>&1
rc=$?
check "--json exits 1 on a tampered store" test $rc -eq 1
check "--json names failed_version 5" grep -qE '"ok":false.*"failed_version":5' "$work/json"

# --- no store, bad usage ----------------------------------------------------------------------
"$SVCR" verify-store "$work/none" >"$work/out" 2>"$work/err"
rc=$?
check "a missing directory exits 2 with a message" test $rc -eq 2 -a -s "$work/err"
check "a missing directory is not created" test ! -e "$work/none"
mkdir "$work/empty"
"$SVCR" verify-store "$work/empty" >/dev/null 2>&1
check "a directory without a store exits 2" test $? -eq 2
check "and stays empty" test -z "$(ls -A "$work/empty")"
"$SVCR" verify-store >/dev/null 2>&1
check "no DATA_DIR exits 2" test $? -eq 2
"$SVCR" verify-store --frobnicate "$work/store" >/dev/null 2>&1
check "an unknown option exits 2" test $? -eq 2
"$SVCR" verify-store "$work/store" "$work/bad" >/dev/null 2>&1
check "two directories exit 2" test $? -eq 2
"$SVCR" verify-store --help >"$work/out" 2>&1
rc=$?
check "--help exits 0" test $rc -eq 0
check "--help shows the usage" grep -q '^usage: svcr verify-store' "$work/out"
check "svcr --help lists verify-store" sh -c "'$SVCR' --help | grep -q verify-store"
tap_done
