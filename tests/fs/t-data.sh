#!/bin/bash
# `data`, `precopy` and `data_size`: migrations between simulated devices
# and every error of the stream.
. "$(dirname "$0")/lib.sh"

A=$(mnt a)
B=$(mnt b)
C=$(mnt c)
D=$(mnt d)
E=$(mnt e)
F=$(mnt f)
start sim:a,size=1M,dirty_rate=0 "$A" sim:b,size=1M "$B" sim:c,size=2M "$C" \
	sim:d,size=1M,dirty_rate=20 "$D" sim:e,size=1088K,load_us=300000 "$E" \
	sim:f,size=1088K "$F"

digest() { cat "$1/sim/digest"; }

# Stop-and-copy migration, A into B.
check "devices differ at first" [ "$(digest "$A")" != "$(digest "$B")" ]
echo stop_copy > "$A/state"
cat "$A/data" > "$T/a.img"
eq "stream length equals data_size" "$(stat -c %s "$T/a.img")" "$(cat "$A/data_size")"
eq "read at the end again gives EOF" "$(cat "$A/data" | wc -c)" 0
echo stop > "$A/state"
echo resuming > "$B/state"
dd if="$T/a.img" of="$B/data" bs=4096 status=none
eq "load" "$(werr "$B/state" stop)" ok
eq "digests equal" "$(digest "$B")" "$(digest "$A")"
grep -q "^bytes_resumed: $(stat -c %s "$T/a.img")$" "$B/status" && ok ||
	fail "bytes_resumed: $(grep bytes_resumed "$B/status")"
echo running > "$B/state"

# stat of `data`: size 0 (a stream), mtime when the stream last moved.
# wc -c trusts a regular file's size: it must read the stream instead.
eq "data: mtime before any transfer" "$(stat -c %Y "$F/data")" 0
echo 1 > "$A/reset"
eq "data: size while running" "$(stat -c %s "$A/data")" 0
t0=$(date +%s)
echo pre_copy > "$A/state"
eq "data: size in pre_copy" "$(stat -c %s "$A/data")" 0
dd if="$A/data" of=/dev/null bs=64K count=1 status=none
moved=$(stat -c %Y "$A/data")
[ "$moved" -ge "$t0" ] && [ "$moved" -le "$(date +%s)" ] && ok ||
	fail "data: mtime is the read ($moved, from $t0)"
echo 1 > "$A/reset"
echo stop_copy > "$A/state"
eq "data: size in stop_copy" "$(stat -c %s "$A/data")" 0
eq "data: wc -c < data reads the whole stream" "$(wc -c < "$A/data")" "$(cat "$A/data_size")"
echo stop > "$A/state"
eq "data: size in stop" "$(stat -c %s "$A/data")" 0

# Errors of the stream.
echo 1 > "$A/reset"
eq "read while running" "$(rerr "$A/data")" "No data available"
eq "write while running" "$(werr "$A/data" x)" "Operation not permitted"
eq "precopy while running" "$(rerr "$A/precopy")" "No data available"
echo stop_copy > "$A/state"
eq "write while saving" "$(werr "$A/data" x)" "Operation not permitted"
eq "seek" "$(python3 -c 'import os, sys
try: os.lseek(os.open(sys.argv[1], os.O_RDONLY), 1, 0)
except OSError as e: print(os.strerror(e.errno))' "$A/data")" "Illegal seek"
# One opener at a time, yet one script's closes never block its next open.
busy=0
for _ in $(seq 30); do
	cat "$A/data" > /dev/null 2>&1 || busy=$((busy + 1))
done
eq "back-to-back opens refused" "$busy" 0
exec 3<"$A/data"
eq "second opener" "$(rerr "$A/data")" "Device or resource busy"
head -c 1000 <&3 >/dev/null
echo 1 > "$A/reset"
echo stop_copy > "$A/state"
# The handle's session ended with the reset: it never sees the new one.
eq "stale handle" "$(cat <&3 2>&1 >/dev/null | sed 's/.*: //')" "Stale file handle"
exec 3<&-
eq "a new open reads the new session" "$(cat "$A/data" | wc -c)" "$(cat "$A/data_size")"
echo 1 > "$A/reset"

# In stop_copy the daemon reads ahead of the reader (1 MiB slots, C's
# stream takes three): what it holds belongs to the session, not the open.
same() { cmp -s "$1" "$2" && echo same; }
echo stop_copy > "$C/state"
cat "$C/data" > "$T/c.img"
echo stop > "$C/state"
echo stop_copy > "$C/state"
dd if="$C/data" of="$T/c.part" bs=1000 count=1300 status=none
cat "$C/data" >> "$T/c.part"
eq "a stream read through two opens is whole" "$(same "$T/c.part" "$T/c.img")" same
# The first read of stop_copy goes straight to the device; read-ahead
# begins behind it only once a read came back full.
echo stop > "$C/state"
echo stop_copy > "$C/state"
dd if="$C/data" of="$T/c.part" bs=10 count=1 status=none
cat "$C/data" >> "$T/c.part"
eq "a stream read 10 bytes, then the rest" "$(same "$T/c.part" "$T/c.img")" same
echo stop > "$C/state"
echo stop_copy > "$C/state"
dd if="$C/data" of=/dev/null bs=1000 count=1 status=none
echo stop > "$C/state"
echo stop_copy > "$C/state"
cat "$C/data" > "$T/c.again"
eq "a new session drops what was read ahead" "$(same "$T/c.again" "$T/c.img")" same
echo 1 > "$C/reset"

# A corrupted stream is refused; the device goes to error; reset recovers.
cp "$T/a.img" "$T/bad.img"
printf '\x55' | dd of="$T/bad.img" bs=1 seek=70000 conv=notrunc status=none
echo resuming > "$B/state"
eq "corrupt chunk refused" "$(cat "$T/bad.img" 2>&1 > "$B/data" | sed 's/.*: //')" "Invalid argument"
eq "leaving resuming fails" "$(werr "$B/state" stop)" "Input/output error"
eq "device in error" "$(cat "$B/state")" error
echo 1 > "$B/reset"
# A write is answered before the device loads it (one in flight at most
# two): its refusal comes with the next write or with close(2), and a
# transition waits for the loads.  writes DIR FILE STEP...: the result of
# each step, "w" a 1 MiB write of FILE's next bytes, "W" all the rest,
# "s" a pause, "stop" a write to state, "c" close(2).
writes() {
	python3 - "$@" <<'PY'
import mmap, os, sys, time
d, steps = sys.argv[1], sys.argv[3:]
raw = open(sys.argv[2], 'rb').read()
# Page-aligned, so that a 1 MiB write is one FUSE request.
src = memoryview(mmap.mmap(-1, len(raw)))
src[:] = raw
fd, off, out = os.open(d + '/data', os.O_WRONLY), 0, []
def step(s):
    global off
    if s in 'wW':
        end = off + (1 << 20) if s == 'w' else len(src)
        while off < end and off < len(src):
            off += os.write(fd, src[off:min(end, off + (1 << 20))])
    elif s == 's':
        time.sleep(0.2)
    elif s == 'stop':
        with open(d + '/state', 'w') as f:
            f.write('stop\n')
    elif s == 'c':
        os.close(fd)
for s in steps:
    try:
        step(s)
        out.append('ok')
    except OSError as e:
        out.append(os.strerror(e.errno))
print(' '.join(out))
PY
}
# E takes 0.3 s to load each write: what must wait for a load does.
echo resuming > "$E/state"
eq "refused write: close reports it" "$(writes "$E" "$T/bad.img" w c)" "ok Invalid argument"
echo 1 > "$E/reset"
echo resuming > "$B/state"
eq "refused write: the next write reports it" "$(writes "$B" "$T/bad.img" w s w c)" \
	"ok ok Invalid argument ok"
echo 1 > "$B/reset"
# F's stream is two writes of 64 KiB or more: both are answered at once.
echo stop_copy > "$F/state"
cat "$F/data" > "$T/f.img"
echo resuming > "$E/state"
eq "a transition waits for the writes before it" "$(writes "$E" "$T/f.img" W stop c)" "ok ok ok"
eq "written then stopped: digests equal" "$(digest "$E")" "$(digest "$F")"
echo resuming > "$E/state"
eq "a small write is answered after its load" "$(werr "$E/data" "$(printf %040d 0)")" \
	"Invalid argument"
echo 1 > "$E/reset"
# A truncated one, and one for a device of another size.
echo resuming > "$B/state"
head -c 500000 "$T/a.img" > "$B/data"
eq "truncated stream" "$(werr "$B/state" stop)" "Input/output error"
eq "truncated: error" "$(cat "$B/state")" error
echo 1 > "$B/reset"
echo resuming > "$C/state"
eq "stream of another size" "$(cat "$T/a.img" 2>&1 > "$C/data" | sed 's/.*: //')" "Invalid argument"
echo 1 > "$C/reset"

# Pre-copy: rounds while the source runs and changes what it sent, then
# stop-and-copy; the destination ends with the state at the moment of stop.
echo 1 > "$B/reset"
echo pre_copy > "$D/state"
eq "initial bytes" "$(sed -n 's/^initial_bytes //p' "$D/precopy")" "$(($(cat "$D/data_size") - 24))"
echo resuming > "$B/state"
cat "$D/data" > "$B/data"
eq "initial sent" "$(sed -n 's/^initial_bytes //p' "$D/precopy")" 0
for round in 1 2 3; do
	sleep 0.3
	dirty=$(sed -n 's/^dirty_bytes //p' "$D/precopy")
	check "round $round: blocks changed after sending are dirty ($dirty)" [ "$dirty" -gt 0 ]
	cat "$D/data" > "$B/data"
done
echo stop_copy > "$D/state"
eq "precopy gone in stop_copy" "$(rerr "$D/precopy")" "No data available"
cat "$D/data" > "$B/data"
echo stop > "$D/state"
eq "load after precopy" "$(werr "$B/state" stop)" ok
eq "digests equal after precopy" "$(digest "$B")" "$(digest "$D")"

stop_daemon
finish
