#!/bin/sh
# relocate.sh IN OUT SYSCONFDIR DOCDIR: IN, which names the paths of the
# Debian package (/etc/vfio-migfs, /usr/share/doc/vfio-migfs), with those
# of this build, so that what is installed names what is installed (a
# meson install under /usr/local has /usr/local/etc/vfio-migfs).  Both
# spellings are replaced: plain, and roff's (a '-' written '\-').
set -eu
in=$1 out=$2 etc=$3/vfio-migfs doc=$4
roff() { printf '%s' "$1" | sed 's/-/\\\\-/g'; }
sed -e "s|/etc/vfio\\\\-migfs|$(roff "$etc")|g" -e "s|/etc/vfio-migfs|$etc|g" \
    -e "s|/usr/share/doc/vfio\\\\-migfs|$(roff "$doc")|g" \
    -e "s|/usr/share/doc/vfio-migfs|$doc|g" "$in" >"$out"
