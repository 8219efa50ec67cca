#!/bin/bash
# The daemon's command line, start-up errors, modes and shutdown paths.
. "$(dirname "$0")/lib.sh"

A=$(mnt a)
B=$(mnt b)
# A daemon that mounts over its working directory (an empty MOUNTPOINT
# did) must cover scratch only.
cd "$(mnt cwd)" || exit 1

# --help and --version.
check "--help exits 0 and shows usage" sh -c '"$0" --help | grep -q "^usage: vfio-migfsd"' "$MIGFSD"
check "--version" sh -c '"$0" --version | grep -q "^vfio-migfsd [0-9]"' "$MIGFSD"

# bounded SECS COMMAND...: COMMAND, killed after SECS with whatever it
# left in its process group (a daemon stuck in start-up, before it
# detached, holds its parent's output open).
bounded() {
	local secs=$1 pid rc=0
	shift
	timeout -k 2 "$secs" "$@" &
	pid=$!
	wait "$pid" || rc=$?
	kill -9 -- "-$pid" 2>/dev/null
	return "$rc"
}

# (mountinfo, not mountpoint(1): a mount left behind fails its stat.)
listed() { grep -q " $1 " /proc/self/mountinfo; }

# startup_error WANT ARGS...: exit 1 (RC=2: a command line that makes no
# sense), one line naming WANT, and no mount left behind (mountpoints
# already mounted by a test are listed in KEEP).
KEEP=""
startup_error() {
	local want=$1 out rc=0
	shift
	bounded 10 "$MIGFSD" "$@" >/dev/null 2>"$T/startup.err" || rc=$?
	out=$(cat "$T/startup.err")
	eq "exit status of vfio-migfsd $*" "$rc" "${RC:-1}"
	eq "lines of error for vfio-migfsd $*" "$(printf '%s\n' "$out" | wc -l)" 1
	case $out in *"$want"*) ok ;; *) fail "error for $*: '$out' does not name '$want'" ;; esac
	for m in "$A" "$B"; do
		case " $KEEP " in *" $m "*) continue ;; esac
		if mountpoint -q "$m"; then
			fail "vfio-migfsd $* left $m mounted"
			umount -l "$m"
		fi
	done
}

RC=2 startup_error "--bogus" --bogus sim:a "$A"
RC=2 startup_error "nosuch" -o nosuch sim:a "$A"
RC=2 startup_error "DEVICE MOUNTPOINT" sim:a
RC=2 startup_error "--threads takes 1 to 64, not '0'" -t 0 sim:a "$A"
startup_error "foo:x" foo:x "$A"
startup_error "size" sim:a,size=lots "$A"
startup_error "$T/missing" sim:a "$T/missing"
# The second pair is bad: the first must not stay mounted.
startup_error "$T/missing" sim:a "$A" sim:b "$T/missing"
startup_error "given twice" sim:a "$A" sim:b "$A"
# Mountpoints are compared by their canonical names, and none may lie
# below another: the daemon would reach it through its own mount, which
# no worker serves yet (it hung there, in D state).
ln -s "$A" "$T/alink"
mkdir "$A/sub"
startup_error "$A: busy: given twice" sim:a "$A" sim:b "$A/."
startup_error "$A: busy: given twice" sim:a "$A" sim:b "$T/alink"
startup_error "$A: busy: given twice" sim:a "$T/alink/" sim:b "$T/./a"
startup_error "$A and $A/sub: one mountpoint below another" sim:a "$A" sim:b "$A/sub"
startup_error "$A/sub and $A: one mountpoint below another" sim:a "$A/sub" sim:b "$T/alink"
rmdir "$A/sub"	# a mountpoint is empty (below)
startup_error "an empty MOUNTPOINT names no directory" sim:a ""
startup_error "an empty MOUNTPOINT names no directory" sim:a "$A" sim:b ""
startup_error "unknown option 'bogus'" sim:a,bogus=1 "$A"
startup_error "option 'size' needs a value" sim:a,size "$A"
# peer=NAME binds to one sim: a NAME given twice is refused.
startup_error "sim:a: another sim of this daemon has that name (peer= names one)" sim:a "$A" sim:a,size=4K "$B"

# VFIO devices: what is refused before any ioctl (the real ones are in
# the kernel lane, tests/kernel/guest-fs-test.sh).
startup_error "vfio:nonsense: not a PCI address, mdev UUID or sysfs device path" vfio:nonsense "$A"
startup_error "vfio:: the device is missing" vfio: "$A"
uuid=00000000-0000-4000-8000-000000000000
startup_error "no such device (/sys/bus/mdev/devices/$uuid)" "vfio:$uuid" "$A"
startup_error "no such device (/sys/bus/pci/devices/0000:ff:1f.7)" vfio:ff:1f.7 "$A"
# Any spelling vfio-migctl prepare takes, looked up as sysfs spells it.
startup_error "no such device (/sys/bus/pci/devices/0000:ff:1f.7)" vfio:0:FF:1F.7 "$A"
startup_error "no such device (/sys/bus/pci/devices/0001:02:03.4)" vfio:1:2:3.4 "$A"
startup_error "vfio:0000:ff:20.0: not a PCI address, mdev UUID or sysfs device path" vfio:0000:ff:20.0 "$A"
startup_error "dirty=fast: expected auto, device, type1, iommufd or none" "vfio:$uuid,dirty=fast" "$A"
startup_error "option 'cdev' takes no value" "vfio:$uuid,cdev=1" "$A"
startup_error "unknown option 'container'" "vfio:$uuid,container=3" "$A"
startup_error "fd:x: fd=x: not a file descriptor number" fd:x "$A"
startup_error "fd:200: device fd 200 is not an open file descriptor" fd:200 "$A"
startup_error "fd:0: fd 0 is not a VFIO device" fd:0 "$A" </dev/null
startup_error "hwpt=0: not a page table id" "fd:0,hwpt=0" "$A"
RC=2 startup_error "--container-fd takes a file descriptor number, not 'x'" --container-fd x fd:0 "$A"

# Without -f the command returns once the mounts are ready.
"$MIGFSD" sim:a "$A" sim:b "$B"
eq "background start" "$?" 0
eq "state readable on the next line" "$(cat "$A/state")" running
eq "second device mounted" "$(cat "$B/state")" running
# A busy mountpoint is refused and the running mount is untouched.
KEEP="$A $B"
startup_error "busy" sim:c "$A"
eq "busy mount untouched" "$(cat "$A/state")" running
KEEP=""
# Unmounting every mountpoint ends the daemon.
pid=$(pgrep -f "vfio-migfsd sim:a $A")
umount "$A"
eq "still serving the other mount" "$(cat "$B/state")" running
umount "$B"
for _ in $(seq 50); do
	[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
case $(ps -o stat= -p "$pid" 2>/dev/null) in
	""|Z*) ok ;;
	*) fail "daemon $pid still running after all mounts were unmounted" ;;
esac

# A write to an unmounted mountpoint made a plain file there: the next
# daemon does not hide it (nor a directory of files, /etc say, named
# through ../ or a symlink) unless told to.
echo stop_copy > "$A/state"
startup_error "$A: not empty: a mount would hide what it holds (--force-nonempty mounts anyway)" sim:a "$A"
mkdir "$T/conf" && echo x > "$T/conf/x.conf"
ln -s "$T/conf" "$T/conflink"
startup_error "$T/conf: not empty" sim:a "$T/conflink"
startup_error "$T/conf: not empty" sim:a "$A/../conf"
"$MIGFSD" --force-nonempty sim:a "$A"
eq "--force-nonempty mounts over the file" "$(cat "$A/state")" running
umount "$A"
eq "the file is there again" "$(cat "$A/state")" stop_copy
rm "$A/state"

# Daemons started at one moment on one path: one mounts, the others are
# refused as busy (both mounted, 1 run in 20).
# race WHAT: three daemons started at once on $A: one mount, one success.
race() {
	local i pids=() ok=0
	for i in 1 2 3; do
		"$MIGFSD" "sim:r$i" "$A" 2>>"$T/race.err" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" && ok=$((ok + 1))
	done
	eq "$1: one mount of three simultaneous starts" \
		"$(findmnt -n -o TARGET --mountpoint "$A" | wc -l)" 1
	eq "$1: one start succeeds" "$ok" 1
}
for round in $(seq 20); do
	race "round $round"
	while listed "$A"; do umount -l "$A"; done
done
eq "the others are told it is busy" "$(grep -cv "$A: busy: " "$T/race.err")" 0
# The same over a stale mount: one replaces it, and no other detaches the
# new mount it made.
: >"$T/race.err"
for round in $(seq 10); do
	start sim:s "$A"
	kill -9 "$DPID"
	wait "$DPID" 2>/dev/null
	race "stale, round $round"
	eq "stale, round $round: the mount answers" "$(timeout 5 cat "$A/state")" running
	while listed "$A"; do umount -l "$A"; done
done
# The lock is no file another user may hold: a start is not kept waiting.
if id nobody >/dev/null 2>&1; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		bash -c 'exec 9<"$0" && flock 9 && exec sleep 20' "$A" >/dev/null 2>&1 &
	holder=$!
	for _ in $(seq 50); do flock -n "$A" true || break; sleep 0.1; done
	check "another user holds a flock of the mountpoint" sh -c '! flock -n "$0" true' "$A"
	rc=0
	bounded 10 "$MIGFSD" sim:a "$A" 2>>"$T/daemon.log" || rc=$?
	eq "a start beside another user's flock of the mountpoint" "$rc" 0
	umount "$A"
	kill "$holder"
	wait "$holder" 2>/dev/null
fi
eq "stale: the others are told it is busy" "$(grep -v "replaced the stale mount" "$T/race.err" | grep -cv "$A: busy: ")" 0

# A daemon stopped (or stuck in a driver) holds every request to its
# mount: a daemon started there is refused after a bound, naming it.
start sim:a "$A"
kill -STOP "$DPID"
KEEP="$A"
startup_error "$A: busy: the vfio-migfsd serving it does not answer" sim:b "$A"
startup_error "$A: busy: the vfio-migfsd serving it does not answer" sim:b "$T/alink/."
KEEP=""
kill -CONT "$DPID"
eq "the stopped daemon serves again" "$(cat "$A/state")" running
stop_daemon

# File modes: what changes or streams the device is 0600, information 0444.
start sim:a "$A"
for f in state data reset dirty/page_size dirty/ranges dirty/tracking \
	 sim/digest sim/dma sim/fail; do
	eq "mode of $f" "$(stat -c %a "$A/$f")" 600
done
for f in states features precopy data_size status; do
	eq "mode of $f" "$(stat -c %a "$A/$f")" 444
done
eq "listing" "$(ls "$A" | tr '\n' ' ')" "data data_size dirty features log precopy reset sim state states status "
eq "data block size" "$(stat -c %o "$A/data")" 1048576
# Write-only and read-only files refuse the other direction.
eq "reading reset" "$(rerr "$A/reset")" "Permission denied"
eq "writing status" "$(werr "$A/status" x)" "Permission denied"
eq "mountinfo type" "$(findmnt -n -o FSTYPE "$A")" fuse.vfio-migfs
# Private by default: another user cannot even look.
if id nobody >/dev/null 2>&1; then
	eq "private mount" "$(as_nobody cat "$A/status" 2>&1 >/dev/null | sed 's/.*: //')" "Permission denied"
fi
# Ended with a stream half read: the read-ahead thread, waiting for room
# in its full slots, is stopped and joined (a missed wake-up hangs here).
echo stop_copy > "$A/state"
dd if="$A/data" of=/dev/null bs=1000 count=1 status=none
stop_daemon
check "SIGTERM unmounts" sh -c '! mountpoint -q "$0"' "$A"

# allow_other: others read information, never state or data.
start -o allow_other sim:a "$A"
if id nobody >/dev/null 2>&1; then
	eq "other user reads status" "$(as_nobody cat "$A/status" | grep -c "^state: running")" 1
	eq "other user reads state" "$(as_nobody cat "$A/state" 2>&1 | sed 's/.*: //')" "Permission denied"
	eq "other user writes state" "$(as_nobody sh -c 'echo stop > "$0/state"' "$A" 2>&1 | sed 's/.*: //')" "Permission denied"
	eq "other user reads data" "$(as_nobody cat "$A/data" 2>&1 | sed 's/.*: //')" "Permission denied"
	eq "state unchanged" "$(cat "$A/state")" running
fi
stop_daemon

# A relative mountpoint: the daemon leaves its directory when it detaches,
# and still unmounts that mount, and only it, when it ends.
# (Named after $T: pkill must find this test's daemon and no other's.)
rel=rel-${T##*.}
mnt "$rel" >/dev/null
(cd "$T" && "$MIGFSD" sim:r "$rel")
eq "relative mountpoint" "$(cat "$T/$rel/state")" running
pkill -TERM -xf "$MIGFSD sim:r $rel"
for _ in $(seq 50); do listed "$T/$rel" || break; sleep 0.1; done
check "relative mountpoint unmounted at SIGTERM" sh -c '! grep -q " $0 " /proc/self/mountinfo' "$T/$rel"

# A mountpoint named through itself ("d/.") or a symlink is mounted at its
# canonical name, and the daemon, in the background, returns (it hung in
# D state, on a request of its new mount that no worker served yet).
for name in "$A/." "$T/alink" "$T/alink/./"; do
	rc=0
	bounded 10 "$MIGFSD" sim:a "$name" 2>>"$T/daemon.log" || rc=$?
	eq "start at $name" "$rc" 0
	eq "$name: mounted at its canonical name" "$(timeout 5 findmnt -no TARGET -T "$A")" "$A"
	eq "$name: answers" "$(timeout 5 cat "$A/state")" running
	pkill -TERM -xf "$MIGFSD sim:a $name"
	for _ in $(seq 50); do listed "$A" || break; sleep 0.1; done
	check "$name: unmounted at SIGTERM" sh -c '! grep -q " $0 " /proc/self/mountinfo' "$A"
done

# SIGTERM at any moment of start-up ends the daemon, and leaves no mount.
for delay in 0 0.005 0.01 0.02 0.05 0.1 0.2; do
	"$MIGFSD" -f sim:a,size=64M "$A/." sim:b "$T/alink/../b" 2>>"$T/daemon.log" &
	pid=$!
	sleep "$delay"
	kill -TERM "$pid"
	check "SIGTERM $delay s into start-up ends the daemon" timeout -k 2 10 tail --pid="$pid" -f /dev/null
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for m in "$A" "$B"; do
		check "SIGTERM $delay s into start-up: $m not left mounted" \
			sh -c '! grep -q " $0 " /proc/self/mountinfo' "$m"
		listed "$m" && umount -l "$m"
	done
done

# SIGTERM while a worker holds a request (a load of 10 s): the daemon
# waits for it, and a second SIGTERM ends it at once, leaving no mount;
# the writer gets an error, not a hang.  (Not under valgrind: leaving at
# once, the daemon frees nothing.)
"$MIGFSD" -f sim:a,load_us=10000000 "$A" 2>>"$T/daemon.log" &
DPID=$!
PIDS="$PIDS $DPID"
wait_mounted "$A" "$DPID" "$T/daemon.log"
echo resuming >"$A/state"
head -c 65536 /dev/zero >"$T/w64k"
# 64 KiB are answered before their load: close(2) waits for the load.
timeout -k 2 20 dd if="$T/w64k" of="$A/data" bs=64k status=none 2>/dev/null &
wpid=$!
sleep 0.5
kill -TERM "$DPID"
sleep 0.3
check "a worker loading holds the first SIGTERM" kill -0 "$DPID"
kill -TERM "$DPID"
check "second SIGTERM ends the daemon" timeout -k 2 3 tail --pid="$DPID" -f /dev/null
rc=0
wait "$DPID" || rc=$?
eq "exit status after a second SIGTERM" "$rc" 1
check "second SIGTERM: not left mounted" sh -c '! grep -q " $0 " /proc/self/mountinfo' "$A"
check "the writer is answered" timeout -k 2 3 tail --pid="$wpid" -f /dev/null
rc=0
wait "$wpid" || rc=$?
check "the writer is told of the end (status $rc)" [ "$rc" != 0 ] && [ "$rc" != 124 ]

# SIGKILL: no process hangs, and a new daemon mounts the same place.
start sim:a "$A"
echo stop > "$A/state"
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
check "stale mount answers at once" timeout 5 sh -c '! cat "$0/state" 2>/dev/null' "$A"
start sim:a "$A"
eq "new daemon after SIGKILL" "$(cat "$A/state")" running
grep -q "stale" "$T/daemon.log" && ok || fail "no word of the stale mount it replaced"
stop_daemon

# answer FILE: FILE's content once it can be read (30 s at most, as
# start's own wait: valgrind is slow to start).
answer() {
	timeout 30 sh -c 'until cat "$0" 2>/dev/null; do sleep 0.05; done' "$1"
}
# The same where mountinfo escapes the name (a space is \040 there), and
# named through "." or a symlink while stale (its own stat fails).
for name in "with space" 'back\slash' $'tab\there' 'odd#$&;(x)'; do
	D=$(mnt "$name")
	start sim:a "$D"
	kill -9 "$DPID"
	wait "$DPID" 2>/dev/null
	: >"$T/daemon.log"
	# (start's wait may see the stale mount's cached state file.)
	start sim:a "$D/."
	eq "'$name': new daemon after SIGKILL" "$(answer "$D/state")" running
	grep -q "stale" "$T/daemon.log" && ok || fail "'$name': no word of the stale mount it replaced"
	eq "'$name': one mount there" "$(findmnt -n -o TARGET --mountpoint "$D" | wc -l)" 1
	stop_daemon
	check "'$name': unmounted at SIGTERM" sh -c '! mountpoint -q "$0"' "$D"
done
ln -s "$A" "$T/stalelink"
start sim:a "$A"
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
sleep 1.1	# the root's cached attributes expire: the stale mount is asked
start sim:a "$T/stalelink/."
eq "stale mount named through a symlink: replaced" "$(answer "$A/state")" running
stop_daemon

finish
