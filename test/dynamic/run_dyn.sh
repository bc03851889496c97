#!/usr/bin/env bash
# run_dyn.sh [--runner PATH] [--qemu PATH] [--no-native] SYSROOT WORK CASE
#
# One case of the dynamic corpus (cases.sh) under each launcher it can use:
# natively through the sysroot's ld.so (where this kernel runs i386
# programs), under qemu-i386 -L SYSROOT, and under guestmm-run-i386 -L
# SYSROOT.  The first of native and qemu-i386 that ran is the reference: its
# exit status must be the case's expected one, and every other launcher must
# give the same stdout, exit status and output files.  Stderr is shown, not
# compared.  Exits 77 (ctest's skip) when SYSROOT holds no sysroot.
set -uo pipefail

usage() {
    echo "usage: $0 [--runner PATH] [--qemu PATH] [--no-native] SYSROOT WORK CASE" >&2
    exit 2
}
RUNNER='' QEMU='' native=yes
while [ $# -gt 0 ]; do
    case $1 in
        --runner) RUNNER=$2; shift 2 ;;
        --qemu) QEMU=$2; shift 2 ;;
        --no-native) native=; shift ;;
        -*) usage ;;
        *) break ;;
    esac
done
[ $# -eq 3 ] || usage
S=$1 work=$2 name=$3
DATA=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=cases.sh
. "$DATA/cases.sh"

if [ ! -f "$S/.packages" ] || [ ! -e "$S/usr/lib/ld-linux.so.2" ]; then
    echo "SKIP: no sysroot at $S (make one with: sh test/dynamic/fetch-sysroot.sh $S)"
    exit 77
fi
declare -F "case_$name" >/dev/null || { echo "no case $name in cases.sh" >&2; exit 2; }
status_var=status_$name files_var=files_$name
want_status=${!status_var}
files=${!files_var:-}

mkdir -p "$work"
work=$(cd "$work" && pwd)
make_inputs "$work/in" || { echo "could not make the inputs in $work/in" >&2; exit 1; }

launchers=()
if [ -n "$native" ]; then
    if native_works; then
        launchers+=(native)
    else
        echo "native: this kernel does not run the sysroot's i386 programs through its ld.so: skipped"
    fi
fi
if [ -n "$QEMU" ]; then launchers+=(qemu); else echo "qemu-i386: not given: skipped"; fi
if [ -n "$RUNNER" ]; then launchers+=(runner); fi
if [ ${#launchers[@]} -eq 0 ]; then
    echo "SKIP: no launcher to run the case with"
    exit 77
fi

# run L: the case under launcher L in $work/L; stdout to $work/L.out,
# stderr to $work/L.err, status to $work/L.status.
run() {
    local l=$1
    rm -rf "${work:?}/$l"
    mkdir -p "$work/$l"
    "launcher_$l"
    local t0 t1
    t0=$(date +%s.%N)
    (cd "$work/$l" && ulimit -c 0 && "case_$name") >"$work/$l.out" 2>"$work/$l.err"
    echo $? >"$work/$l.status"
    t1=$(date +%s.%N)
    printf '%-7s status %s, %s stdout lines, %.2f s\n' "$l" "$(cat "$work/$l.status")" \
        "$(wc -l <"$work/$l.out")" "$(awk "BEGIN { print $t1 - $t0 }")"
}

fail=0
ref=
for l in "${launchers[@]}"; do
    run "$l"
    if [ -z "$ref" ] && [ "$l" != runner ]; then
        ref=$l
        if [ "$(cat "$work/$l.status")" != "$want_status" ]; then
            echo "FAIL: the reference ($l) exited $(cat "$work/$l.status"), not $want_status; its stderr:"
            head -n 20 "$work/$l.err"
            exit 1
        fi
        continue
    fi
    [ -n "$ref" ] || continue
    bad=
    if [ "$(cat "$work/$l.status")" != "$(cat "$work/$ref.status")" ]; then
        echo "FAIL: $l exited $(cat "$work/$l.status"), $ref $(cat "$work/$ref.status")"
        bad=1
    fi
    if ! cmp -s "$work/$ref.out" "$work/$l.out"; then
        echo "FAIL: $l's stdout differs from $ref's:"
        diff -u "$work/$ref.out" "$work/$l.out" | head -n 40
        bad=1
    fi
    for f in $files; do
        if ! cmp -s "$work/$ref/$f" "$work/$l/$f"; then
            echo "FAIL: $l's $f differs from $ref's"
            cmp "$work/$ref/$f" "$work/$l/$f" 2>&1 | head -n 3
            bad=1
        fi
    done
    if [ -n "$bad" ]; then
        echo "--- $l's stderr (first lines)"
        head -n 20 "$work/$l.err"
        fail=1
    else
        echo "$l: same stdout, exit status${files:+ and $files} as $ref"
    fi
done
if [ -z "$ref" ] && [ "$(cat "$work/runner.status")" != "$want_status" ]; then
    echo "FAIL: runner exited $(cat "$work/runner.status"), not $want_status (no reference ran)"
    fail=1
fi
exit $fail
