#!/bin/bash
# One open file served by many workers at once, writers while a stream
# runs, and ends that come in the middle of things: unmounts, SIGTERM and
# poll(2) waiters.  Run under ASan and TSan too (scripts/test.sh), where a
# race, a use-after-free or a leaked open file fails the daemon's exit.
. "$(dirname "$0")/lib.sh"

A=$(mnt a)
B=$(mnt b)
# hammer_ok WHAT [as_nobody] ARGS...: the hammer must exit 0 within 120 s.
hammer_ok() {
	local what=$1 rc=0
	shift
	if [ "$1" = as_nobody ]; then "$@"; else timeout 120 "$@"; fi \
		>"$T/hammer.out" 2>"$T/hammer.err" || rc=$?
	eq "$what" "$rc $(head -c 300 "$T/hammer.err")" "0 "
}

start -o allow_other sim:a,size=8M,guest_mem=1M "$A" sim:b,size=8M "$B"

# A full log: 4096 lines, the longest text file there is.
while [ "$(wc -l < "$A/log")" -lt 4096 ]; do
	for i in $(seq 200); do echo stop > "$A/state"; echo running > "$A/state"; done
done

# Defect of issue 10: 8 threads reading one open `log` as another user
# crashed every mount of the daemon.  The hammer and ThreadSanitizer's
# files where a checkout in a private directory has them (issue 20):
# all out of nobody's reach.
if id nobody >/dev/null 2>&1; then
	private=$(mktemp -d "$T/private.XXXXXX")
	cp "$HAMMER" "$(dirname "$0")/../tsan.supp" "$private/"
	TSAN_OPTIONS="${TSAN_OPTIONS-} suppressions=$private/tsan.supp log_path=$private/report" \
		hammer_ok "log: 8 threads on one fd, as nobody" \
		as_nobody "$private/hammer" "$A/log" 8 300
else
	echo "SKIP: log: 8 threads on one fd, as nobody: there is no user nobody"
fi
# One fd of `log` read on from its shared offset by 8 threads, and from
# offset 0, while events drop its oldest lines: every read ends at a line's
# end, and the daemon lives.
( for _ in $(seq 300); do echo stop > "$A/state"; echo running > "$A/state"; done ) &
flood=$!
hammer_ok "log: 8 threads read(2) one fd while it rotates" "$HAMMER" -s "$A/log" 8 300
hammer_ok "log: 8 threads pread(2) one fd while it rotates" "$HAMMER" "$A/log" 8 100
wait "$flood"
for f in status states features state dirty/ranges dirty/page_size dirty/tracking sim/fail sim/digest; do
	hammer_ok "$f: 8 threads on one fd" "$HAMMER" "$A/$f" 8 100
done
echo "0 1M" > "$A/dirty/ranges"
echo 1 > "$A/dirty/tracking"
hammer_ok "dirty bitmap: 8 threads on one fd" "$HAMMER" -b "$A/dirty/00000000-00100000" 8 100
echo 0 > "$A/dirty/tracking"
# Many writers of one fd: each newline-terminated value is a store of
# its own, so every write succeeds.
hammer_ok "state: 8 writers on one fd" "$HAMMER" "$A/state" 8 50 write "running
"
eq "state after the writers" "$(cat "$A/state")" running

# `data` read by 4 threads through one fd: every byte of the stream is
# read exactly once, whoever reads it.
echo stop_copy > "$A/state"
hammer_ok "data: 4 threads on one fd" "$HAMMER" -b "$A/data" 4 50
together=$(cat "$T/hammer.out")
echo running > "$A/state"
echo stop_copy > "$A/state"
eq "data: bytes read by the threads" "$together" "$(cat "$A/data" | wc -c)"
echo running > "$A/state"

# Writers of state and reset while a stream is read: the stream ends
# (whole, or ESTALE when a store ended its session), the daemon lives on.
# The reader has read before the writers start (a reset that came first
# would leave no session to read: ENODATA, not what is tested), and its
# file stays open here until it ends: a close(2) gives up the claim (ABI 4).
echo stop_copy > "$B/state"
exec 7<"$B/data"
dd bs=4096 count=1 status=none <&7 >/dev/null
timeout 60 cat <&7 > /dev/null 2>"$T/cat.err" &
reader=$!
hammer_ok "reset while data streams" "$HAMMER" -e 22 -e 5 "$B/reset" 4 20 write "1
"
hammer_ok "state while data streams" "$HAMMER" -e 22 -e 5 "$B/state" 4 20 write "stop_copy
"
rc=0
wait "$reader" || rc=$?
exec 7<&-
check "the reader ended whole or stale (rc $rc: $(cat "$T/cat.err"))" \
	[ "$rc" = 0 -o -n "$(grep "Stale file handle" "$T/cat.err")" ]
echo 1 > "$B/reset"
eq "B after the storm" "$(cat "$B/state")" running

# umount -l of B with files open, half-way through a stream: the daemon
# serves A on, and B's open files are freed when the last one closes
# (under ASan, a leak fails the daemon's exit status below).
echo stop_copy > "$B/state"
exec 7<"$B/data" 8<"$B/status"
head -c 1048576 <&7 > /dev/null
umount -l "$B"
eq "A after B went" "$(cat "$A/state")" running
exec 7<&- 8<&-
sleep 0.5
eq "A after B's files closed" "$(cat "$A/state")" running

# poll(2) waiters and open files across SIGTERM: the waiter returns, the
# daemon exits 0, and a new daemon mounts the same directory.
echo stop_copy > "$A/state"
exec 7<"$A/data" 8<"$A/log"
head -c 4096 <&7 > /dev/null
python3 "$(dirname "$0")/pollwait.py" "$A/state" 30000 > "$T/poll.out" 2>&1 &
poller=$!
sleep 0.5
stop_daemon
exec 7<&- 8<&-
rc=0
timeout 10 tail --pid="$poller" -f /dev/null || rc=$?
eq "the poll waiter returned after SIGTERM" "$rc" 0
start sim:a "$A"
eq "a new daemon on the same directory" "$(cat "$A/state")" running
stop_daemon

finish
