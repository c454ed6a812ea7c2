#!/usr/bin/env bash
# b3sum_compare.sh - `svcr b3` must print exactly what b3sum prints, for >= 200 random inputs of
# random lengths 0..2 MiB, for stdin, several files at once, and names b3sum escapes.
set -u
. "$(dirname "$0")/lib.sh"

seed=${B3_SEED:-20261125}
RANDOM=$seed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# seed $seed (set B3_SEED to reproduce)"

mismatch=0
cases=0
for i in $(seq 1 200); do
    # lengths cluster at the edges of BLAKE3's chunk and block sizes as well as spread to 2 MiB
    case $((RANDOM % 4)) in
    0) len=$((RANDOM % 4097)) ;;
    1) len=$(((RANDOM % 64) * 1024 + RANDOM % 3 - 1)) ;;
    *) len=$(((RANDOM * 32768 + RANDOM) % 2097153)) ;;
    esac
    ((len < 0)) && len=0
    f="$work/in_$i"
    head -c "$len" /dev/urandom >"$f"
    ours=$("$SVCR" b3 "$f")
    theirs=$(b3sum "$f")
    cases=$((cases + 1))
    if [[ "$ours" != "$theirs" ]]; then
        mismatch=$((mismatch + 1))
        echo "# mismatch for length $len: ours=$ours b3sum=$theirs"
    fi
done
check "svcr b3 equals b3sum on $cases random inputs (0..2 MiB)" test "$mismatch" -eq 0

check "svcr b3 on stdin equals b3sum" \
    test "$("$SVCR" b3 - <"$work/in_1")" = "$(b3sum - <"$work/in_1")"
check "svcr b3 with no FILE reads stdin" test "$("$SVCR" b3 <"$work/in_2")" = "$(b3sum <"$work/in_2")"
check "svcr b3 several files equals b3sum" \
    test "$("$SVCR" b3 "$work/in_3" "$work/in_4")" = "$(b3sum "$work/in_3" "$work/in_4")"
printf 'abc' >"$work/back\\slash"
printf 'xyz' >"$work/new"$'\n'"line"
check "svcr b3 escapes names like b3sum" \
    test "$("$SVCR" b3 "$work/back\\slash" "$work/new"$'\n'"line")" = \
    "$(b3sum "$work/back\\slash" "$work/new"$'\n'"line")"
"$SVCR" b3 "$work/does-not-exist" >/dev/null 2>"$work/err"
check "svcr b3 on a missing file exits 2 with a message" \
    test $? -eq 2 -a -s "$work/err"
tap_done
