#!/bin/bash
# Events: poll(2) on `state` and `status`, and the history in `log`.
. "$(dirname "$0")/lib.sh"

PW="$(dirname "$0")/pollwait.py"
A=$(mnt a)
P=$(mnt p)
start sim:a,size=64K "$A" sim:p,features=p2p "$P"

# Waiting for POLLPRI, as on a sysfs attribute: an unchanged file sleeps.
eq "poll state, nothing happens" "$("$PW" "$A/state" 200)" none
eq "poll status, nothing happens" "$("$PW" "$A/status" 200)" none
eq "select state, nothing happens" "$("$PW" --select "$A/state" 200)" none

# A change from another writer wakes it with POLLPRI|POLLERR (exceptional
# to select); reading from offset 0 re-arms it.
eq "poll state across a transition" "$("$PW" "$A/state" 5000 now sh -c "echo stop > $A/state")" "PRI ERR
re-armed"
eq "epoll state across a transition" "$("$PW" --epoll "$A/state" 5000 now sh -c "echo running > $A/state")" "PRI ERR
re-armed"
eq "select state across a transition" "$("$PW" --select "$A/state" 5000 now sh -c "echo stop > $A/state")" "PRI
re-armed"
eq "poll status across a transition" "$("$PW" "$A/status" 5000 now sh -c "echo running > $A/state")" "PRI ERR
re-armed"
eq "poll state across a reset" "$("$PW" "$A/state" 5000 now sh -c "echo stop > $A/state; echo 1 > $A/reset")" "PRI ERR
re-armed"
eq "poll log across a transition" "$("$PW" "$A/log" 5000 now sh -c "echo stop > $A/state; echo running > $A/state")" "PRI ERR
re-armed"
eq "poll log, nothing happens" "$("$PW" "$A/log" 200)" none
# A refusal changes status (last_error), not the state.
eq "poll status across a refusal" "$("$PW" "$P/status" 5000 now sh -c "echo pre_copy > $P/state 2>/dev/null")" "PRI ERR
re-armed"
eq "poll state across a refusal" "$("$PW" "$P/state" 300 now sh -c "echo pre_copy > $P/state 2>/dev/null")" none
# A write that stores the same state is no change.
eq "poll state, same state written" "$("$PW" "$A/state" 300 now sh -c "echo running > $A/state")" none
# A waiter already asleep is woken (the notification, not the first check).
eq "poll state, change while asleep" "$("$PW" "$A/state" 5000 later sh -c "echo stop_copy > $A/state")" "PRI ERR
re-armed"
eq "epoll status, change while asleep" "$("$PW" --epoll "$A/status" 5000 later sh -c "echo 1 > $A/reset")" "PRI ERR
re-armed"
eq "select status, change while asleep" "$("$PW" --select "$A/status" 5000 later sh -c "echo stop > $A/state")" "PRI
re-armed"
echo running > "$A/state"

# Every file is readable at once, changed or not, as a regular file and a
# sysfs attribute are: select, epoll or poll before a read, pv and asyncio
# never wait (issue 20, item 6).
for f in state status log features; do
	for how in --poll --epoll --select; do
		eq "$how for POLLIN on $f" "$("$PW" ${how#--poll} --in "$A/$f" 2000)" IN
	done
done
eq "poll for POLLIN on a changed state" "$("$PW" --in "$A/state" 2000 now sh -c "echo stop > $A/state")" "ERR IN"
eq "features never changes" "$("$PW" "$A/features" 200)" none
got=$(timeout 10 python3 - "$A/state" "$A/status" "$A/log" <<'PY'
import asyncio, os, sys
async def read_when_ready(path):
    fd = os.open(path, os.O_RDONLY)
    ready = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_reader(fd, ready.set_result, None)
    await asyncio.wait_for(ready, 2)
    return len(os.read(fd, 65536)) > 0
async def main():
    print(all([await read_when_ready(p) for p in sys.argv[1:]]))
asyncio.run(main())
PY
)
eq "asyncio reads state, status and log when ready" "$got" True
echo running > "$A/state"

# log: one line per event, UTC timestamps, oldest first.
echo 1 > "$A/reset"
cat "$A/data" >/dev/null 2>&1
echo stop_copy > "$A/state"
cat "$A/data" > "$T/img"
echo stop > "$A/state"
echo 0 64K > "$A/dirty/ranges"
echo 1 > "$A/dirty/tracking"
echo 0 > "$A/dirty/tracking"
echo "stop_copy EIO" > "$A/sim/fail"
werr "$A/state" stop_copy >/dev/null
echo 1 > "$A/reset"
size=$(stat -c %s "$T/img")
log=$(cat "$A/log")
check "log timestamps" sh -c 'printf "%s\n" "$0" | grep -qvE "^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z " && exit 1 || exit 0' "$log"
want="session * began: saving
transition running -> stop_copy: 3 arcs, * us, ok
session * ended: $size bytes saved
transition stop_copy -> stop: 1 arcs, * us, ok
dirty tracking on: 1 ranges, 4096-byte pages, device DMA logging
dirty tracking off
error: stop -> stop_copy failed, device is in error: Input/output error (EIO)
transition stop -> stop_copy: 0 arcs, * us, EIO
reset: the device is in running"
got=$(printf '%s\n' "$log" | cut -d' ' -f2- | grep -E '^(transition|session|dirty|error|reset)' | tail -9)
# shellcheck disable=SC2053
[[ $got == $want ]] && ok || fail "log: got
$got
want
$want"
eq "log: a transition refused" "$(grep -c 'error: device has no pre_copy state' "$P/log")" 2
eq "log of the other device untouched" "$(grep -c transition "$P/log")" 0

# Bounded: the last 4096 lines stay.
python3 - "$P/state" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
for i in range(4200):
    os.pwrite(fd, b"stop\n" if i % 2 == 0 else b"running\n", 0)
PY
eq "log keeps 4096 lines" "$(wc -l < "$P/log")" 4096
eq "log keeps the newest" "$(tail -n 1 "$P/log" | cut -d' ' -f2-5)" "transition stop -> running:"

# Text files say their real length: tail, tail -f and tar read them right.
eq "st_size of log" "$(stat -c %s "$P/log")" "$(cat "$P/log" | wc -c)"
eq "lseek to the end of log" "$(python3 -c 'import os, sys; print(os.lseek(os.open(sys.argv[1], os.O_RDONLY), 0, os.SEEK_END))' "$P/log")" "$(cat "$P/log" | wc -c)"
eq "st_size of status" "$(stat -c %s "$P/status")" "$(cat "$P/status" | wc -c)"
eq "tail -n 3 log" "$(tail -n 3 "$P/log")" "$(cat "$P/log" | tail -n 3)"
timeout 20 tail -n 0 -f "$A/log" > "$T/follow" &
follower=$!
sleep 1.5
echo stop > "$A/state"
for i in $(seq 40); do grep -q "transition .* -> stop" "$T/follow" && break; sleep 0.1; done
eq "tail -f log sees a new event" "$(grep -c "transition .* -> stop" "$T/follow")" 1
kill "$follower" 2>/dev/null

# A full log keeps its offsets: tail -f (GNU tail polls a FUSE file every
# second) follows P's log while the whole ring is replaced, and after.
# seen MARK: the follower prints MARK's refusal within 2 s.
seen() {
	for _ in $(seq 20); do grep -q "'$1'" "$T/follow-full" && break; sleep 0.1; done
	grep -c "'$1'" "$T/follow-full"
}
exec 7< "$P/log"	# an old view, read a line into and held across the flood
head -n 1 <&7 > /dev/null
timeout 60 tail -n 0 -f "$P/log" > "$T/follow-full" 2> "$T/follow-full.err" &
follower=$!
sleep 1.5
werr "$P/state" mark-full > /dev/null
eq "tail -f of a full log sees a new event" "$(seen mark-full)" 1
python3 - "$P/state" <<'PY2'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
for i in range(4200):
    os.pwrite(fd, b"stop\n" if i % 2 == 0 else b"running\n", 0)
PY2
werr "$P/state" mark-lapped > /dev/null
eq "tail -f sees an event after the ring was replaced" "$(seen mark-lapped)" 1
sleep 1.2
werr "$P/state" mark-after > /dev/null
eq "tail -f still follows" "$(seen mark-after)" 1
kill "$follower" 2>/dev/null
eq "tail saw no truncation" "$(cat "$T/follow-full.err")" ""
eq "tail printed whole lines" "$(grep -cvE '^20[0-9-]{8}T[0-9:.]{15}Z [a-z]' "$T/follow-full")" 0
eq "in the log's order" "$(cut -c1-27 "$T/follow-full" | sort -c 2>&1)" ""
# A reader more than the ring behind skips what was dropped, from a line's
# start; a fresh open says its own size to lseek (tail -n), not the old view's.
eq "an old view reads on from the oldest line kept" "$(head -n 1 <&7)" "$(head -n 1 "$P/log")"
exec 7<&-
eq "tail -n 1 of a fresh open" "$(tail -n 1 "$P/log" | cut -d' ' -f2-)" "$(cat "$P/log" | tail -n 1 | cut -d' ' -f2-)"
tar -C "$P" -cf "$T/p.tar" status log state
mkdir "$T/untar"
tar -C "$T/untar" -xf "$T/p.tar"
eq "tar keeps the whole log" "$(md5sum < "$T/untar/log")" "$(cat "$P/log" | md5sum)"
eq "tar keeps status" "$(grep -v ^last_error_age "$T/untar/status")" "$(grep -v ^last_error_age "$P/status")"
eq "tar keeps state" "$(cat "$T/untar/state")" running
eq "log cannot be written" "$(werr "$P/log" x)" "Permission denied"

stop_daemon
finish
