#!/bin/bash
# A log that does not keep up never holds up a device: the daemon's stderr
# is a pipe nobody reads (as a stopped journald or a stuck terminal), and
# thousands of transitions still return.  Once the pipe drains, the daemon
# says how many events it could not log, and `log` in the mount has them.
# A log stalled for good does not hold up SIGTERM's unmount and exit.
. "$(dirname "$0")/lib.sh"

# stalled NAME: a daemon of sim:NAME at $T/NAME whose stderr is the FIFO
# $T/NAME.err, opened read-write here on fd 3 (a reader that never reads).
stalled() {
	mkfifo "$T/$1.err"
	exec 3<>"$T/$1.err"
	$(daemon_cmd) -f "sim:$1,size=4096,dirty_rate=0" "$(mnt "$1")" 2>"$T/$1.err" &
	DPID=$!
	PIDS="$PIDS $DPID"
	wait_mounted "$T/$1" "$DPID" /dev/null
}

stalled a
A=$T/a

# Each transition is a line of about 70 bytes: 3000 of them are three
# times the 64 KiB a pipe holds.
flip() {
	local i
	for ((i = 0; i < 1500; i++)); do
		echo stop > "$1/state" && echo running > "$1/state" || return 1
	done
}
export -f flip
check "3000 transitions with the log's pipe full" timeout 120 bash -c 'flip "$1"' - "$A"
eq "the device answers" "$(timeout 10 cat "$A/state")" running
eq "log has the last transition" "$(tail -n 1 "$A/log" | grep -c 'stop -> running')" 1

# Drain the pipe: the count of events not logged follows.
: > "$T/daemon.log"
cat "$T/a.err" >> "$T/daemon.log" 3>&- &
drain=$!
i=0
until grep -q 'device events were not logged' "$T/daemon.log"; do
	i=$((i + 1))
	[ $i -gt 300 ] && break
	sleep 0.1
done
check "the daemon counts the events it could not log" \
	grep -Eq '^vfio-migfsd: [0-9]+ device events were not logged' "$T/daemon.log"
stop_daemon
exec 3>&-	# the last writer: the drain ends
wait "$drain"

# A log stalled for good (^S on the terminal, journald stopped) does not
# hold up the end: SIGTERM still unmounts, closes the device and exits.
stalled b
B=$T/b
check "3000 transitions with the log's pipe full, again" timeout 120 bash -c 'flip "$1"' - "$B"
kill -TERM "$DPID"
for _ in $(seq 300); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$DPID" 2>/dev/null; then
	fail "SIGTERM with the log stalled: the daemon still runs after 30 s"
	kill -KILL "$DPID"
fi
rc=0
wait "$DPID" || rc=$?
eq "SIGTERM with the log stalled: exit status" "$rc" 0
# (/proc/self/mounts: a daemon killed leaves its mount there, dead)
eq "SIGTERM with the log stalled: the mount" "$(awk -v b="$B" '$2 == b { print "left" }' /proc/self/mounts)" ""
exec 3>&-
finish
