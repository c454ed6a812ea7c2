#!/usr/bin/env bash
# demo.sh - runs the README's five-minute walkthrough, exactly as written there, against a
# running registry (make run). DEV and SVCR_URL may be preset; exits 0 only if every step did.
set -euo pipefail
cd "$(dirname "$0")/.."
block=$(sed -n '/<!-- walkthrough:begin -->/,/<!-- walkthrough:end -->/p' README.md |
    sed '1,2d;$d' | sed '$d')
[[ -n "$block" ]] || { echo "demo.sh: walkthrough block not found in README.md" >&2; exit 2; }
bash -euo pipefail -c "$block"
