#!/bin/sh
# heavy-sanitized.sh SYSROOT [BUILD]: the corpus's heavy commands (those
# commands.txt allows 300 s or more a run) under a runner and library built
# with AddressSanitizer and UndefinedBehaviorSanitizer, outside ctest and
# outside CI: under the sanitizers they take up to half an hour each.
#
#   test/corpus/fetch-sysroot.sh build/corpus-sysroot
#   test/corpus/heavy-sanitized.sh build/corpus-sysroot
#
# BUILD (default build-asan-rel) is configured with clang, RelWithDebInfo
# and GMM_SANITIZE=ON (the sanitizers stop the process at the first report:
# -fno-sanitize-recover=all) and built.  Each command runs under the runner
# and natively (qemu-i386 is left out: the sanitizers change nothing there),
# with every timeout multiplied by 4; corpus.py compares stdout, the exit
# status and the files left, as ctest does.  One line a command (name, PASS
# or FAIL, seconds), each log in BUILD/heavy-sanitized/NAME.log; exits 1
# when any command failed.
set -u
[ $# -ge 1 ] || { echo "usage: $0 SYSROOT [BUILD]" >&2; exit 2; }
sysroot=$1
build=${2:-build-asan-rel}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

cmake -S "$top" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DGMM_SANITIZE=ON -DGMM_CORPUS_SYSROOT="$(cd "$sysroot" && pwd)" >/dev/null || exit 1
cmake --build "$build" -j2 --target guestmm-run-i386 >/dev/null || exit 1

logs=$build/heavy-sanitized
mkdir -p "$logs"
failed=0
for name in $(awk '/^[a-z0-9_]+[ \t]/ && $2 >= 300 { print $1 }' "$here/commands.txt"); do
    start=$(date +%s)
    if GMM_CORPUS_RUNNERS=runner,native GMM_CORPUS_TIMEOUT_SCALE=4 \
        python3 "$here/corpus.py" --commands "$here/commands.txt" --sysroot "$sysroot" \
            --work "$build/corpus-heavy-sanitized" \
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
