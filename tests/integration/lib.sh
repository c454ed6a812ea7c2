# lib.sh - shared helpers for the black-box test scripts (sourced, not run).
# Each script prints TAP lines ("ok - name" / "not ok - name") that scripts/run-tests.sh counts.

SVCR_ROOT="${SVCR_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# SVCR_CLI / SVCR_REGISTRY_BIN point the scripts at other binaries (another build directory).
SVCR="${SVCR_CLI:-$SVCR_ROOT/build/svcr}"
REGISTRY="${SVCR_REGISTRY_BIN:-$SVCR_ROOT/build/svc-registry}"
VECTORS="${SVCR_VECTORS_DIR:-$SVCR_ROOT/../shared/vectors}"
_tap_fail=0

ok() { echo "ok - $*"; }
not_ok() {
    echo "not ok - $*"
    _tap_fail=1
}
# check NAME COMMAND...: runs the command, reports ok/not ok.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# Exit status for the end of a script.
tap_done() { exit "$_tap_fail"; }
