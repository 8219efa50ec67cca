#!/bin/bash
# build.sh DIR [meson options...]: configure (once) and build.
set -eu
dir=$1
shift
cd "$(dirname "$0")/.."
if [ -f "$dir/build.ninja" ]; then
	meson configure "$dir" "$@" >/dev/null
else
	meson setup "$dir" "$@" >/dev/null
fi
ninja -C "$dir" >/dev/null
