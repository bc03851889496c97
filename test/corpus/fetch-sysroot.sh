#!/bin/sh
# fetch-sysroot.sh DIR: Debian's static i386 programs for the corpus tests,
# fetched by package name and unpacked into DIR (never installed on the host).
#
#   dpkg --add-architecture i386      (once)
#   apt-get update
#   apt-get download busybox-static:i386 bash-static:i386 zsh-static:i386 sash:i386
#   dpkg -x PKG.deb DIR               (each)
#
# Needs root for the first two steps (CI runs as root).  Idempotent: a DIR
# that already holds all four programs is left as it is, so a second run
# costs nothing and needs no network.  Quiet on success; any failure stops
# the script with a message and a non-zero status.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
pkgs="busybox-static:i386 bash-static:i386 zsh-static:i386 sash:i386"
progs="bin/busybox bin/bash-static bin/zsh-static bin/sash"

have_all() {
    for p in $progs; do
        [ -x "$dir/$p" ] || return 1
    done
}
if have_all; then
    exit 0
fi

die() {
    echo "fetch-sysroot.sh: $*" >&2
    exit 1
}

if ! dpkg --print-foreign-architectures | grep -qx i386; then
    dpkg --add-architecture i386 || die "dpkg --add-architecture i386 failed (are you root?)"
fi
# An update is needed after adding the architecture, and the lists may be
# old anyway; apt-get prints its own errors.
apt-get update -qq >/dev/null || die "apt-get update failed"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt-get download writes into the current directory, as the _apt user when
# that user exists; a private temp directory is root's, so download as root
# (what apt would fall back to anyway, with a warning).
(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root $pkgs >/dev/null) ||
    die "apt-get download $pkgs failed"

mkdir -p "$dir"
for deb in "$tmp"/*.deb; do
    [ -e "$deb" ] || die "apt-get download left no .deb in $tmp"
    dpkg -x "$deb" "$dir" || die "dpkg -x $deb failed"
done
# dpkg -x gives DIR the package's root directory mode; keep it usable.
chmod 755 "$dir"

have_all || die "after unpacking, one of $progs is missing in $dir"
