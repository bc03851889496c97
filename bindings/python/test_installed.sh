#!/bin/sh
# Installs the build in $1 into a scratch prefix and imports guestmm from
# there: the module from <prefix>/$2 (the package directory the build chose,
# GMM_PYTHON_INSTALL_DIR) and libguestmm.so.0 from <prefix>/$3 through the
# dynamic loader, as a user of the installed files would, with $4 (python3).
# Run from an empty directory, with no GUESTMM_LIBRARY, so that neither the
# source tree's guestmm.py nor its build can be picked up instead.
set -eu
build=$1
pydir=$2
libdir=$3
python=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
prefix="$work/prefix"
test -f "$prefix/$pydir/guestmm.py" || { echo "no $prefix/$pydir/guestmm.py" >&2; exit 1; }
mkdir "$work/empty"
cd "$work/empty"
unset GUESTMM_LIBRARY
PYTHONPATH="$prefix/$pydir" LD_LIBRARY_PATH="$prefix/$libdir" "$python" -c '
import os, sys
import guestmm as g
prefix = os.path.realpath(sys.argv[1])
assert os.path.realpath(g.__file__).startswith(prefix + os.sep), g.__file__
with g.System() as system, system.space(g.ABI_I386) as sp:
    a = g.check(sp.mmap(0, 4096, g.PROT_READ | g.PROT_WRITE,
                        g.MAP_PRIVATE | g.MAP_ANONYMOUS))
    sp.write(a, b"installed")
    assert sp.read(a, 9) == b"installed"
# The library mapped into this process is the installed one.
libs = {line.split()[-1] for line in open("/proc/self/maps")
        if "libguestmm" in line}
assert libs and all(os.path.realpath(p).startswith(prefix + os.sep)
                    for p in libs), libs
print("installed guestmm.py %s loaded %s (%s)"
      % (os.path.relpath(g.__file__, prefix), g.library_path(),
         ", ".join(os.path.relpath(p, prefix) for p in sorted(libs))))
' "$prefix"
