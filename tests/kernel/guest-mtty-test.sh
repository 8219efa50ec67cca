#!/bin/bash
# Guest script for run-lane.sh -k 6.12: vfio-migfsd on upstream's mtty
# (samples/vfio-mdev/mtty.c of linux-source-6.12: STOP_COPY, P2P, PRE_COPY,
# PRECOPY_INFO, MIG_DATA_SIZE; no dirty logging), a driver nobody here wrote,
# through the mounted files, the shell and vfio-migctl.
#   guest-mtty-test.sh MTTY_SCR VFIO_MIGCTL MIGTEST_OWNER [VFIO_MIGFSD]
# mtty's own bugs (kernel-lane-612.md) shape the test: a device is never left
# in resuming across a close (the next RESUMING -> STOP oopses), and no
# damaged stream is fed to it (it keeps the bytes of a refused write).
[ $# -ge 3 ] || { echo "usage: guest-mtty-test.sh MTTY_SCR VFIO_MIGCTL MIGTEST_OWNER [VFIO_MIGFSD]" >&2; exit 2; }
SCR=$1
MIGCTL=$2
OWNER=$3
MIGFSD=${4:-$MIGTEST_BUILDDIR/fsd/vfio-migfsd}
. "$(dirname "$0")/../fs/lib.sh"
. "$MIGTEST_LIB"
[ -n "$MTTY_KO" ] || { echo "SKIP: mtty is built on 6.12 only"; exit 77; }

# mtty-1: one port, a 60-byte stream of which PRE_COPY offers 24 at first.
MTYPE=$MTTY_PARENT/mdev_supported_types/mtty-1
# The daemon opens mtty through the cdev and /dev/iommu where the kernel
# has them (the lane's 6.12-iommufd), else through the group.
OPEN=
[ "$MIGTEST_KERNEL" = 6.12-iommufd ] && OPEN=,cdev
STREAM_LEN=60
INITIAL=24
ALL_STATES="running stop stop_copy resuming running_p2p pre_copy pre_copy_p2p"

# new_mtty VAR: creates an mtty-1 device and sets VAR to its UUID.
new_mtty() {
	local u
	u=$(migtest_uuid)
	echo "$u" > "$MTYPE/create" || { echo "FAIL: cannot create an mtty" >&2; exit 1; }
	printf -v "$1" %s "$u"
}

status_of() { sed -n "s/^$2: //p" "$1/status"; }

# rerr3: like rerr, for a read of 4 bytes from the file open on fd 3.
rerr3() {
	local out
	if out=$(head -c 4 <&3 2>&1 >/dev/null); then echo ok; else echo "${out##*: }"; fi
}

# start_pair: A and B mounted by one daemon, both brought to running.
start_pair() {
	start "vfio:$A$OPEN" "$MA" "vfio:$B$OPEN" "$MB"
	echo 1 > "$MA/reset"
	echo 1 > "$MB/reset"
}

new_mtty A
new_mtty B
MA=$(mnt a)
MB=$(mnt b)

section "states and features"
start_pair
if [ -n "$OPEN" ]; then
	grep -q '^iommufd, ioas [0-9]*, hwpt 0$' "$MA/vfio/iommu" && ok ||
		fail "cdev: vfio/iommu: $(cat "$MA/vfio/iommu")"
fi
for m in "$MA" "$MB"; do
	eq "$m: states" "$(cat "$m/states")" "[running] stop stop_copy resuming running_p2p pre_copy pre_copy_p2p"
	eq "$m: features" "$(cat "$m/features")" "stop_copy p2p pre_copy dirty"
	eq "$m: data_size (MIG_DATA_SIZE)" "$(cat "$m/data_size")" $STREAM_LEN
	eq "$m: precopy outside pre_copy" "$(rerr "$m/precopy")" "No data available"
done

section "every arc"
echo stop_copy > "$MA/state"
cat "$MA/data" > "$T/self.img"
eq "stream length" "$(stat -c %s "$T/self.img")" $STREAM_LEN
echo 1 > "$MA/reset"
for from in $ALL_STATES; do
	for to in $ALL_STATES; do
		echo 1 > "$MA/reset"
		eq "enter $from" "$(werr "$MA/state" "$from")" ok
		if [ "$from" = resuming ] && [ "$to" != resuming ]; then
			cat "$T/self.img" > "$MA/data" || fail "$from -> $to: writing the stream"
		fi
		case $from:$to in
		stop_copy:pre_copy*)
			# The kernel's table has no such arc: refused before any
			# ioctl, the device stays where it was.
			eq "$from -> $to refused" "$(werr "$MA/state" "$to")" "Invalid argument"
			mnt_state_is "$MA" "$from" "$from -> $to"
			;;
		*)
			eq "$from -> $to" "$(werr "$MA/state" "$to")" ok
			mnt_state_is "$MA" "$to" "$from -> $to"
			;;
		esac
	done
done
echo 1 > "$MA/reset"

section "reset from every state"
for s in $ALL_STATES; do
	echo "$s" > "$MA/state"
	eq "reset from $s" "$(werr "$MA/reset" 1)" ok
	mnt_state_is "$MA" running "after reset from $s"
done

section "pre_copy: one open, read in pre_copy then in stop_copy"
echo pre_copy > "$MA/state"
eq "precopy, before reading" "$(cat "$MA/precopy" | tr '\n' ' ')" "initial_bytes $INITIAL dirty_bytes 0 "
exec 3< "$MA/data"
cat <&3 > "$T/pre.part"
eq "bytes read in pre_copy" "$(stat -c %s "$T/pre.part")" $INITIAL
eq "precopy, after reading" "$(cat "$MA/precopy" | tr '\n' ' ')" "initial_bytes 0 dirty_bytes 0 "
eq "nothing more for now" "$(cat <&3 | wc -c)" 0
echo stop_copy > "$MA/state"
cat <&3 > "$T/stop.part"
exec 3<&-
eq "bytes read in stop_copy" "$(stat -c %s "$T/stop.part")" $((STREAM_LEN - INITIAL))
cat "$T/pre.part" "$T/stop.part" > "$T/pre.img"
eq "B takes the stream" "$(werr "$MB/state" resuming)" ok
cat "$T/pre.img" > "$MB/data" || fail "writing the pre_copy stream into B"
eq "B runs it" "$(werr "$MB/state" running)" ok
echo 1 > "$MA/reset"

section "pre_copy_p2p"
eq "running -> pre_copy_p2p" "$(werr "$MA/state" pre_copy_p2p)" ok
mnt_state_is "$MA" pre_copy_p2p "pre_copy_p2p"
eq "precopy in pre_copy_p2p" "$(sed -n 's/^initial_bytes //p' "$MA/precopy")" $INITIAL
eq "pre_copy_p2p -> stop_copy" "$(werr "$MA/state" stop_copy)" ok
eq "whole stream in stop_copy" "$(cat "$MA/data" | wc -c)" $STREAM_LEN
echo 1 > "$MA/reset"

section "stale handles"
echo stop_copy > "$MA/state"
exec 3< "$MA/data"
eq "read binds the handle" "$(rerr3)" ok
echo running > "$MA/state"
eq "read after the session ended" "$(rerr3)" "Stale file handle"
echo stop_copy > "$MA/state"
eq "still stale in a new session" "$(rerr3)" "Stale file handle"
exec 3<&-
echo 1 > "$MA/reset"
echo pre_copy > "$MA/state"
exec 3< "$MA/data"
eq "pre_copy read binds" "$(rerr3)" ok
echo 1 > "$MA/reset"
eq "pre_copy handle after reset" "$(rerr3)" "Stale file handle"
exec 3<&-
echo resuming > "$MB/state"
exec 4> "$MB/data"
head -c 16 "$T/self.img" >&4 || fail "first write into B"
echo 1 > "$MB/reset"
eq "write after reset" "$( { head -c 4 "$T/self.img" >&4; } 2>&1 | sed 's/.*: //')" \
	"Stale file handle"
exec 4>&-
mnt_state_is "$MB" running "B after the reset"
stop_daemon

# mtty keeps its state across close, against the uAPI's rule that a fresh
# open starts in running: a daemon that opens it must bring it there.
section "own open: a device left in pre_copy or stop_copy starts in running"
for s in pre_copy stop_copy; do
	start "vfio:$A$OPEN" "$MA"
	echo "$s" > "$MA/state"
	head -c 4 "$MA/data" > /dev/null	# a session half read
	stop_daemon
	start "vfio:$A$OPEN" "$MA"
	mnt_state_is "$MA" running "reopened after $s"
	eq "log: what was found" \
		"$(grep -c "opened in $s (left there by its last user): reset to running" "$MA/log")" 1
	eq "session after $s" "$(status_of "$MA" session)" none
	stop_daemon
done

# A device handed over keeps its owner's state, but its data_fd went with
# the first daemon: the second one must not claim that session.
section "fd: a device handed over in pre_copy, without its session"
MH=$(mnt h)
# shellcheck disable=SC2016
"$OWNER" "$A" 0x100000 1M -- sh -c '"$@" && exec "$@"' relay "$MIGFSD" -f 'fd:{dev}' "$MH" \
	2>"$T/owner-h.log" &
OPID=$!
PIDS="$PIDS $OPID"
wait_mounted "$MH" $OPID "$T/owner-h.log"
echo pre_copy > "$MH/state"
head -c 4 "$MH/data" > /dev/null
umount "$MH"
wait_mounted "$MH" $OPID "$T/owner-h.log"
mnt_state_is "$MH" pre_copy "the second daemon finds it"
eq "session" "$(status_of "$MH" session)" "none (the device entered it without us: no data stream)"
eq "log says so" "$(grep -c 'no session: the device entered pre_copy without us' "$MH/log")" 1
eq "precopy without a session" "$(rerr "$MH/precopy")" "No data available"
eq "data without a session" "$(rerr "$MH/data")" "No data available"
eq "stop_copy, inside the saving group" "$(werr "$MH/state" stop_copy)" ok
eq "data, still no session" "$(rerr "$MH/data")" "No data available"
eq "leave the saving group" "$(werr "$MH/state" stop)" ok
eq "stop_copy: a session of our own" "$(werr "$MH/state" stop_copy)" ok
eq "its whole stream" "$(cat "$MH/data" | wc -c)" $STREAM_LEN
echo 1 > "$MH/reset"
kill -TERM $OPID
wait $OPID
eq "owner after SIGTERM" $? 0

# carry VALUE: the value goes into A's scratch register, B's is cleared;
# the caller migrates A into B; check_carried VALUE then reads B's.
carry() {
	"$SCR" "$A" "$1" || fail "writing A's scratch register"
	"$SCR" "$B" 0 || fail "clearing B's scratch register"
	eq "B's scratch register before" "$("$SCR" "$B")" 0x00
	start_pair
}
check_carried() {
	stop_daemon
	eq "$2: B's scratch register" "$("$SCR" "$B")" "$1"
}

section "A -> B by hand (echo and cat)"
carry 0x5a
eq "A: stop_copy" "$(werr "$MA/state" stop_copy)" ok
eq "B: resuming" "$(werr "$MB/state" resuming)" ok
cat "$MA/data" > "$MB/data" || fail "cat A/data > B/data"
eq "B: running" "$(werr "$MB/state" running)" ok
eq "A: running again" "$(werr "$MA/state" running)" ok
check_carried 0x5a "by hand"

section "A -> B with vfio-migctl migrate"
carry 0xa5
out=$("$MIGCTL" migrate "$MA" "$MB" 2>&1) || fail "vfio-migctl migrate: $out"
echo "info: $out"
mnt_state_is "$MB" running "B after migrate"
mnt_state_is "$MA" stop "A after migrate"
echo 1 > "$MA/reset"
check_carried 0xa5 "migrate"

section "A -> B with vfio-migctl save and load"
carry 0x3c
out=$("$MIGCTL" save "$MA" "$T/a.mig" 2>&1) || fail "vfio-migctl save: $out"
out=$("$MIGCTL" load --run "$MB" "$T/a.mig" 2>&1) || fail "vfio-migctl load: $out"
mnt_state_is "$MB" running "B after load"
echo 1 > "$MA/reset"
check_carried 0x3c "save and load"

# mtty keeps RESUMING across close but frees its resume file: leaving
# resuming in the next opener oopsed (mtty_set_state). The daemon's reset
# at open takes the device out without a RESUMING -> STOP arc; the console
# watcher of run-lane.sh fails the run on any oops.
section "a device left in resuming by an earlier daemon"
start "vfio:$A$OPEN" "$MA"
echo resuming > "$MA/state"
head -c 16 "$T/self.img" > "$MA/data"
stop_daemon
start "vfio:$A$OPEN" "$MA"
mnt_state_is "$MA" running "reopened after resuming"
eq "log: what was found" \
	"$(grep -c "opened in resuming (left there by its last user): reset to running" "$MA/log")" 1
eq "a stream loads after it" "$(werr "$MA/state" resuming)" ok
cat "$T/self.img" > "$MA/data" || fail "writing a whole stream"
eq "resuming -> running" "$(werr "$MA/state" running)" ok
stop_daemon

finish
