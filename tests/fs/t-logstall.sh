#!/bin/bash
# A log that does not keep up never holds up a device: the daemon's stderr
# is a pipe nobody reads (as a stopped journald or a stuck terminal), and
# thousands of transitions still return.  Once the pipe drains, the daemon
# says how many events it could not log, and `log` in the mount has them.
. "$(dirname "$0")/lib.sh"

A=$(mnt a)
mkfifo "$T/stderr"
# Opened read-write, the FIFO has a reader (us) that never reads.
exec 3<>"$T/stderr"
$(daemon_cmd) -f sim:a,size=4096,dirty_rate=0 "$A" 2>"$T/stderr" &
DPID=$!
PIDS="$PIDS $DPID"
wait_mounted "$A" "$DPID" /dev/null

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
cat "$T/stderr" >> "$T/daemon.log" 3>&- &
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
finish
