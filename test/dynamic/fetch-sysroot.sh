#!/bin/sh
# fetch-sysroot.sh DIR: a Debian 12 i386 sysroot for the dynamic corpus
# (issue 13): libc6, coreutils, sqlite3 and python3.11 with the shared
# libraries they load, fetched by package name and unpacked, never installed.
#
#   dpkg --add-architecture i386           (once, if i386 is not there yet)
#   apt-get update
#   apt-cache depends --recurse ... SEEDS  (the dependency closure, see below)
#   apt-get download PKG:i386 ...          (in a temporary directory)
#   dpkg -x PKG.deb STAGE                  (each)
#   lib, bin, sbin -> usr/...              (merged /usr, as Debian 12 installs)
#   ldconfig -X -r STAGE                   (/etc/ld.so.cache, as libc-bin's trigger)
#
# Which packages: the seeds and what their Depends and Pre-Depends need,
# read from apt-cache's recursive listing.  Of each dependency (or group of
# alternatives) the first candidate that is an i386 package or an
# Architecture: all one is taken; a virtual package stands for its first
# provider.  Only the i386 packages' dependencies are followed: an
# Architecture: all package (media-types, readline-common, ...) holds data
# for them, and what it depends on itself (dpkg, install-info, perl) serves
# maintainer scripts, which dpkg -x never runs.  Host (amd64) packages are
# never taken.  DIR/.packages lists them, one "name version" a line.
#
# Needs root for the first two steps (CI runs as root).  Idempotent: a DIR
# whose .packages names the same packages (and layout) is left as it is (no
# network).
# Otherwise the tree is built beside DIR and replaces it; a DIR that is not
# empty and holds no .packages is never removed.  Quiet on success; any
# failure stops the script with a message and a non-zero status.
set -eu

seeds="libc6:i386 coreutils:i386 sqlite3:i386 python3.11-minimal:i386 libpython3.11-stdlib:i386"
# What the tests run; checked after unpacking.
progs="usr/lib/ld-linux.so.2 usr/bin/ls usr/bin/sort usr/bin/sha256sum usr/bin/du
       usr/bin/seq usr/bin/tr usr/bin/wc usr/bin/sqlite3 usr/bin/python3.11
       usr/lib/python3.11/json/__init__.py usr/lib/python3.11/hashlib.py"

die() {
    echo "fetch-sysroot.sh: $*" >&2
    exit 1
}

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
case $1 in
    /*) dir=$1 ;;
    *) dir=$(pwd)/$1 ;;
esac
dir=${dir%/}
[ -n "$dir" ] || die "refusing to use / as the sysroot"

if ! dpkg --print-foreign-architectures | grep -qx i386; then
    dpkg --add-architecture i386 || die "dpkg --add-architecture i386 failed (are you root?)"
fi

tmp=$(mktemp -d)
stage=
trap 'rm -rf "$tmp" ${stage:+"$stage"}' EXIT

# The closure, computed before any update when the lists already know the
# seeds, so that an unchanged sysroot needs no network.
resolve() {
    # shellcheck disable=SC2086  # the seeds are words
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances $seeds >"$tmp/tree" 2>"$tmp/err" ||
        return 1
    # Every name without an architecture suffix: which are Architecture: all.
    tr -d '<>|' <"$tmp/tree" | awk '$NF !~ /:/ { print $NF }' | sort -u >"$tmp/bare"
    # One apt-cache call for all of them: each call reads every package list
    # (a second or more where apt keeps no binary cache).
    # shellcheck disable=SC2046
    apt-cache show --no-all-versions $(cat "$tmp/bare") 2>/dev/null |
        awk '/^Package: / { p = $2 } /^Architecture: all$/ { print p }' | sort -u >"$tmp/all"
    # The walk.  The listing gives each package once, at the margin, with its
    # dependency lines ("  Depends: X", " |Depends: X" when the next line is
    # an alternative) and under each the packages that also satisfy it
    # (four spaces: the providers of a virtual <X>, or X for another
    # architecture).
    awk -v seeds="$seeds" '
        FNR == NR { all[$1] = 1; next }
        function ok(c) { return c ~ /:i386$/ || (c in all) }
        /^[^ ]/ { pkg = $1; grp = 0; cont = 0; next }
        /^ *\|?(Pre)?Depends: / {
            if (!cont) grp++
            cont = ($0 ~ /^ *\|/)
            c = $2
            if (c !~ /^</) cand[pkg, grp] = cand[pkg, grp] " " c
            ngrp[pkg] = grp
            next
        }
        /^    / { cand[pkg, grp] = cand[pkg, grp] " " $1; next }
        END {
            n = split(seeds, queue, " ")
            for (i = 1; i <= n; i++) seen[queue[i]] = 1
            for (i = 1; i <= n; i++) {
                p = queue[i]
                print p
                if (p !~ /:i386$/) continue
                for (g = 1; g <= ngrp[p]; g++) {
                    k = split(cand[p, g], cs, " ")
                    for (j = 1; j <= k; j++) {
                        if (!ok(cs[j])) continue
                        if (!(cs[j] in seen)) { seen[cs[j]] = 1; queue[++n] = cs[j] }
                        break
                    }
                }
            }
        }' "$tmp/all" "$tmp/tree" | sort >"$tmp/names"
    # With versions, as apt-get download will pick them.
    # shellcheck disable=SC2046
    apt-cache show --no-all-versions $(cat "$tmp/names") 2>/dev/null |
        awk '/^Package: / { p = $2 } /^Version: / { v = $2 } /^Architecture: / { a = $2 }
             /^$/ && p != "" { print p (a == "all" ? "" : ":" a), v; p = "" }' |
        sort >"$tmp/packages"
    cut -d' ' -f1 "$tmp/packages" | cmp -s - "$tmp/names" || return 1
    # The stamp: the packages and, versioned, what this script does to the
    # tree beyond unpacking (a tree made by an older script is made anew).
    { cat "$tmp/packages"; echo "layout 2: merged /usr, /etc/ld.so.cache"; } >"$tmp/stamp"
}

if [ -f "$dir/.packages" ] && resolve && cmp -s "$tmp/stamp" "$dir/.packages"; then
    exit 0
fi

apt-get update -qq >/dev/null || die "apt-get update failed"
resolve || die "apt-cache depends $seeds failed: $(cat "$tmp/err")"
if [ -f "$dir/.packages" ] && cmp -s "$tmp/stamp" "$dir/.packages"; then
    exit 0
fi

mkdir -p "$tmp/debs"
# apt-get download writes into the current directory, as the _apt user when
# that user exists; a private temp directory is root's, so download as root.
# shellcheck disable=SC2046
(cd "$tmp/debs" && apt-get download -qq -o APT::Sandbox::User=root \
    $(sed 's/ /=/' "$tmp/packages") >/dev/null) ||
    die "apt-get download failed for: $(tr '\n' ' ' <"$tmp/names")"

mkdir -p "$(dirname "$dir")"
stage=$(mktemp -d "$dir.new.XXXXXX")
for deb in "$tmp/debs"/*.deb; do
    [ -e "$deb" ] || die "apt-get download left no .deb in $tmp/debs"
    dpkg -x "$deb" "$stage" || die "dpkg -x $deb failed"
done

# Merged /usr: what dpkg put in /lib, /bin, /sbin (and /lib32, /libx32,
# /lib64 if any) moves into /usr, and the top-level names become relative
# symlinks, as usrmerge leaves an installed Debian 12.  Two packages never
# ship one path in both places, so a clash is an error.
for d in bin sbin lib lib32 libx32 lib64; do
    [ -d "$stage/$d" ] && [ ! -L "$stage/$d" ] || continue
    mkdir -p "$stage/usr/$d"
    (cd "$stage/$d" && find . ! -type d) | while read -r f; do
        [ ! -e "$stage/usr/$d/$f" ] && [ ! -L "$stage/usr/$d/$f" ] ||
            die "merged /usr: both /$d/$f and /usr/$d/$f exist"
        mkdir -p "$(dirname "$stage/usr/$d/$f")"
        mv "$stage/$d/$f" "$stage/usr/$d/$f"
    done
    rm -rf "${stage:?}/$d"
    ln -s "usr/$d" "$stage/$d"
done
for d in bin sbin lib; do
    [ -e "$stage/$d" ] || ln -s "usr/$d" "$stage/$d"
done
# /etc/ld.so.cache, as libc-bin's trigger makes it on an installed system
# (libc-bin itself, a host-architecture package, is not fetched: its
# /etc/ld.so.conf is written here).  Without a cache of its own, a program
# run with qemu-user's -L meaning would read the host's /etc/ld.so.cache
# and load the host's /lib32 libraries instead of the sysroot's.
[ -e "$stage/etc/ld.so.conf" ] || echo 'include /etc/ld.so.conf.d/*.conf' >"$stage/etc/ld.so.conf"
ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
"$ldconfig" -X -r "$stage" || die "ldconfig -r $stage failed"
[ -s "$stage/etc/ld.so.cache" ] || die "ldconfig -r $stage made no /etc/ld.so.cache"
# dpkg -x gives the root the package's directory mode; keep it usable.
chmod 755 "$stage"

for p in $progs; do
    [ -e "$stage/$p" ] || die "after unpacking, $p is missing"
done
cp "$tmp/stamp" "$stage/.packages"

if [ -e "$dir" ]; then
    if [ ! -f "$dir/.packages" ] && [ -n "$(ls -A "$dir")" ]; then
        die "$dir exists, is not empty and was not made by this script: not replacing it"
    fi
    rm -rf "$dir"
fi
mv "$stage" "$dir"
stage=
