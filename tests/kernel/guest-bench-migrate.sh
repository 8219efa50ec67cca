#!/bin/bash
# Guest script for run-lane.sh: what the mounts cost a real migration.
#   guest-bench-migrate.sh MIGBENCH_DIRECT VFIO_MIGCTL VFIO_MIGFSD RUNS
# vfio_migtest is reloaded with a 64 MiB state.  Each of RUNS + 1 rounds
# (the first one unrecorded) migrates A into B twice, in turn: with
# migbench-direct (raw ioctls in one process, as a VMM) and with
# `vfio-migctl migrate` through a daemon's mounts.  A's state is changed
# before each migration and B's checked against it after.  Prints, per
# recorded round, "direct TOTAL_S DOWNTIME_S" and "mounts TOTAL_S DOWNTIME_MS"
# (each as its program says it); bench/kernel.py makes the ratios.
[ $# = 4 ] || { echo "usage: guest-bench-migrate.sh MIGBENCH_DIRECT VFIO_MIGCTL VFIO_MIGFSD RUNS" >&2; exit 2; }
DIRECT=$1
MIGCTL=$2
MIGFSD=$3
RUNS=$4
. "$(dirname "$0")/../fs/lib.sh"
. "$MIGTEST_LIB"

STATE_SIZE=$((64 << 20))
rmmod vfio_migtest && insmod "$MIGTEST_KO" state_size=$STATE_SIZE ||
	{ echo "FAIL: vfio_migtest with a 64 MiB state" >&2; exit 1; }
A=$(migtest_uuid)
B=$(migtest_uuid)
migtest_create "$A" > /dev/null && migtest_create "$B" > /dev/null ||
	{ echo "FAIL: creating two devices" >&2; exit 1; }
MA=$(mnt a)
MB=$(mnt b)

# carried HOW: B holds A's state, or the run stops here.
carried() {
	local a b
	read -r a < "/sys/bus/mdev/devices/$A/migtest/digest"
	read -r b < "/sys/bus/mdev/devices/$B/migtest/digest"
	[ "$a" = "$b" ] || { echo "FAIL: $1: B's state is not A's ($b, $a)" >&2; exit 1; }
}

change_a() { echo 65536 > "/sys/bus/mdev/devices/$A/migtest/mutate"; }

for round in $(seq 0 "$RUNS"); do
	change_a
	out=$("$DIRECT" "$A" "$B") || { echo "FAIL: migbench-direct: $out" >&2; exit 1; }
	carried migbench-direct
	[ "$round" = 0 ] || echo "direct $out"

	change_a
	start "vfio:$A" "$MA" "vfio:$B" "$MB"
	out=$("$MIGCTL" migrate "$MA" "$MB" 2>&1) || { echo "FAIL: vfio-migctl migrate: $out" >&2; exit 1; }
	carried "vfio-migctl migrate"
	stop_daemon
	times=$(echo "$out" | sed -n 's/^migrated .*, \([0-9.]*\) s, downtime \([0-9.]*\) ms$/\1 \2/p')
	[ -n "$times" ] || { echo "FAIL: vfio-migctl migrate said: $out" >&2; exit 1; }
	[ "$round" = 0 ] || echo "mounts $times"
done
finish
