#!/bin/bash
# build.sh DIR [meson options...]: configure (once) and build.  Quiet when
# it works; when it does not, the end of what meson or ninja said.
set -u
dir=$1
shift
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ -f "$dir/build.ninja" ]; then
	meson configure "$dir" "$@" >"$log" 2>&1
else
	meson setup "$dir" "$@" >"$log" 2>&1
fi && ninja -C "$dir" >"$log" 2>&1 && exit 0
echo "build.sh: building $dir failed:" >&2
tail -n 40 "$log" >&2
exit 1
