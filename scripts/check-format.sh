#!/usr/bin/env bash
# check-format.sh - fails when a tracked C file is not formatted as .clang-format says, with the
# clang-format this project pins: Debian 12's, major version 14 (another version formats some
# constructs differently, so its verdict would be noise). `make format` fixes what it lists.
set -uo pipefail
cd "$(dirname "$0")/.."
want=14
have=$(clang-format --version 2>/dev/null | grep -oE 'version [0-9]+' | grep -oE '[0-9]+')
if [[ "$have" != "$want" ]]; then
    echo "not ok - clang-format $want is required (found: ${have:-none}); scripts/deps.sh installs it"
    exit 1
fi
bad=0
while IFS= read -r f; do
    [[ -f "$f" ]] || continue # deleted in the work tree
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not ok - $f is not clang-formatted (make format)"
        bad=$((bad + 1))
    fi
done < <(git ls-files --cached --others --exclude-standard '*.c' '*.h')
[[ $bad -eq 0 ]] && echo "ok - every tracked C file is clang-formatted (clang-format $have)"
exit $((bad > 0))
