#!/usr/bin/env bash
# svcr_hostile.sh - svcr against a hostile registry (issue 21): a scripted fake server
# (fake_registry.py) serves forged text, forged or unverifiable bases, oversized answers and
# streams, and a rollback; the test asserts what a person sees (approve on a pty), that nothing
# is signed on a base that does not verify, that reads are bounded, that watch reports what it
# must not follow, and where the capability token goes.
set -u
. "$(dirname "$0")/lib.sh"
export LC_ALL=C # byte-level greps
unset SVCR_URL SVCR_TOKEN SVCR_TRUST_ROOTS
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
fx=$work/fx
fake=
bg=

cleanup() {
    [[ -n "$bg" ]] && kill "$bg" 2>/dev/null
    [[ -n "$fake" ]] && kill "$fake" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

if ! command -v python3 >/dev/null 2>&1 || ! command -v script >/dev/null 2>&1; then
    ok "svcr against a hostile registry # SKIP python3 or script(1) not installed"
    tap_done
fi
mkdir -p "$fx"
if ! python3 "$here/fake_registry.py" build "$fx" "$SVCR" 2>"$work/build.err"; then
    not_ok "the fixtures build ($(head -c 300 "$work/build.err"))"
    tap_done
fi
python3 "$here/fake_registry.py" serve "$fx" >"$fx/port" 2>"$work/serve.err" &
fake=$!
for _ in $(seq 50); do [[ -s "$fx/port" ]] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$fx/port")"
. "$fx/ids.env"
cd "$fx" || exit 1
chmod 600 a.key b.key c.key
printf 'T0KEN-in-a-file\n' >tok600 && chmod 600 tok600
printf 'T0KEN-in-a-file\n' >tok644 && chmod 644 tok644

# scenario NAME: the fake server answers from routes.NAME.json from now on; the log restarts.
scenario() {
    cp "routes.$1.json" routes.json
    : >requests.log
}
posted() { grep -q '^POST /registry/approvals/' requests.log; }
# run WANT CMD...: CMD's output in out/err, status in $rc; 0 when the status is WANT.
run() {
    local want=$1
    shift
    "$@" >out 2>err </dev/null
    rc=$?
    [[ $rc -eq $want ]]
}
expect() {
    local name=$1
    shift
    if run "$@"; then ok "$name"; else not_ok "$name (status $rc, stderr: $(head -c 300 err))"; fi
}
has() { grep -qF -- "$2" "$1"; }
# clean FILE...: none of the bytes a terminal acts on or that reorder text: ESC, BEL, CR, DEL,
# U+009B (CSI), U+202E (RLO), U+200B (zero width space).
clean() {
    local f
    for f in "$@"; do
        grep -q $'\x1b\|\x07\|\r\|\x7f\|\xc2\x9b\|\xe2\x80\xae\|\xe2\x80\x8b' "$f" && return 1
    done
    return 0
}
# rss_run CMD...: like run with no wanted status; the peak RSS of CMD (KiB) goes to $rss. Under
# AddressSanitizer freed blocks stay in its quarantine: the client's own memory is measured.
rss_run() {
    read -r rc rss < <(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" python3 -c '
import resource, subprocess, sys
with open("out", "wb") as o, open("err", "wb") as e:
    rc = subprocess.call(sys.argv[1:], stdout=o, stderr=e, stdin=subprocess.DEVNULL)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@")
}

# --- 1. approve on a terminal: forged text in item ids -----------------------------------------
scenario good
printf 'n\n' | script -qec "'$SVCR' approve $P3 --key a.key --url $URL" /dev/null >pty.raw 2>&1
pty_rc=$?
sed 's/\r$//' pty.raw >pty.out # the pty ends each line with CR LF
check "approve on a pty, declined, exits 1" test $pty_rc -eq 1
check "an LF in an id is shown as \\n, on one line" \
    grep -qxF '  + service x\n  (no item changes)\n' pty.out
check "CR + ESC[2K in an id is shown escaped" grep -qxF '  + service y\r\u001b[2K' pty.out
check "ESC[8m (conceal) is shown escaped" grep -qxF '  + service z\u001b[8m' pty.out
check "an OSC title sequence is shown escaped" grep -qxF '  + service w\u001b]0;title\u0007' pty.out
check "a bidi override (U+202E) is shown escaped" grep -qxF '  + service x\u202egnp.exe' pty.out
check "no raw ESC, BEL, CR inside a line, DEL, C1 or bidi character reached the terminal" \
    clean pty.out
check "no forged '(no item changes)' line" sh -c "! grep -qx '  (no item changes)' pty.out"
check "the removal of svc:beta is visible" grep -qx '  - service svc:beta' pty.out
check "the signer-set change is visible" grep -qx '  ~ signer_set governance' pty.out
check "it says how HEAD was verified" \
    grep -q '^HEAD version 2 verified against the signer set of version 1 as served' pty.out
check "declined: no approval was posted" sh -c "! grep -q '^POST /registry/approvals/' requests.log"

# --- 2. approve and draft verify the base first ------------------------------------------------
scenario good
expect "approve --yes --trust-roots on a genuine chain signs" 0 \
    "$SVCR" approve "$P3" --key a.key --yes --trust-roots roots.json --token-file tok600 \
    --url "$URL"
check "after verifying HEAD from the trust roots" \
    has out 'HEAD version 2 verified from the trust roots (versions 1..2)'
check "and posts the approval" posted
check "the token went with the approval (a write)" \
    grep -q "^POST /registry/approvals/$P3 auth=yes" requests.log
check "and with none of the reads" sh -c "! grep -q '^GET .* auth=yes' requests.log"

refused() { # NAME SCENARIO ID REASON [ARGS...]: approve exits 1, says why, posts nothing
    local name=$1 sc=$2 id=$3 why=$4
    shift 4
    scenario "$sc"
    expect "approve refuses $name (exit 1)" 1 \
        "$SVCR" approve "$id" --key a.key --yes --url "$URL" "$@"
    check "  saying: $why" grep -qE -- "$why" err
    check "  nothing shown as the change set" sh -c "! grep -q 'changes versus' out"
    check "  and no approval posted" sh -c "! grep -q '^POST /registry/approvals/' requests.log"
}
refused "a base whose payload does not hash to its payload_b3" tampered "$P3" \
    "HEAD version 2 does not verify: version 2: payload_b3 does not match the payload's hash"
refused "a proposal whose prev_hash is not the base's hash" good "$PX" \
    "prev_hash b3:[0-9a-f]{64} is not the verified HEAD's payload_b3 $B2"
refused "the proposal's own payload served as version 2 ('(no item changes)')" base-is-p3 "$P3" \
    "HEAD version 2 does not verify: version 2: version field does not match its position"
refused "the proposal's own payload served, signed, as HEAD version 3" base-is-p3-v3 "$P3" \
    "the proposal is for version 3 but the verified HEAD is version 3"
refused "a base approved by a signer outside the governing set" badsig "$P3" \
    "HEAD version 2 does not verify: version 2: an approval's signer is not valid in its era"
refused "a chain forged from version 1 when given the trust roots" forged "$PF" \
    "HEAD version 2 does not verify: version 1: an approval's signer is not valid" \
    --trust-roots roots.json

printf '{"items":[{"kind":"region","id":"eu-west"}]}\n' >items.json
scenario tampered
expect "draft refuses a base that does not verify (exit 1)" 1 "$SVCR" draft items.json --url "$URL"
check "  and prints no payload" test ! -s out
check "  saying why" has err 'HEAD version 2 does not verify'
scenario good
expect "draft on a genuine base" 0 "$SVCR" draft items.json --url "$URL"
check "  prints version 3 with prev_hash = HEAD's hash" \
    python3 -c "import json, sys; d = json.load(open('out')); sys.exit(not (d['version'] == 3
and d['prev_hash'] == '$B2' and len(d['items'][0]['signers']) == 2))"

# --- 1 (every verb): text from the wire is escaped, --json stays valid JSON --------------------
scenario hostile-reads
python3 -c '
import base64
def pkt(k, v):
    body = k + b" " + v + b"\n"
    return b"%04x" % (len(body) + 4) + body
t = (pkt(b"location", b"svc-registry\x1b]0;x\x07") + pkt(b"identifier", b"k1\xe2\x80\xae") +
     pkt(b"cid", b"scope = registry:approve\x1b[2J\r") + pkt(b"signature", b"\0" * 32))
print(base64.urlsafe_b64encode(t).decode().rstrip("="))' >hostile.token
reads=("head" "head --json" "get 2" "get --json 2" "get 9" "get --json 9" "proposals"
    "proposals --json" "proposals $P3" "audit" "audit --json" "diff 1 2" "diff --json 1 2"
    "commit $P3" "freeze because" "cap inspect -" "cap inspect --json -")
for v in "${reads[@]}"; do
    conn=(--url "$URL" --token-file tok600)
    [[ $v == cap* ]] && conn=() # offline: the token comes from standard input
    # shellcheck disable=SC2086 # the verb and its arguments are words
    "$SVCR" $v "${conn[@]}" <hostile.token >out 2>err
    check "svcr $v prints no raw control, bidi or invisible character" clean out err
    check "svcr $v shows the escapes" grep -qiF '\u001b' out err
    if [[ $v == *--json* ]]; then
        check "svcr $v prints valid JSON" python3 -c 'import json; json.load(open("out"))'
        check "svcr $v escapes U+202E as \\u202e in JSON" grep -qF '\u202e' out
    fi
done
scenario hostile-watch
for j in "" --json; do
    # shellcheck disable=SC2086
    "$SVCR" watch $j --max-events 2 --timeout 5s --url "$URL" >out 2>err
    check "svcr watch $j prints no raw control or bidi character" clean out err
    check "svcr watch $j shows the escapes" grep -qF '\u001b' out
done
check "svcr watch --json prints one valid JSON object per line" \
    python3 -c 'import json; [json.loads(l) for l in open("out")]'

# --- 9, 10. bounded reads ------------------------------------------------------------------------
scenario big-head
rss_run "$SVCR" head --url "$URL"
check "head refuses a 300 MiB answer (exit 1)" test "$rc" -eq 1
check "  naming the 64 MiB limit" has err 'larger than the 64 MiB limit'
check "  with a peak RSS under 64 MiB (was 312 MiB; $((rss / 1024)) MiB)" test "$rss" -lt 65536
scenario big-chunked
rss_run "$SVCR" verify-remote --trust-roots roots.json --url "$URL"
check "verify-remote refuses a 300 MiB chunked artifact (exit 1)" test "$rc" -eq 1
check "  naming the limit" has err 'larger than the 64 MiB limit'
check "  with a peak RSS under 128 MiB ($((rss / 1024)) MiB)" test "$rss" -lt 131072
scenario bigevent
rss_run "$SVCR" watch --timeout 8s --url "$URL"
check "watch stops on one event of 300 lines of 1 MiB (exit 1)" test "$rc" -eq 1
check "  saying the event is over 1 MiB" has err 'an event of the stream is larger than 1 MiB'
check "  with a peak RSS under 64 MiB (was 311 MiB; $((rss / 1024)) MiB)" test "$rss" -lt 65536
scenario bigline
expect "watch stops on a line over 1 MiB with exit 1, not 0" 1 \
    "$SVCR" watch --timeout 8s --url "$URL"
check "  saying so" has err 'a line of the stream is longer than 1 MiB'
check "  after printing the event before it" grep -q '^version 5 ' out

# --- 12. a rollback on the stream is reported, not followed ---------------------------------
scenario rollback
expect "watch exits 1 on a reconcile below the version seen" 1 \
    "$SVCR" watch --max-events 10 --timeout 6s --url "$URL"
check "  naming it a Rollback" \
    has err "Rollback: the registry's head is version 2, below version 5"
check "  after printing version 5 once" test "$(grep -c '^version 5 ' out)" -eq 1
check "  and printing nothing after it" test "$(wc -l <out)" -eq 1

# --- 11, 13. where the token goes -------------------------------------------------------------
scenario good
SVCR_TOKEN=env-token expect "head with SVCR_TOKEN set" 0 "$SVCR" head --url "$URL"
check "sends no token on a read" grep -q '^GET /registry/head auth=no' requests.log
scenario quiet-stream
"$SVCR" watch --token Secret-On-The-Command-Line --timeout 4s --url "$URL" >out 2>err &
bg=$!
for _ in $(seq 50); do grep -q '^GET /registry/stream' requests.log && break; sleep 0.1; done
tr '\0' ' ' <"/proc/$bg/cmdline" >cmdline 2>/dev/null
check "a --token value is gone from /proc/PID/cmdline once svcr runs" \
    sh -c "grep -q 'watch' cmdline && ! grep -q 'Secret-On-The-Command-Line' cmdline"
check "watch sends no token on the stream" grep -q '^GET /registry/stream auth=no' requests.log
wait "$bg"
bg=
"$SVCR" head --help >out
check "--help says --token is visible to other users and prefers --token-file" \
    sh -c "grep -q 'Visible to other users' out && grep -q 'prefer --token-file' out"
scenario good
expect "a token file readable by others is refused (exit 2)" 2 \
    "$SVCR" approve "$P3" --key a.key --yes --token-file tok644 --url "$URL"
check "  naming the file" has err 'tok644: token file is readable by group or other'
check "  before any request" test ! -s requests.log
tap_done
