# shellcheck shell=bash disable=SC2034  # the status_, files_ and cases variables are read by the sourcing script
# cases.sh: the dynamic corpus of issue 13, sourced (bash) by run_dyn.sh and
# perf.sh.  Each case is a function case_NAME that runs programs of the
# sysroot through `g PROG ARGS...`, in an empty directory of its own, with
# the inputs in ../in; what it writes to stdout, its status and the files
# named by files_NAME are what the launchers must agree on.
#
# Before sourcing, set:
#   S       the sysroot (test/dynamic/fetch-sysroot.sh)
#   DATA    test/dynamic in the source tree (the workload scripts)
#   LAUNCH  an array: the command that runs an i386 program of the sysroot
#           (launcher_native, launcher_qemu, launcher_runner below)
# and optionally DYN_SCALE (default 1): the workloads' sizes are divided by
# it (1 gives issue 13's: 200,000 lines to sort, 100,000 rows, a
# 100,000-entry dict; dynamic.cmake sets 10 for the sanitizer builds, where
# the runner is about 7 times slower).
DYN_SCALE=${DYN_SCALE:-1}

# The guest's whole environment: fixed, so that output, stack size and
# layout do not depend on who runs the test.
guest_env() {
    env -i PATH=/usr/bin:/bin HOME="$PWD" LC_ALL=C TZ=UTC \
        PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 "$@"
}

# g PROG ARGS...: the sysroot's /usr/bin/PROG under the current launcher.
g() {
    local prog=$1
    shift
    guest_env "${LAUNCH[@]}" "$S/usr/bin/$prog" "$@"
}

# The launchers.  Natively, a program of a foreign sysroot runs through
# the sysroot's dynamic loader named explicitly (the host's /lib/ld-linux.so.2
# is the host's glibc); --library-path replaces the ld.so.cache the sysroot
# lacks.  qemu-i386 and the runner take -L.
launcher_native() {
    LAUNCH=("$S/usr/lib/ld-linux.so.2" --library-path "$S/usr/lib/i386-linux-gnu:$S/usr/lib")
}
launcher_qemu() { LAUNCH=("$QEMU" -L "$S"); }
launcher_runner() { LAUNCH=("$RUNNER" -L "$S"); }
launcher_flat() { LAUNCH=(env GUESTMM_RUN_FLAT=1 "$RUNNER" -L "$S"); }

# native_works: whether this kernel runs the sysroot's i386 programs
# (no IA32 emulation in the kernel, no 32-bit binfmt, ... make it fail).
native_works() {
    local LAUNCH
    launcher_native
    [ "$(g echo native-ok 2>/dev/null)" = native-ok ]
}

# ---- the inputs, made once per work directory by host tools ----
inputs_version="2 scale $DYN_SCALE"
make_inputs() {
    local in=$1
    [ "$(cat "$in/.version" 2>/dev/null)" = "$inputs_version" ] && return 0
    rm -rf "$in"
    mkdir -p "$in"
    # sort: 200,000 lines "name,key,word" from a Lehmer generator.
    awk -v n=$((200000 / DYN_SCALE)) 'BEGIN { x = 1
        for (i = 0; i < n; i++) {
            x = (x * 48271) % 2147483647
            printf "n%06d,%d,%s\n", i, x % 100000, substr("qwertyuiopasdfghjklzxcvbnm", x % 20 + 1, 5)
        } }' >"$in/sort.txt"
    # sha256sum: that file and 2 MiB of other text.
    awk -v n=$((65536 / DYN_SCALE)) 'BEGIN { for (i = 0; i < n; i++) printf "%031d\n", i * 7 }' \
        >"$in/blob.txt"
    # ls -l: fixed names, sizes, modes and modification times.
    mkdir -p "$in/lsdir/sub"
    : >"$in/lsdir/alpha"
    head -c 1000 "$in/blob.txt" >"$in/lsdir/beta"
    head -c 5000 "$in/blob.txt" >"$in/lsdir/gamma.txt"
    head -c 12345 "$in/blob.txt" >"$in/lsdir/delta"
    printf '#!/bin/sh\necho hi\n' >"$in/lsdir/exec.sh"
    ln -s beta "$in/lsdir/link"
    chmod 644 "$in/lsdir/alpha" "$in/lsdir/beta" "$in/lsdir/gamma.txt"
    chmod 600 "$in/lsdir/delta"
    chmod 755 "$in/lsdir/exec.sh" "$in/lsdir/sub"
    touch -d '2001-02-03 04:05:06 UTC' "$in/lsdir/alpha" "$in/lsdir/sub"
    touch -d '2011-05-06 07:08:09 UTC' "$in/lsdir/beta" "$in/lsdir/exec.sh"
    touch -d '1999-12-31 23:59:59 UTC' "$in/lsdir/gamma.txt"
    touch -d '2021-01-01 00:00:00 UTC' "$in/lsdir/delta"
    touch -h -d '2003-03-03 03:03:03 UTC' "$in/lsdir/link"
    # du: a small tree of files of known sizes.
    local d f
    for d in a a/b a/b/c d e; do
        mkdir -p "$in/dutree/$d"
        for f in 1 2 3; do
            head -c $((${#d} * 1000 + f * 317)) "$in/blob.txt" >"$in/dutree/$d/f$f"
        done
    done
    echo "$inputs_version" >"$in/.version"
}

# ---- the cases: status expected, files compared, the commands ----
cases="ls sort sha256sum du pipe sqlite python"

status_ls=0
case_ls() { g ls -l --time-style=+%Y ../in/lsdir; }

status_sort=0
files_sort=sorted.txt
case_sort() { g sort -t , -k 2,2n -k 3,3 -k 1,1 -o sorted.txt ../in/sort.txt; }

status_sha256sum=0
case_sha256sum() { g sha256sum ../in/sort.txt ../in/blob.txt; }

status_du=0
case_du() { g du -a -b ../in/dutree; }

status_pipe=0
case_pipe() { g seq 1 $((300000 / DYN_SCALE)) | g tr 0-9 a-j | g wc; }

status_sqlite=0
files_sqlite=db.sqlite
# The script's row count is marked /*ROWS*/.
case_sqlite() {
    sed "s|100000 /\*ROWS\*/|$((100000 / DYN_SCALE))|" "$DATA/workload.sql" | g sqlite3 db.sqlite
}

status_python=3
files_python="doc.json lines.txt"
case_python() { g python3.11 "$DATA/workload.py" $((100000 / DYN_SCALE)); }

# Start-up, for perf.sh only.
status_python_start=0
status_sqlite_start=0
case_python_start() { g python3.11 -c pass; }
case_sqlite_start() { g sqlite3 :memory: 'select 1'; }
