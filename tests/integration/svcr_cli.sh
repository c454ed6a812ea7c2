#!/usr/bin/env bash
# svcr_cli.sh - every svcr verb against the real server, in human and --json output: keys and
# trust roots, capabilities, a 3-of-5 governance change, a signer rotation, a supersede,
# freeze/thaw, watch (with a server restart in between), diff, audit, proposals, get,
# verify-remote on an intact and on a tampered store, and bad usage (exit 2).
set -u
. "$(dirname "$0")/lib.sh"
export LC_ALL=C # byte offsets in a binary file
unset SVCR_URL SVCR_TOKEN
work=$(mktemp -d)
srv_pid=
port=
bg_pids=()

stop_server() {
    [[ -n "$srv_pid" ]] || return 0
    kill "$srv_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$srv_pid" 2>/dev/null
    wait "$srv_pid" 2>/dev/null
    srv_pid=
}
cleanup() {
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT

# start_server [PORT]: starts the registry on PORT (else a free port found by trying ports from
# a random start) and waits for /healthz. Returns 1 when no port worked.
start_server() {
    local try=${1:-$((20000 + RANDOM % 30000))} n
    for n in $(seq 20); do
        "$REGISTRY" --bind "127.0.0.1:$try" --data-dir "$work/data" --trust-roots "$work/roots.json" \
            --bootstrap-trust-roots-hash "$pin" --root-keys "$work/root-keys.json" \
            --log-level warn --shutdown-drain-deadline 1s >>"$work/server.log" 2>&1 &
        srv_pid=$!
        for _ in $(seq 50); do
            kill -0 "$srv_pid" 2>/dev/null || break
            if curl -sf "http://127.0.0.1:$try/healthz" >/dev/null 2>&1 &&
                kill -0 "$srv_pid" 2>/dev/null; then
                port=$try
                export SVCR_URL="http://127.0.0.1:$port"
                return 0
            fi
            sleep 0.1
        done
        stop_server
        try=$((try + 1 + n))
    done
    return 1
}

# run WANT CMD...: runs CMD with stdout/stderr in $work/out and $work/err, adds both to the
# transcript (checked for leaked tokens at the end) and returns 0 when its status is WANT.
run() {
    local want=$1
    shift
    "$@" >"$work/out" 2>"$work/err" </dev/null
    rc=$?
    { cat "$work/out" "$work/err"; } >>"$work/transcript"
    [[ $rc -eq $want ]]
}
# expect NAME WANT CMD...: run, then ok/not ok with the status and stderr on failure.
expect() {
    local name=$1
    shift
    if run "$@"; then ok "$name"; else
        not_ok "$name (status $rc, stderr: $(head -c 300 "$work/err"))"
    fi
}
out_has() { check "$1" grep -qE -- "$2" "$work/out"; }
err_has() { check "$1" grep -qE -- "$2" "$work/err"; }
# field NAME: the string member NAME of the JSON in $work/out (flat extraction, no jq).
field() { sed -n 's/.*"'"$1"'":"\([^"]*\)".*/\1/p' "$work/out" | head -1; }
head_b3() { "$SVCR" head --json | sed -n 's/.*"payload_b3":"\([^"]*\)".*/\1/p'; }

# payload VERSION PREV SETFILE ITEMS... : writes a payload JSON on stdout.
payload() {
    local v=$1 prev=$2 set=$3 items
    shift 3
    items=$(IFS=,; echo "$*")
    printf '{"version":%s,"prev_hash":"%s","items":[%s,%s]}\n' "$v" "$prev" "$(cat "$set")" "$items"
}
region='{"kind":"region","id":"eu-west"}'
zeros=b3:0000000000000000000000000000000000000000000000000000000000000000
t0=$(date +%s%N)

# --- keys and trust roots ------------------------------------------------------------------
cd "$work" || exit 1
expect "keygen writes a key and prints the signer entry" 0 \
    "$SVCR" keygen --signer-id 'org:alpha#key1' --out k1.json
out_has "keygen prints a public signer entry" '^\{"algo":"ed25519","public_key":"[A-Za-z0-9+/]{43}=","signer_id":"org:alpha#key1"\}$'
err_has "keygen says where the secret key went" 'wrote the secret key of org:alpha#key1 to k1.json'
check "keygen does not print the secret key" sh -c "! grep -q secret_key '$work/out'"
check "the key file is mode 0600" test "$(stat -c %a k1.json)" = 600
check "the key file holds a 32-byte seed" grep -qE '"secret_key":"[A-Za-z0-9+/]{43}="' k1.json
for i in 2 3 4 5; do
    "$SVCR" keygen --json --signer-id "org:o$i#key1" --out "k$i.json" >"k$i.pub" 2>"$work/err"
done
check "keygen --json prints only the entry" test ! -s "$work/err" -a -s k5.pub
expect "keygen refuses to overwrite a key file" 2 \
    "$SVCR" keygen --signer-id 'org:alpha#key1' --out k1.json
err_has "and says so" 'refusing to overwrite'

expect "trust-roots --m 3 --out writes the set" 0 \
    "$SVCR" trust-roots --m 3 --out roots.json k1.json k2.pub k3.pub k4.json k5.pub
pin=$(sed -n 's/^trust_roots_hash: //p' "$work/err")
check "trust-roots prints the pin on stderr" grep -qE '^b3:[0-9a-f]{64}$' <<<"$pin"
check "the pin is b3 of the set's canonical form" test "$("$SVCR" payload-b3 roots.json)" = "$pin"
check "the set holds five signers and quorum 3" \
    grep -qE '^\{"id":"governance","kind":"signer_set","quorum":\{"m":3\},"signers":\[(\{[^}]*\},?){5}\]\}$' roots.json
check "no secret key went into the set" sh -c "! grep -q secret_key roots.json"
expect "trust-roots --json prints the pin and the set" 0 \
    "$SVCR" trust-roots --json --m 3 k1.json k2.pub k3.pub k4.json k5.pub
check "--json's trust_roots_hash is the same pin" test "$(field trust_roots_hash)" = "$pin"
expect "trust-roots --ttl sets proposal_ttl_secs" 0 "$SVCR" trust-roots --m 1 --ttl 2h k1.json
out_has "as seconds" '"proposal_ttl_secs":7200'
expect "trust-roots refuses m above N" 2 "$SVCR" trust-roots --m 6 k1.json k2.pub k3.pub k4.json k5.pub
err_has "naming the quorum" 'quorum'

umask 077
printf '{"keys":[{"id":"k1","secret":"%s"}]}\n' "$(head -c 32 /dev/urandom | base64)" >root-keys.json
umask 022
if ! start_server; then
    not_ok "the registry starts with the svcr-made trust roots, pinned ($(tail -c 300 "$work/server.log"))"
    tap_done
fi
ok "the registry starts with the svcr-made trust roots, pinned by their hash (port $port)"

# --- capabilities --------------------------------------------------------------------------
all_scopes="registry:propose registry:approve registry:commit registry:supersede registry:operate"
TOKEN=$("$SVCR" cap mint --root-keys root-keys.json --key-id k1 --scope "$all_scopes" --ttl 1h)
check "cap mint prints a token" grep -qE '^[A-Za-z0-9_-]{100,}$' <<<"$TOKEN"
printf '%s\n' "$TOKEN" >token
chmod 600 token # a token file others can read is refused, like a key file
"$SVCR" cap mint --json --root-keys root-keys.json --key-id k1 --scope registry:propose \
    --scope registry:commit --ttl 10m >"$work/out"
check "cap mint --json prints token and expires_at" \
    grep -qE '^\{"expires_at":"[0-9T:-]+Z","token":"[A-Za-z0-9_-]+"\}$' "$work/out"
expect "cap inspect shows key id, location and caveats" 0 "$SVCR" cap inspect "$TOKEN"
out_has "key id k1" '^key id: +k1$'
out_has "location svc-registry" '^location: +svc-registry$'
out_has "the scope caveat" "^  scope = $all_scopes\$"
out_has "the expires caveat" '^  expires = [0-9T:-]+Z$'
expect "cap inspect --json" 0 "$SVCR" cap inspect --json "$TOKEN"
out_has "is auth_inspect's JSON" '^\{"key_id":"k1","location":"svc-registry","caveats":\["scope = .*"third_party_caveats":\[\]\}$'
APPROVE_ONLY=$("$SVCR" cap attenuate "$TOKEN" --scope registry:approve --signer 'org:alpha#key1')
check "cap attenuate prints a longer token" test ${#APPROVE_ONLY} -gt ${#TOKEN}
"$SVCR" cap inspect - <<<"$APPROVE_ONLY" >"$work/out"
out_has "the attenuated token carries the new scope caveat" '^  scope = registry:approve$'
out_has "and the signer caveat" '^  signer = org:alpha#key1$'
"$SVCR" cap attenuate --json "$TOKEN" --ttl 5m --proposal p_000000000000000000000000 >"$work/out"
out_has "cap attenuate --json" '^\{"expires_at":"[0-9T:-]+Z","token":"[A-Za-z0-9_-]+"\}$'
expect "cap mint refuses an unknown scope" 2 \
    "$SVCR" cap mint --root-keys root-keys.json --key-id k1 --scope registry:everything --ttl 1h
expect "cap mint refuses a ttl over 30 days" 2 \
    "$SVCR" cap mint --root-keys root-keys.json --key-id k1 --scope registry:propose --ttl 31d
expect "cap mint refuses an unknown key id" 2 \
    "$SVCR" cap mint --root-keys root-keys.json --key-id k9 --scope registry:propose --ttl 1h
cp root-keys.json open-keys.json && chmod 644 open-keys.json
expect "cap mint refuses a root-keys file readable by others" 2 \
    "$SVCR" cap mint --root-keys open-keys.json --key-id k1 --scope registry:propose --ttl 1h
expect "cap attenuate with nothing to add is bad usage" 2 "$SVCR" cap attenuate "$TOKEN"
expect "cap inspect of garbage is bad input" 2 "$SVCR" cap inspect not-a-token

# --- a 3-of-5 governance change, svcr only -------------------------------------------------
export SVCR_TOKEN="$TOKEN"
payload 1 "$zeros" roots.json "$region" \
    '{"kind":"service","id":"svc:alpha","endpoint":"https://alpha.local","region":"eu-west"}' >p1.json
expect "propose prints the new proposal" 0 "$SVCR" propose p1.json
out_has "with its id and (new)" '^proposal p_[0-9a-f]{24} \(new\)$'
out_has "its payload_b3" "^payload_b3 $("$SVCR" payload-b3 p1.json)\$"
out_has "and expires_at" '^expires_at [0-9T:.-]+Z$'
P1=$(sed -n 's/^proposal \(p_[0-9a-f]*\) .*/\1/p' "$work/out")
expect "propose --json of the same payload (token from --token-file)" 0 \
    "$SVCR" propose --json --token-file token p1.json
check "returns the same proposal (idempotent)" test "$(field proposal_id)" = "$P1"
out_has "with payload_b3 and expires_at" '"payload_b3":"b3:[0-9a-f]{64}","expires_at":'
expect "proposals lists it" 0 "$SVCR" proposals
out_has "one line, 0 of 3 approvals" "^$P1 version 1 approvals 0/3 expires_at "
expect "proposals --json" 0 "$SVCR" proposals --json
out_has "has it, pending" "^\\{\"next\":null,\"proposals\":\\[\\{.*\"proposal_id\":\"$P1\",\"quorum\":\\{\"m\":3,\"n\":5\\},\"status\":\"pending\""

expect "approve without --yes and without a terminal is refused" 2 \
    "$SVCR" approve "$P1" --key k1.json
err_has "telling to pass --yes" 'not a terminal: pass --yes'
expect "approve --yes (k1)" 0 "$SVCR" approve "$P1" --key k1.json --yes
out_has "shows the target version and item count" "^proposal $P1 \\(pending\\) for version 1, 3 items$"
out_has "shows items added versus HEAD" '^  \+ service svc:alpha$'
out_has "names the signer" '^signing as org:alpha#key1$'
out_has "prints the accepted count and quorum" '^accepted: 1 approvals, quorum 3 of 5$'
expect "approve --json (k2)" 0 "$SVCR" approve --json "$P1" --key k2.json --yes
out_has "prints the registry's answer" '^\{"status":"accepted","approvals":2,"quorum":\{"m":3,"n":5\}\}$'
expect "a second approval by k2 is refused" 1 "$SVCR" approve "$P1" --key k2.json --yes
err_has "with DuplicateApproval" 'refused: DuplicateApproval'
expect "commit before quorum is refused" 1 "$SVCR" commit "$P1"
err_has "with QuorumFailed" 'refused: QuorumFailed'
expect "commit --json of a refusal prints the envelope" 1 "$SVCR" commit --json "$P1"
out_has "on stdout" '^\{"error":\{"code":"QuorumFailed"'
expect "approve (k3) reaches the quorum" 0 "$SVCR" approve "$P1" --key k3.json --yes
out_has "and says so" '^accepted: 3 approvals, quorum 3 of 5 \(quorum reached'
expect "proposals ID shows the proposal" 0 "$SVCR" proposals "$P1"
out_has "with 3 approvals" '^approvals 3, quorum 3 of 5$'
expect "proposals --json ID" 0 "$SVCR" proposals --json "$P1"
out_has "includes the payload" '"payload":\{'
expect "commit" 0 "$SVCR" commit "$P1"
out_has "prints version 1" '^committed version 1 b3:[0-9a-f]{64} at [0-9T:.-]+Z$'
expect "commit --json again (idempotent)" 0 "$SVCR" commit --json "$P1"
out_has "returns version 1 again" '^\{"version":1,"payload_b3":"b3:'
expect "head" 0 "$SVCR" head
out_has "shows version 1" "^version 1 $("$SVCR" payload-b3 p1.json) committed_at [0-9T:.-]+Z$"
expect "head --json with --url" 0 "$SVCR" head --json --url "$SVCR_URL"
out_has "shows version 1" '"version":1'
expect "get 1" 0 "$SVCR" get 1
out_has "lists the approvals" '^approvals \(3\):$'
out_has "lists the items" '^  service svc:alpha$'
expect "get --json 1" 0 "$SVCR" get --json 1
check "is the signed artifact with the payload's hash" \
    test "$(field payload_b3)" = "$("$SVCR" payload-b3 p1.json)"

# --- rotation: version 2 declares a new 2-of-3 set, approved by the old set ------------------
for i in 1 2 3; do "$SVCR" keygen --json --signer-id "org:new$i#key2" --out "n$i.json" >"n$i.pub" 2>/dev/null; done
"$SVCR" trust-roots --m 2 n1.pub n2.pub n3.pub >newset.json 2>/dev/null
check "trust-roots without --out prints the set" grep -q '"quorum":{"m":2}' newset.json
payload 2 "$(head_b3)" newset.json "$region" \
    '{"kind":"service","id":"svc:alpha","endpoint":"https://alpha.local","region":"eu-west"}' \
    '{"kind":"service","id":"svc:beta","endpoint":"https://beta.local","meta":{"note":"tamper-me-v2"}}' >p2.json
"$SVCR" watch --from 1 --max-events 1 --timeout 20s >watch.out 2>watch.err &
w1=$!
"$SVCR" watch --json --from 1 --max-events 1 --timeout 20s >watchj.out 2>watchj.err &
w2=$!
bg_pids+=("$w1" "$w2")
"$SVCR" propose --json p2.json >"$work/out" 2>&1
P2=$(field proposal_id)
for k in k1 k4 k5; do "$SVCR" approve "$P2" --key "$k.json" --yes >"$work/out" 2>&1; done
out_has "the old set approves the rotation" 'quorum reached'
expect "commit of the rotation" 0 "$SVCR" commit "$P2"
wait "$w1"
check "watch --max-events 1 exits 0 after the event" test $? -eq 0
check "watch prints the version 2 line" \
    grep -qE "^version 2 $("$SVCR" payload-b3 p2.json) [0-9T:.-]+Z [0-9A-Z]{26}\$" watch.out
check "watch prints exactly one line" test "$(wc -l <watch.out)" -eq 1
wait "$w2"
check "watch --json exits 0" test $? -eq 0
check "watch --json prints the event JSON" \
    grep -qE '^\{"event":"registry.update","data":\{"version":2,"payload_b3":"b3:[0-9a-f]{64}","committed_at":' watchj.out
bg_pids=()

payload 3 "$(head_b3)" newset.json "$region" \
    '{"kind":"service","id":"svc:beta","endpoint":"https://beta.local","meta":{"note":"tamper-me-v2"}}' \
    '{"kind":"node","id":"node:1","region":"eu-west"}' >p3.json
"$SVCR" propose --json p3.json >"$work/out" 2>&1
P3=$(field proposal_id)
expect "an old key cannot approve after the rotation" 1 "$SVCR" approve "$P3" --key k1.json --yes
err_has "UnknownSigner" 'refused: UnknownSigner'
out_has "and approve warned first" "warning: org:alpha#key1 is not in HEAD's signer set"
# On a terminal (a pty from script(1)), approve asks: "n" declines, "y" signs.
printf 'n\n' | script -qec "'$SVCR' approve $P3 --key n1.json" /dev/null >"$work/out" 2>&1
check "approve on a terminal declined with n exits 1" test $? -eq 1
out_has "after asking" 'Sign this proposal\? \[y/N\]'
out_has "and signs nothing" 'svcr approve: not signed'
printf 'y\n' | script -qec "'$SVCR' approve $P3 --key n1.json" /dev/null >"$work/out" 2>&1
check "the new set approves (n1, confirmed with y on a terminal)" test $? -eq 0
out_has "accepted" "accepted: 1 approvals, quorum 2 of 3"
expect "the new set approves (n2)" 0 "$SVCR" approve "$P3" --key n2.json --yes
out_has "quorum 2 of 3 reached" '^accepted: 2 approvals, quorum 2 of 3 \(quorum reached'
expect "commit version 3" 0 "$SVCR" commit "$P3"
out_has "version 3" '^committed version 3 '

# --- supersede (one approval made with svcr sign and posted with curl) ---------------------
H3=$(head_b3)
sed -e 's/^{"version":3,"prev_hash":"[^"]*"/{"version":4,"prev_hash":"'"$H3"'","supersede_of":"'"$H3"'","supersede_reason":"DataError"/' \
    -e 's#"node:1","region":"eu-west"#"node:1","region":"eu-west","endpoint":"https://node1.fixed"#' p3.json >p4.json
"$SVCR" propose --json p4.json >"$work/out" 2>&1
P4=$(field proposal_id)
expect "sign --payload-b3 prints an approval body" 0 \
    "$SVCR" sign --key n3.json --payload-b3 "$("$SVCR" payload-b3 p4.json)"
out_has "signer_id, algo, sig, signed_at" '^\{"algo":"ed25519","sig":"[A-Za-z0-9+/]{86}==","signed_at":"[0-9T:-]+Z","signer_id":"org:new3#key2"\}$'
sig1=$(field sig)
expect "sign --json --proposal computes payload_b3 itself" 0 "$SVCR" sign --json --key n3.json --proposal p4.json
check "and signs the same bytes (Ed25519 is deterministic)" test "$(field sig)" = "$sig1"
cp "$work/out" approval.json
code=$(curl -s -o "$work/curl.out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' --data @approval.json "$SVCR_URL/registry/approvals/$P4")
check "the registry accepts svcr sign's approval" test "$code" = 200
expect "approve the supersede (n1)" 0 "$SVCR" approve "$P4" --key n1.json --yes
out_has "shows the changed item" '^  ~ node node:1$'
expect "commit refuses a supersede proposal" 1 "$SVCR" commit "$P4"
err_has "Malformed, naming the route" 'refused: Malformed: .*supersede'
expect "supersede" 0 "$SVCR" supersede "$P4"
out_has "commits version 4" '^superseded: committed version 4 b3:'
expect "supersede --json again (idempotent)" 0 "$SVCR" supersede --json "$P4"
out_has "returns version 4" '^\{"version":4,'
expect "get shows what version 4 supersedes" 0 "$SVCR" get 4
out_has "supersedes line" "^supersedes $H3 \\(DataError\\)$"

# --- freeze / thaw, scopes ------------------------------------------------------------------
payload 5 "$(head_b3)" newset.json "$region" \
    '{"kind":"service","id":"svc:beta","endpoint":"https://beta.local","meta":{"note":"tamper-me-v2"}}' >p5.json
expect "freeze" 0 "$SVCR" freeze "maintenance window"
out_has "says frozen" '^write plane frozen \(reason: maintenance window\)$'
expect "propose while frozen is refused" 1 "$SVCR" propose p5.json
err_has "with NotReady" 'refused: NotReady: .*reason maintenance'
expect "freeze --json" 0 "$SVCR" freeze --json "still frozen"
out_has "prints the answer" '^\{"frozen":true\}$'
expect "thaw" 0 "$SVCR" thaw "done"
out_has "says thawed" '^write plane thawed'
expect "thaw --json" 0 "$SVCR" thaw --json "done again"
out_has "prints the answer" '^\{"frozen":false\}$'
expect "an approve-only token cannot propose" 1 "$SVCR" propose --token "$APPROVE_ONLY" p5.json
err_has "Forbidden" 'refused: Forbidden: .*reason scope'
PROPOSE_ONLY=$("$SVCR" cap attenuate "$TOKEN" --scope registry:propose)
expect "a propose-only token cannot freeze" 1 "$SVCR" freeze --token "$PROPOSE_ONLY" "nope"
err_has "Forbidden" 'refused: Forbidden'
expect "a garbage token is Unauthorized" 1 "$SVCR" propose --token garbage p5.json
err_has "Unauthorized" 'refused: Unauthorized'
expect "propose after thaw" 0 "$SVCR" propose p5.json
P5=$(sed -n 's/^proposal \(p_[0-9a-f]*\) .*/\1/p' "$work/out")
expect "proposals lists the pending one" 0 "$SVCR" proposals
out_has "version 5" "^$P5 version 5 approvals 0/2 "

# --- watch across a server restart (reconnects with Last-Event-ID) --------------------------
"$SVCR" approve "$P5" --key n2.json --yes >/dev/null 2>&1
"$SVCR" approve "$P5" --key n3.json --yes >/dev/null 2>&1
"$SVCR" watch --from 4 --max-events 1 --timeout 25s >watch.out 2>watch.err &
w1=$!
bg_pids+=("$w1")
sleep 0.3
old_port=$port
stop_server
start_server "$old_port"
check "the registry restarts on the same port" test "$port" = "$old_port"
expect "commit version 5 after the restart" 0 "$SVCR" commit "$P5"
wait "$w1"
check "watch exits 0 after reconnecting" test $? -eq 0
check "watch saw version 5 after the reconnect" grep -qE '^version 5 b3:[0-9a-f]{64} ' watch.out
check "watch reported the disconnect on stderr" grep -q 'reconnecting in' watch.err
bg_pids=()

# --- watch against a scripted stream: silence, reconcile, reconnect with Last-Event-ID -------
# The real registry only sends registry.reconcile when a client lags or history is pruned,
# which no quick test can force; a small fake SSE server (python3, when present) can.
cat >fake_sse.py <<'PY'
import socket, sys, time
b3 = "b3:" + "ab" * 32
hang = float(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(4)
print(s.getsockname()[1], flush=True)
plan = (["hang"] if hang > 0 else []) + ["reconcile", "updates"]
for i, what in enumerate(plan):
    c, _ = s.accept()
    req = c.recv(65536).decode()
    lei = [l.split(":", 1)[1].strip() for l in req.split("\r\n")
           if l.lower().startswith("last-event-id:")]
    with open(sys.argv[1], "a") as f:
        f.write("connection %d last-event-id %s\n" % (i + 1, lei[0] if lei else "none"))
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
    if what == "hang":  # a heartbeat, then silence: the client must give up and reconnect
        c.sendall(b": hb\n\n")
        time.sleep(hang)
    elif what == "reconcile":
        c.sendall(('retry: 2000\n\n: hb\n\nid: 7\nevent: registry.reconcile\ndata: {"version":7,'
                   '"payload_b3":"%s","committed_at":"2026-01-01T00:00:00.000Z","corr_id":"X"}'
                   '\n\n' % b3).encode())
    else:  # version 7 again (CRLF line ends), then 8 with its data split over two lines
        c.sendall(('id: 7\r\nevent: registry.update\r\ndata: {"version":7,"payload_b3":"%s"}'
                   '\r\n\r\nid: 8\nevent: registry.update\ndata: {"version":8,"payload_b3":"%s",'
                   '\ndata: "committed_at":"2026-01-01T00:00:01.000Z","corr_id":"C8"}\n\n'
                   % (b3, b3)).encode())
    c.close()
PY
# start_fake HANG_SECONDS: starts the fake server; its port is in fake.port.
start_fake() {
    rm -f "$work/fake.log" fake.port
    python3 fake_sse.py "$work/fake.log" "$1" >fake.port &
    fake=$!
    bg_pids=("$fake")
    for _ in $(seq 50); do [[ -s fake.port ]] && break; sleep 0.1; done
}
fake_tests=("watch gives up a silent stream, follows a reconcile and reconnects"
    "it says the stream went silent" "it prints the reconcile line"
    "then the next version (data split over two lines)" "and skips the repeated version 7"
    "the reconnect after the reconcile sent Last-Event-ID: 7"
    "the connections before any event sent none" "watch --json on the scripted stream"
    "prints the reconcile event" "and the update, on one line")
if command -v python3 >/dev/null 2>&1; then
    start_fake 2.5
    expect "${fake_tests[0]}" 0 "$SVCR" watch --max-events 2 --timeout 15s --idle-timeout 1s \
        --url "http://127.0.0.1:$(cat fake.port)"
    err_has "${fake_tests[1]}" 'nothing arrived for 1000 ms; reconnecting in'
    out_has "${fake_tests[2]}" '^reconcile: continuing from head version 7 b3:(ab){32}$'
    out_has "${fake_tests[3]}" '^version 8 b3:(ab){32} 2026-01-01T00:00:01.000Z C8$'
    check "${fake_tests[4]}" test "$(wc -l <"$work/out")" -eq 2
    check "${fake_tests[5]}" grep -q '^connection 3 last-event-id 7$' "$work/fake.log"
    check "${fake_tests[6]}" test "$(grep -c 'last-event-id none$' "$work/fake.log")" -eq 2
    wait "$fake" 2>/dev/null
    start_fake 0
    expect "${fake_tests[7]}" 0 "$SVCR" watch --json --max-events 2 --timeout 15s \
        --url "http://127.0.0.1:$(cat fake.port)"
    out_has "${fake_tests[8]}" '^\{"event":"registry.reconcile","data":\{"version":7,'
    out_has "${fake_tests[9]}" '^\{"event":"registry.update","data":\{"version":8,.*"corr_id":"C8"\}\}$'
    wait "$fake" 2>/dev/null
    bg_pids=()
else
    for t in "${fake_tests[@]}"; do ok "$t # SKIP python3 not installed"; done
fi

# --- diff, audit --------------------------------------------------------------------------
expect "diff 1 3" 0 "$SVCR" diff 1 3
out_has "summary line" '^version 1 -> 3: 2 added, 1 removed, 1 changed$'
out_has "added item" '^\+ service svc:beta$'
out_has "removed item" '^- service svc:alpha$'
out_has "changed item" '^~ signer_set governance$'
expect "diff --json 0 head" 0 "$SVCR" diff --json 0 head
out_has "lists the items added since genesis" '^\{"added":\[\{"id":"governance","kind":"signer_set"\},.*"changed":\[\],"from":0,"removed":\[\],"to":5\}$'
expect "diff with a missing version is refused" 1 "$SVCR" diff 1 99
err_has "NotFound" 'refused: NotFound'
expect "audit" 0 "$SVCR" audit
out_has "shows accepted proposals" '^1 [0-9T:.-]+Z propose accepted proposal_id='
out_has "shows the rejected approval" 'approve rejected err_code=UnknownSigner .*signer_id=org:alpha#key1'
out_has "shows freeze" ' freeze accepted '
out_has "shows thaw" ' thaw accepted '
expect "audit --json --from 2 --limit 3" 0 "$SVCR" audit --json --from 2 --limit 3
out_has "starts at seq 2 and says next 5" '^\{"records":\[\{.*"seq":2,.*"next":5\}$'
expect "get 99 is refused" 1 "$SVCR" get 99
err_has "NotFound" 'refused: NotFound'

# --- verify-remote ------------------------------------------------------------------------
expect "verify-remote on the intact registry" 0 "$SVCR" verify-remote --trust-roots roots.json
out_has "prints ok with 5 versions" '^ok: 5 versions verified from the trust roots, head version 5 b3:[0-9a-f]{64} '
expect "verify-remote --json" 0 "$SVCR" verify-remote --json --trust-roots roots.json
out_has "ok true" '"ok":true,"versions":5'
expect "verify-remote against other trust roots fails" 1 "$SVCR" verify-remote --trust-roots newset.json
out_has "at version 1" '^FAIL: version 1: '

stop_server
offsets=$(grep -obUa 'tamper-me-v2' data/data.mdb | cut -d: -f1)
check "the marker is found in data.mdb" test -n "$offsets"
for off in $offsets; do printf 'X' | dd of=data/data.mdb bs=1 seek="$off" conv=notrunc status=none; done
start_server "$old_port" || start_server
expect "verify-remote on the tampered store fails" 1 "$SVCR" verify-remote --trust-roots roots.json
out_has "naming version 2" "^FAIL: version 2: "
expect "verify-remote --json on the tampered store" 1 "$SVCR" verify-remote --json --trust-roots roots.json
out_has "names failed_version 2" '"failed_version":2'

# --- bad usage, --help ----------------------------------------------------------------------
expect "propose without FILE" 2 "$SVCR" propose
expect "propose of a missing file" 2 "$SVCR" propose "$work/none.json"
expect "approve without --key" 2 "$SVCR" approve "$P1" --yes
expect "commit of a bad id" 2 "$SVCR" commit nope
expect "get of a non-number" 2 "$SVCR" get abc
expect "audit --limit 0" 2 "$SVCR" audit --limit 0
expect "watch --timeout junk" 2 "$SVCR" watch --timeout junk
expect "head with an extra argument" 2 "$SVCR" head extra
expect "an unknown option" 2 "$SVCR" head --frobnicate
expect "a --url that is not http" 2 "$SVCR" head --url ftp://x
expect "--token and --token-file together" 2 "$SVCR" head --token a --token-file token
expect "keygen without --out" 2 "$SVCR" keygen --signer-id x
expect "sign with both --payload-b3 and --proposal" 2 \
    "$SVCR" sign --key k1.json --payload-b3 "$zeros" --proposal p1.json
expect "verify-remote without --trust-roots" 2 "$SVCR" verify-remote
expect "diff with one version" 2 "$SVCR" diff 1
expect "cap with an unknown subcommand" 2 "$SVCR" cap frob
unset SVCR_URL
expect "an unreachable registry exits 1" 1 "$SVCR" head --url http://127.0.0.1:1
err_has "saying it cannot reach it" 'cannot reach http://127.0.0.1:1'
helps=0
for v in keygen trust-roots sign cap propose approve commit supersede freeze thaw head get \
    proposals audit diff watch verify-remote; do
    "$SVCR" "$v" --help >"$work/out" 2>&1 && grep -q "^usage: svcr $v" "$work/out" && helps=$((helps + 1))
    "$SVCR" --help | grep -q "^  $v " || helps=$((helps - 100))
done
check "every verb has --help (exit 0, usage line) and is listed by svcr --help" test $helps -eq 17
check "no registry verb printed the capability token" sh -c "! grep -qF '$TOKEN' '$work/transcript'"
sk=$(sed -n 's/.*"secret_key":"\([^"]*\)".*/\1/p' k1.json)
check "no verb printed a secret key" sh -c "test -n '$sk' && ! grep -qF '$sk' '$work/transcript'"
echo "# svcr_cli.sh ran in $((($(date +%s%N) - t0) / 1000000)) ms"
tap_done
