#!/bin/sh
# Installs the library built in $2 into a scratch prefix, then builds and
# runs an outside program against it twice: with pkg-config and with CMake's
# find_package.  Also checks that only gmm_* symbols are exported and that
# the SONAME carries the major version.
set -eu
src=$1
build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
libdir=$(ls -d "$work"/prefix/lib*)

# pkg-config
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 -Wall -Wextra -Werror "$src/consumer.c" -o "$work/consumer-pc" \
    $(pkg-config --cflags --libs libguestmm)
LD_LIBRARY_PATH="$libdir" "$work/consumer-pc"

# find_package(guestmm)
cmake -S "$src" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$work/cmake-build/consumer" >/dev/null

# exported symbols and SONAME
lib=$(ls "$libdir"/libguestmm.so.*.*.* | head -n 1)
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^gmm_' || true)
if [ -n "$bad" ]; then
    echo "symbols exported beyond gmm_*: $bad" >&2
    exit 1
fi
readelf -d "$lib" | grep -q 'SONAME.*libguestmm\.so\.0\]' || { echo "bad SONAME" >&2; exit 1; }
echo "outside consumer: pkg-config and find_package builds ran; exports are gmm_* only"
