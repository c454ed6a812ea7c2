#!/bin/bash
# check-calls.sh - reports files of one module that call each other (dependencies inside a module
# must flow one way).
#
#   scripts/check-calls.sh [-v] [src/<module> ...]     (default: every src/<module>)
#
# Each .c of the module is compiled with GCC's -fcallgraph-info (the compiler's own call graph:
# macros are expanded, comments and strings cannot fool it, a function named in a table is not a
# call). A file "calls" another when one of its functions calls a function the other defines.
# Prints, per module, every pair of files that call each other with the functions involved, and
# pairs of files on a longer cycle (a -> b -> c -> a); -v also lists what each file defines and
# which files it calls. Exit 0 when no selected module has such a pair, 1 when one does, 2 when a
# file does not compile.
set -u
cd "$(dirname "$0")/.." || exit 2

verbose=0
if [ "${1:-}" = "-v" ]; then
    verbose=1
    shift
fi
if [ $# -gt 0 ]; then
    modules=("$@")
else
    modules=()
    for d in src/*/; do
        modules+=("${d%/}")
    done
fi

CC=${CC:-gcc}
b3_dir=
for d in /usr/share/cargo/registry/blake3-*/c; do # the Makefile's BLAKE3_DIR: the last one
    [ -d "$d" ] && b3_dir=$d
done
pkgs=$(sed -n 's/^PKGS := //p' Makefile)
# shellcheck disable=SC2086
pkg_cflags=$(pkg-config --cflags $pkgs 2>/dev/null)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=0
for mod in "${modules[@]}"; do
    mod=${mod%/}
    files=("$mod"/*.c)
    [ -e "${files[0]}" ] || continue
    : >"$tmp/edges"
    for f in "${files[@]}"; do
        base=$(basename "$f" .c)
        # shellcheck disable=SC2086
        if ! $CC -std=gnu11 -D_GNU_SOURCE -Isrc ${b3_dir:+-I"$b3_dir"} $pkg_cflags -pthread \
            -fcallgraph-info -c "$f" -o "$tmp/$base.o" 2>"$tmp/$base.err"; then
            echo "check-calls: $f does not compile:" >&2
            cat "$tmp/$base.err" >&2
            exit 2
        fi
        # "def <file> <fn>" for each non-static function defined in the file itself, and
        # "call <file> <fn>" for each function it calls that is defined elsewhere.
        awk -v file="$(basename "$f")" -v path="$f" '
            /^node:/ {
                match($0, /label: "[^\\"]*\\n[^"]*"/)
                lab = substr($0, RSTART + 8, RLENGTH - 9)
                split(lab, parts, "\\\\n")
                name = parts[1]
                where = parts[2]
                sub(/:[0-9]+:[0-9]+$/, "", where)
                n = split(where, seg, "/")
                if ($0 ~ /shape : ellipse/)
                    ext[name] = 1
                else if (seg[n] == file && $0 !~ /title: "[^"]*:[^"]*"/)
                    print "def", file, name
            }
            /^edge:/ {
                match($0, /targetname: "[^"]*"/)
                t = substr($0, RSTART + 13, RLENGTH - 14)
                if (t in ext && !((file, t) in seen)) {
                    seen[file, t] = 1
                    print "call", file, t
                }
            }' "$tmp/$base.ci" >>"$tmp/edges"
    done
    awk -v mod="$mod" -v verbose="$verbose" '
        $1 == "def" { owner[$3] = $2; defs[$2] = defs[$2] " " $3 }
        $1 == "call" { calls[++n] = $2 " " $3 }
        END {
            for (i = 1; i <= n; i++) {
                split(calls[i], c, " ")
                if (!(c[2] in owner) || owner[c[2]] == c[1])
                    continue
                from = c[1]; to = owner[c[2]]
                if (!((from, to) in via)) {
                    via[from, to] = c[2]
                    pairs[++np] = from " " to
                } else {
                    via[from, to] = via[from, to] ", " c[2]
                }
            }
            bad = 0
            for (i = 1; i <= np; i++) {
                split(pairs[i], q, " ")
                if (q[1] < q[2] && ((q[2], q[1]) in via)) {
                    printf "%s: %s <-> %s\n", mod, q[1], q[2]
                    printf "    %s calls %s\n", q[1], via[q[1], q[2]]
                    printf "    %s calls %s\n", q[2], via[q[2], q[1]]
                    bad++
                }
            }
            # files on a longer cycle (a -> b -> ... -> a without a calling b back directly)
            for (i = 1; i <= np; i++) {
                split(pairs[i], q, " ")
                reach[q[1], q[2]] = 1
                files[q[1]] = 1
                files[q[2]] = 1
            }
            for (k in files)
                for (i in files)
                    if ((i, k) in reach)
                        for (j in files)
                            if ((k, j) in reach)
                                reach[i, j] = 1
            for (i in files)
                for (j in files)
                    if (i < j && ((i, j) in reach) && ((j, i) in reach) &&
                        !(((i, j) in via) && ((j, i) in via))) {
                        printf "%s: %s and %s are on a longer call cycle\n", mod, i, j
                        bad++
                    }
            if (verbose) {
                for (f in defs)
                    printf "%s/%s defines:%s\n", mod, f, defs[f]
                for (i = 1; i <= np; i++) {
                    split(pairs[i], q, " ")
                    printf "%s/%s -> %s: %s\n", mod, q[1], q[2], via[q[1], q[2]]
                }
            }
            printf "%s: %d pair(s) of files calling each other (directly or round a cycle)\n", mod, bad
            exit bad > 0
        }' "$tmp/edges" || status=1
done
exit $status
