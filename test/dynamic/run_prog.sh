#!/usr/bin/env bash
# run_prog.sh [--runner PATH] [--qemu PATH] EXPECTED STATUS PROGRAM [ARGS...]
#
# A dynamic i386 program built here with gcc -m32 (so it uses the host's
# i386 libc and /lib/ld-linux.so.2): run natively where this kernel runs
# i386 programs, under qemu-i386 and under guestmm-run-i386 (neither with
# -L: the host's files are the program's); each stdout must equal EXPECTED
# and each exit status STATUS.  Exits 77 (ctest's skip) when nothing ran.
set -uo pipefail
RUNNER='' QEMU=''
while [ $# -gt 0 ]; do
    case $1 in
        --runner) RUNNER=$2; shift 2 ;;
        --qemu) QEMU=$2; shift 2 ;;
        *) break ;;
    esac
done
[ $# -ge 3 ] || { echo "usage: see $0" >&2; exit 2; }
expected=$1 status=$2
shift 2
genv=(env -i PATH=/usr/bin:/bin LC_ALL=C)

fail=0 ran=0
check() {
    local who=$1
    shift
    local out err rc
    err=$(mktemp)
    out=$("${genv[@]}" "$@" 2>"$err")
    rc=$?
    ran=$((ran + 1))
    if [ "$rc" != "$status" ] || [ "$out" != "$(cat "$expected")" ]; then
        echo "FAIL: $who: exit status $rc (want $status), stdout:"
        diff -u "$expected" <(printf '%s\n' "$out") | head -n 30
        echo "--- stderr"
        head -n 20 "$err"
        fail=1
    else
        echo "$who: stdout and exit status $status as expected"
    fi
    rm -f "$err"
}

# env exits 126 when the kernel refuses the program (ENOEXEC: no IA32
# emulation); any other status is the program's own.
"${genv[@]}" "$@" >/dev/null 2>&1
if [ $? -ne 126 ]; then
    check native "$@"
else
    echo "native: this kernel does not run $1 (exec failed): skipped"
fi
if [ -n "$QEMU" ]; then check qemu-i386 "$QEMU" "$@"; else echo "qemu-i386: not given: skipped"; fi
if [ -n "$RUNNER" ]; then check runner "$RUNNER" "$@"; fi
[ $ran -gt 0 ] || { echo "SKIP: nothing ran"; exit 77; }
exit $fail
