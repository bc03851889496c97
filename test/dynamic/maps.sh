#!/usr/bin/env bash
# maps.sh --runner PATH [--sysroot DIR] WORK self PROGRAM
# maps.sh --runner PATH --sysroot DIR WORK python
#
# The maps comparison of issue 13: /proc/self/maps of a dynamic i386
# program under guestmm-run-i386 against the same program run by this
# kernel with ASLR off (setarch i386 -R), compared by maps_compare.py
# (which states the allowed differences and the layout rules).
#
# self:   PROGRAM is test/dynamic/maps.c built with gcc -m32 (dynamic, PIE)
#         against the host's i386 libc; natively it is run as it is, under
#         the runner with no -L.
# python: the sysroot's python3.11 prints open('/proc/self/maps').read().
#         Under the runner: -L SYSROOT.  Natively it must be loaded the way
#         the kernel loads it (PT_INTERP /lib/ld-linux.so.2 from the
#         sysroot, not the host's), so it runs in a chroot: a private mount
#         namespace, a tmpfs root with the sysroot's /usr and /etc (its
#         ld.so.cache) bound in, /proc bound in, and SYSROOT/usr a symlink to /usr so that argv[0] (and
#         so the stack) is the same string as under the runner.  That needs
#         root (unshare --mount, chroot); without it the runner's maps are
#         checked against maps_compare.py's rules only.
#
# The native run is taken without the kernel's 32-bit vDSO when the runner
# has none (abi.vsyscall32=0 for that one run; root), so that the two are
# the same task to Linux: ld.so itself lays out its memory differently when
# there is a vDSO (it allocates a link map for it).  Where the switch cannot
# be written, the runner is held to maps_compare.py's rules only.
#
# Both runs get the same environment, argv and working directory (/).
# Exits 77 (ctest's skip) when the sysroot is absent or nothing can be
# compared.
set -uo pipefail

RUNNER='' S=''
while [ $# -gt 0 ]; do
    case $1 in
        --runner) RUNNER=$2; shift 2 ;;
        --sysroot) S=$2; shift 2 ;;
        *) break ;;
    esac
done
[ $# -ge 2 ] && [ -n "$RUNNER" ] || { echo "usage: see $0" >&2; exit 2; }
work=$1 mode=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)

genv=(env -i PATH=/usr/bin:/bin LC_ALL=C PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1)
code="import sys; sys.stdout.write(open('/proc/self/maps').read())"
strip=()

# without_vdso CMD...: CMD with the kernel's 32-bit vDSO switched off
# (abi.vsyscall32=0, a global switch: only i386 programs started meanwhile
# see it; this one run takes a fraction of a second; dynamic.cmake holds
# a ctest RESOURCE_LOCK for it), the old value put back afterwards.  Fails
# when the switch cannot be written (not root, no IA32 emulation).
vsys=/proc/sys/abi/vsyscall32
without_vdso() (
    old=$(cat "$vsys" 2>/dev/null) && [ -w "$vsys" ] || exit 125
    trap 'echo "$old" >"$vsys"' EXIT
    trap 'exit 130' INT TERM
    echo 0 >"$vsys" || exit 125
    "$@"
)

case $mode in
self)
    prog=$3
    native() { (cd / && "${genv[@]}" setarch i386 -R "$prog"); }
    runner=(env -C / "${genv[@]}" "$RUNNER" "$prog")
    ;;
python)
    if [ -z "$S" ] || [ ! -f "$S/.packages" ]; then
        echo "SKIP: no sysroot at ${S:-(none given)} (make one with test/dynamic/fetch-sysroot.sh)"
        exit 77
    fi
    S=$(cd "$S" && pwd)
    prog=$S/usr/bin/python3.11
    # Linux names a mapped file by its path with the symlinks resolved.
    strip=(--strip "$(cd "$S" && pwd -P)")
    root=$(mktemp -d)
    trap 'rmdir "$root" 2>/dev/null' EXIT
    # The namespace's mounts vanish with it; the empty directory stays for
    # the trap.
    # shellcheck disable=SC2016
    native() {
        "${genv[@]}" setarch i386 -R unshare --mount sh -euc '
            R=$1 S=$2; shift 2
            mount --make-rprivate /
            mount -t tmpfs tmpfs "$R"
            mkdir -p "$R/usr" "$R/etc" "$R/proc" "$R$S"
            mount --bind "$S/usr" "$R/usr"
            mount --bind "$S/etc" "$R/etc"
            mount --bind /proc "$R/proc"
            ln -s usr/lib "$R/lib"; ln -s usr/bin "$R/bin"; ln -s usr/sbin "$R/sbin"
            ln -s /usr "$R$S/usr"
            exec /usr/sbin/chroot "$R" "$@"' sh "$root" "$S" "$prog" -c "$code"
    }
    runner=(env -C / "${genv[@]}" "$RUNNER" -L "$S" "$prog" -c "$code")
    ;;
*)
    echo "usage: see $0" >&2
    exit 2
    ;;
esac

"${runner[@]}" >"$work/runner.txt" 2>"$work/runner.err"
echo $? >"$work/runner.status"

# The native reference: without a vDSO when the runner has none.
compare=()
if grep -q '\[vdso\]' "$work/runner.txt"; then
    native >"$work/native.txt" 2>"$work/native.err"
    native_rc=$?
    echo "native: with the vDSO, as the runner has one"
else
    without_vdso native >"$work/native.txt" 2>"$work/native.err"
    native_rc=$?
    if [ $native_rc -eq 125 ]; then
        native >"$work/native.txt" 2>"$work/native.err"
        native_rc=$?
        compare=(--info)
        echo "native: abi.vsyscall32 cannot be written here, so the native run has a vDSO" \
             "the runner lacks: the rules decide, the comparison is for information"
    else
        echo "native: without the 32-bit vDSO (abi.vsyscall32=0 for this run), as the runner has none"
    fi
fi
native_ok=
if [ $native_rc -eq 0 ]; then
    native_ok=1
else
    echo "native: the run failed (status $native_rc; the python case needs root for unshare" \
         "--mount and chroot): compared with the rules only"
    head -n 5 "$work/native.err"
fi

if [ "$(cat "$work/runner.status")" != 0 ]; then
    echo "FAIL: the runner exited $(cat "$work/runner.status"); its stderr:"
    head -n 20 "$work/runner.err"
    exit 1
fi
if [ -n "$native_ok" ]; then
    python3 "$here/maps_compare.py" "${strip[@]}" "${compare[@]}" --program "$prog" \
        "$work/native.txt" "$work/runner.txt"
else
    python3 "$here/maps_compare.py" --rules-only "${strip[@]}" --program "$prog" "$work/runner.txt"
fi
rc=$?
if [ $rc -ne 0 ]; then
    echo "--- native ($work/native.txt)"
    cat "$work/native.txt" 2>/dev/null
    echo "--- runner ($work/runner.txt)"
    cat "$work/runner.txt"
fi
exit $rc
