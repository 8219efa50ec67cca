#!/bin/bash
# The demo: two simulated devices, one migrated into the other with nothing
# but echo and cat, each step shown.  Run as root on Debian bookworm.
# With --installed: the package's programs in /usr, not a build.
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" = --installed ]; then
	MIGFSD=/usr/sbin/vfio-migfsd MIGCTL=/usr/bin/vfio-migctl
	[ -x $MIGFSD ] && [ -x $MIGCTL ] ||
		{ echo "demo: $MIGFSD and $MIGCTL are not installed" >&2; exit 1; }
else
	scripts/deps.sh --demo
	scripts/build.sh build-demo -Dtests=false
	MIGFSD=$PWD/build-demo/fsd/vfio-migfsd
	MIGCTL=$PWD/build-demo/tools/vfio-migctl
fi

dir=$(mktemp -d /tmp/vfio-migfs-demo.XXXXXX)
src=$dir/src dst=$dir/dst
mkdir "$src" "$dst"
cleanup() {
	umount "$src" "$dst" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

step() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; eval "$@"; }

step "Mount a running source device (its state changes 100 times a second) and a destination"
run "$MIGFSD" "sim:src,size=8M,dirty_rate=100" "$src" "sim:dst,size=8M" "$dst"
run cat "$src/states"
run cat "$src/sim/digest" "$dst/sim/digest"

step "Pre-copy: stream the state while the source keeps running"
run "echo pre_copy > $src/state"
run cat "$src/precopy"
run "cat $src/data > $dir/stream"
run "echo resuming > $dst/state"
run "cat $dir/stream > $dst/data"
sleep 0.2
step "The source changed blocks after sending them: they are offered again"
run cat "$src/precopy"
run "cat $src/data | tee $dir/round2 > $dst/data"

step "Stop-and-copy: the source stops and sends what is left; EOF means all of it"
run "echo stop_copy > $src/state"
run "cat $src/data > $dst/data"
run "echo stop > $src/state"

step "The destination loads the stream on leaving RESUMING"
run "echo stop > $dst/state"
run cat "$src/sim/digest" "$dst/sim/digest"
if [ "$(cat "$src/sim/digest")" != "$(cat "$dst/sim/digest")" ]; then
	echo "demo: FAILED: the digests differ" >&2
	exit 1
fi
run "echo running > $dst/state"
run cat "$dst/status"

step "A corrupted stream is refused and the device says so"
run "echo 1 > $src/reset"
run "echo stop_copy > $src/state"
run "cat $src/data > $dir/good"
run "echo 1 > $dst/reset"
run "echo resuming > $dst/state"
run "head -c 4000 $dir/good > $dst/data"
run "echo stop > $dst/state || true"
run cat "$dst/state"
run "echo 1 > $dst/reset"
run cat "$dst/state"

step "The same migration with vfio-migctl: a checked stream, through a pipe"
run "echo 1 > $src/reset"
run "$MIGCTL save $src - | $MIGCTL load --run $dst -"
run "$MIGCTL status $src $dst"
run cat "$src/sim/digest" "$dst/sim/digest"
if [ "$(cat "$src/sim/digest")" != "$(cat "$dst/sim/digest")" ]; then
	echo "demo: FAILED: the digests differ after vfio-migctl" >&2
	exit 1
fi
run "cat $src/log | tail -4"

step "Unmount: the daemon ends"
umount "$src" "$dst"
echo "demo: the destination's state equals the source's: migration done"
