#!/usr/bin/env bash
# run_local.sh - what `make run` starts: the registry on 127.0.0.1:8080 with its LMDB store in
# ./data/registry, and (first time only) development governance material in ./data/dev:
# three signer keys, 2-of-3 trust roots and a capability root key.
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=${SVCR_DEV_DIR:-data/dev}
BIND=${SVCR_BIND_ADDR:-127.0.0.1:8080}
DATA=${SVCR_STORAGE_DATA_DIR:-./data/registry}
SVCR=build/svcr

mkdir -p data
chmod 700 data
if [[ ! -f "$DEV/trust-roots.json" ]]; then
    mkdir -p "$DEV"
    chmod 700 "$DEV"
    for who in alpha beta gamma; do
        "$SVCR" keygen --signer-id "org:$who#key1" --out "$DEV/$who.key" >"$DEV/$who.pub"
    done
    "$SVCR" trust-roots --m 2 --out "$DEV/trust-roots.json" \
        "$DEV/alpha.pub" "$DEV/beta.pub" "$DEV/gamma.pub" 2>"$DEV/trust-roots.pin"
    umask 077
    printf '{"keys":[{"id":"dev","secret":"%s"}]}\n' "$(head -c 32 /dev/urandom | base64 -w0)" \
        >"$DEV/root-keys.json"
    chmod 600 "$DEV"/*
    echo "created development governance material in $DEV (2-of-3 signers: alpha, beta, gamma)"
fi

echo
echo "svc-registry is starting on http://$BIND (store: $DATA, dev keys: $DEV)."
echo "In a second terminal, from $(pwd), try a first governed change:"
[[ $BIND == 127.0.0.1:8080 ]] || echo "(first: export SVCR_URL=http://$BIND DEV=$DEV)"
echo
sed -n '/<!-- walkthrough:begin -->/,/<!-- walkthrough:end -->/p' README.md | sed '1,2d;$d' | sed '$d'
echo
echo "(scripts/demo.sh runs the same flow unattended.) Stop the registry with Ctrl-C."
echo
exec build/svc-registry --bind "$BIND" --data-dir "$DATA" \
    --trust-roots "$DEV/trust-roots.json" --root-keys "$DEV/root-keys.json" "$@"
