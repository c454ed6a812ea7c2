#!/usr/bin/env bash
# docs_sync.sh - the README embeds docs/arch.mmd, docs/sequence.mmd and docs/state.mmd verbatim,
# and every relative link in README.md and docs/*.md points at a file that exists.
set -u
. "$(dirname "$0")/lib.sh"
cd "$SVCR_ROOT"
for f in docs/arch.mmd docs/sequence.mmd docs/state.mmd; do
    body=$(cat "$f")
    if grep -qF -- "$(head -1 "$f")" README.md &&
        WANT="$body" awk 'BEGIN{RS="```"} index($0, ENVIRON["WANT"]) {found=1} END{exit !found}' \
            README.md; then
        ok "README embeds $f verbatim"
    else
        not_ok "README embeds $f verbatim"
    fi
done
missing=0
for doc in README.md docs/*.md; do
    dir=$(dirname "$doc")
    while read -r link; do
        target="$dir/${link%%#*}"
        [[ -e "$target" ]] || { echo "# $doc links to missing $link"; missing=$((missing + 1)); }
    done < <(grep -oE '\]\(([^)#:]+)(#[^)]*)?\)' "$doc" | sed -E 's/^\]\(([^)#]+).*/\1/')
done
check "relative links in README.md and docs/ resolve" test "$missing" -eq 0
tap_done
