#!/usr/bin/env bash
# cli_jcs.sh - `svcr jcs` and `svcr payload-b3` through the real binary: the RFC 8785 vectors,
# agreement with b3sum over the canonical bytes, and exit status 2 with a message on bad input.
set -u
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

n=0
for in in "$VECTORS"/jcs/input/*.json; do
    name=$(basename "$in")
    "$SVCR" jcs "$in" >"$work/out" 2>"$work/err"
    check "svcr jcs $name matches the vector byte for byte" cmp -s "$work/out" \
        "$VECTORS/jcs/output/$name"
    "$SVCR" jcs - <"$VECTORS/jcs/output/$name" >"$work/again"
    check "svcr jcs is the identity on canonical $name" cmp -s "$work/again" \
        "$VECTORS/jcs/output/$name"
    n=$((n + 1))
done
echo "# vectors: jcs cli pairs $n"

cat >"$work/payload.json" <<'JSON'
{ "version": 1, "prev_hash": "b3:0000000000000000000000000000000000000000000000000000000000000000",
  "items": [ { "kind": "region", "id": "eu-west" },
             { "kind": "service", "id": "svc:alpha", "endpoint": "https://alpha.local", "meta": {} } ],
  "created_at": "2026-11-25T12:00:00Z" }
JSON
want="b3:$("$SVCR" jcs "$work/payload.json" | b3sum --no-names)"
check "svcr payload-b3 is b3sum of the canonical bytes" \
    test "$("$SVCR" payload-b3 "$work/payload.json")" = "$want"
check "svcr payload-b3 reads stdin" \
    test "$("$SVCR" payload-b3 - <"$work/payload.json")" = "$want"
check "svcr payload-b3 ignores formatting" \
    test "$("$SVCR" jcs "$work/payload.json" | "$SVCR" payload-b3 -)" = "$want"

expect_usage_error() { # NAME VERB INPUT
    printf '%s' "$3" >"$work/bad"
    "$SVCR" "$2" "$work/bad" >"$work/out" 2>"$work/err"
    local rc=$?
    if [[ $rc -eq 2 && -s "$work/err" && ! -s "$work/out" ]]; then ok "$1"; else
        not_ok "$1 (status $rc, stderr: $(head -c 200 "$work/err"))"
    fi
}
expect_usage_error "duplicate keys are rejected" jcs '{"a":1,"a":2}'
expect_usage_error "invalid JSON is rejected" jcs '{"a":'
expect_usage_error "invalid UTF-8 is rejected" jcs $'["\xff"]'
expect_usage_error "overflowing number is rejected" jcs '[1e400]'
expect_usage_error "payload-b3 refuses a non-object" payload-b3 '[1,2]'
expect_usage_error "payload-b3 refuses duplicate keys" payload-b3 '{"version":1,"version":2}'
"$SVCR" jcs /nonexistent >/dev/null 2>&1
check "missing file exits 2" test $? -eq 2
"$SVCR" jcs >/dev/null 2>&1
check "missing argument exits 2" test $? -eq 2
"$SVCR" no-such-verb >/dev/null 2>&1
check "unknown verb exits 2" test $? -eq 2
check "svcr --help exits 0" "$SVCR" --help
tap_done
