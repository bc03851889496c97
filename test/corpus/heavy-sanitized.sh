#!/bin/sh
# heavy-sanitized.sh SYSROOT [BUILD [NAME...]]: the corpus's heavy commands
# (those commands.txt allows 300 s or more a run), or the NAMEs given, under
# a runner and library built with AddressSanitizer and
# UndefinedBehaviorSanitizer, outside ctest and outside CI: under the
# sanitizers they take up to 40 minutes each (sort_lines, sed_lines).
#
#   test/corpus/fetch-sysroot.sh build/corpus-sysroot
#   test/corpus/heavy-sanitized.sh build/corpus-sysroot
#
# BUILD (default build-asan-rel) is configured with clang, RelWithDebInfo
# and GMM_SANITIZE=ON (the sanitizers stop the process at the first report:
# -fno-sanitize-recover=all) and built.  Each command runs under the runner
# and natively (qemu-i386 is left out: the sanitizers change nothing there),
# with every timeout multiplied by 8; corpus.py compares stdout, the exit
# status and the files left, as ctest does.  One line a command (name, PASS
# or FAIL, seconds), each log in BUILD/heavy-sanitized/NAME.log; exits 1
# when any command failed.  Each command works in a directory of its own,
# so two runs with different NAMEs can share BUILD (one per CPU; start
# the second once the first has built).
set -u
[ $# -ge 1 ] || { echo "usage: $0 SYSROOT [BUILD [NAME...]]" >&2; exit 2; }
sysroot=$1
build=${2:-build-asan-rel}
[ $# -ge 2 ] && shift 2 || shift $#
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

cmake -S "$top" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DGMM_SANITIZE=ON -DGMM_CORPUS_SYSROOT="$(cd "$sysroot" && pwd)" >/dev/null || exit 1
cmake --build "$build" -j2 --target guestmm-run-i386 >/dev/null || exit 1

logs=$build/heavy-sanitized
mkdir -p "$logs"
failed=0
names=${*:-$(awk '/^[a-z0-9_]+[ \t]/ && $2 >= 300 { print $1 }' "$here/commands.txt")}
for name in $names; do
    start=$(date +%s)
    if GMM_CORPUS_RUNNERS=runner,native GMM_CORPUS_TIMEOUT_SCALE=8 \
        python3 "$here/corpus.py" --commands "$here/commands.txt" --sysroot "$sysroot" \
            --work "$build/corpus-heavy-sanitized/$name" \
            --runner "$build/examples/unicorn-i386/guestmm-run-i386" "$name" \
            >"$logs/$name.log" 2>&1; then
        verdict=PASS
    else
        verdict=FAIL
        failed=1
    fi
    echo "$name $verdict $(($(date +%s) - start)) s"
done
exit $failed
