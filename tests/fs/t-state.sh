#!/bin/bash
# `state`, `states`, `features`, `reset` and `status`: every state, both
# notations, and every error of a transition.
. "$(dirname "$0")/lib.sh"

A=$(mnt a)
P=$(mnt p)
start sim:a,dirty_rate=0 "$A" sim:p,features=p2p "$P"

eq "fresh device" "$(cat "$A/state")" running
eq "states" "$(cat "$A/states")" "[running] stop stop_copy resuming running_p2p pre_copy pre_copy_p2p"
eq "features" "$(cat "$A/features")" "stop_copy p2p pre_copy dirty"
eq "features without pre_copy" "$(cat "$P/features")" "stop_copy p2p"
eq "states without pre_copy" "$(cat "$P/states")" "[running] stop stop_copy resuming running_p2p"

# Every state from every state: the write returns with the device there.
# Leaving RESUMING loads what was written, so feed it a whole stream.
echo stop_copy > "$A/state"
cat "$A/data" > "$T/self.img"
echo 1 > "$A/reset"
for from in running stop stop_copy resuming running_p2p pre_copy pre_copy_p2p; do
	for to in running stop stop_copy resuming running_p2p pre_copy pre_copy_p2p; do
		echo 1 > "$A/reset"
		echo "$from" > "$A/state" || { fail "enter $from"; continue; }
		[ "$from" = resuming ] && cat "$T/self.img" > "$A/data"
		r=$(werr "$A/state" "$to")
		if [ "$from" = stop_copy ] && [ "${to#pre_copy}" != "$to" ]; then
			eq "$from -> $to refused" "$r" "Invalid argument"
			eq "$from -> $to leaves the state" "$(cat "$A/state")" "$from"
		else
			eq "$from -> $to" "$r" ok
			eq "state after $from -> $to" "$(cat "$A/state")" "$to"
		fi
	done
done
echo 1 > "$A/reset"
# An empty stream does not load: EIO, and the device is in error.
echo resuming > "$A/state"
eq "leaving resuming with nothing loaded" "$(werr "$A/state" running)" "Input/output error"
eq "state after a failed load" "$(cat "$A/state")" error
echo 1 > "$A/reset"

# Case, surrounding space and the v1 device_state bit notation.
eq "upper case" "$(werr "$A/state" STOP)" ok
eq "read back lower case" "$(cat "$A/state")" stop
echo "  Running_P2P  " > "$A/state"
eq "spaces" "$(cat "$A/state")" running_p2p
while read -r bits want; do
	echo 1 > "$A/reset"
	eq "v1 '$bits'" "$(werr "$A/state" "$bits")" ok
	eq "v1 '$bits' state" "$(cat "$A/state")" "$want"
done <<'LIST'
0 stop
RUNNING running
SAVING|RUNNING pre_copy
RUNNING|NDMA running_p2p
NDMA|SAVING|RUNNING pre_copy_p2p
RESUMING resuming
LIST
echo 1 > "$A/reset"
echo stop > "$A/state"
eq "v1 SAVING" "$(werr "$A/state" SAVING)" ok
eq "v1 SAVING state" "$(cat "$A/state")" stop_copy
echo 1 > "$A/reset"

# Refusals leave the state alone.
for bad in bogus error "SAVING|RESUMING" "RUNNING|RESUMING" "" "stop stop" \
	$'stop\r' $'\vstop'; do
	eq "write '$bad'" "$(werr "$A/state" "$bad")" "Invalid argument"
done
eq "state after refusals" "$(cat "$A/state")" running
# dash says "I/O error" for every errno: each refusal is recorded.
echo bogus > "$A/state" 2>/dev/null
eq "a refused name in last_error" "$(sed -n 's/^last_error: //p' "$A/status")" \
	"write to state refused: 'bogus': Invalid argument (EINVAL)"
eq "and in log" "$(cat "$A/log" | tail -n 1 | cut -d' ' -f2-)" \
	"error: write to state refused: 'bogus': Invalid argument (EINVAL)"
check "last_error_age" grep -q "^last_error_age: [0-9]* s$" "$A/status"
eq "pre_copy without the feature" "$(werr "$P/state" pre_copy)" "Operation not supported"
eq "pre_copy_p2p without the feature" "$(werr "$P/state" "NDMA|SAVING|RUNNING")" "Operation not supported"
eq "state after EOPNOTSUPP" "$(cat "$P/state")" running
eq "same state is fine" "$(werr "$A/state" running)" ok

# A failing device: EIO, and `state` shows where it really is.
echo "stop_copy EIO" > "$A/sim/fail"
eq "armed failure" "$(cat "$A/sim/fail")" "stop_copy EIO"
eq "failed transition" "$(werr "$A/state" stop_copy)" "Input/output error"
eq "state after failure" "$(cat "$A/state")" error
eq "states in error" "$(cat "$A/states")" "running stop stop_copy resuming running_p2p pre_copy pre_copy_p2p [error]"
grep -q "^last_error: .*stop -> stop_copy failed.*EIO" "$A/status" && ok || fail "status names the failure: $(grep last_error "$A/status")"
# Nothing but reset reaches a device in error, and the cause stays shown.
eq "write in error" "$(werr "$A/state" running)" "Invalid argument"
eq "still error" "$(cat "$A/state")" error
grep -q "^last_error: .*EIO" "$A/status" && ok || fail "cause kept: $(grep last_error "$A/status")"
eq "reset 0" "$(werr "$A/reset" 0)" "Invalid argument"
eq "reset x" "$(werr "$A/reset" x)" "Invalid argument"
eq "reset 0x0x1" "$(werr "$A/reset" 0x0x1)" "Invalid argument"
eq "reset 1 CRLF" "$(werr "$A/reset" $'1\r')" "Invalid argument"
eq "still error after bad resets" "$(cat "$A/state")" error
eq "reset" "$(werr "$A/reset" 1)" ok
eq "running after reset" "$(cat "$A/state")" running
eq "fail consumed" "$(cat "$A/sim/fail")" none
eq "fail bad state" "$(werr "$A/sim/fail" "nowhere EIO")" "Invalid argument"
eq "fail bad errno" "$(werr "$A/sim/fail" "stop EWHAT")" "Invalid argument"
# A failure in the middle of a path: the device stops where it failed.
echo "stop ENOMEM" > "$A/sim/fail"
eq "mid-path failure" "$(werr "$A/state" stop_copy)" "Input/output error"
eq "where it failed" "$(cat "$A/state")" error
echo 1 > "$A/reset"

# Writes build one value per open: each must continue it (issue 10).
echo 1 > "$A/reset"
# pywrite FILE FLAGS [OFFSET:TEXT ...]: write each piece at its offset
# (-1: write(2) at the file position); print the result of each, and of
# close(2) if it fails.
pywrite() {
	python3 - "$@" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | int(sys.argv[2], 0))
out = []
for piece in sys.argv[3:]:
    off, text = piece.split(":", 1)
    try:
        n = os.write(fd, text.encode()) if off == "-1" else os.pwrite(fd, text.encode(), int(off))
        out.append("ok")
    except OSError as e:
        out.append(e.strerror)
try:
    os.close(fd)
except OSError as e:
    out.append("close: " + e.strerror)
print(" ".join(out))
PY
}
eq "pwrite at a nonzero offset of a fresh open" "$(pywrite "$A/state" 0 "5:stop")" "Invalid argument"
eq "state unchanged by it" "$(cat "$A/state")" running
eq "pwrite that skips ahead of the value" "$(pywrite "$A/dirty/ranges" 0 "0:0 4096
" "100:8192 4096
")" "ok Invalid argument"
eq "ranges: the first line stands" "$(cat "$A/dirty/ranges")" "0x0 0x1000"
eq "a refused line is not continued" "$(pywrite "$A/dirty/ranges" 0 "-1:0 4096
" "-1:bogus
" "-1:8192 4096
")" "ok Invalid argument ok"
eq "ranges built past the refusal" "$(cat "$A/dirty/ranges" | tr '\n' ' ')" "0x0 0x1000 0x2000 0x1000 "
# A one-value file stores each newline-terminated write on its own.
exec 5>"$A/state"
echo stop >&5
eq "first store through one open" "$(cat "$A/state")" stop
echo running >&5
exec 5>&-
eq "second store through the same open" "$(cat "$A/state")" running
eq "both stores in the log" "$(cat "$A/log" | tail -n 4 | grep -c "transition .* ok")" 2
# Nothing is stored before its newline: the pieces of a value written in
# several writes are no values of their own (dd moved the device to stop
# at "stop", then refused "stop_cop").
rc=0
printf 'stop_copy\n' | dd of="$A/state" bs=4 status=none || rc=$?
eq "a value written 4 bytes at a time" "$rc" 0
eq "state after it" "$(cat "$A/state")" stop_copy
eq "one transition, straight there" \
	"$(sed -n 's/^last_transition: \(.* -> [a-z_]*\),.*/\1/p' "$A/status")" "running -> stop_copy"
echo stop > "$A/state"
eq "a prefix that is no value, continued" "$(pywrite "$A/state" 0 "-1:run" "-1:ning
")" "ok ok"
eq "state after run + ning" "$(cat "$A/state")" running
# A value without a newline is stored at close(2) (of any descriptor of
# the open: the shell's >&5 closes one), which returns its refusal.
eq "no store before the newline or the close" "$(python3 - "$A/state" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.write(fd, b"stop")
before = open(sys.argv[1]).read().strip()
os.close(fd)
print(before, open(sys.argv[1]).read().strip())
PY
)" "running stop"
echo running > "$A/state"
exec 5>"$A/state"
printf stop >&5
exec 5>&-
eq "stored at close" "$(cat "$A/state")" stop
echo -n running > "$A/state"
eq "echo -n stores at close" "$(cat "$A/state")" running
eq "a refusal at close" "$(pywrite "$A/state" 0 "-1:bogus")" "ok close: Invalid argument"
eq "state unchanged by it" "$(cat "$A/state")" running
eq "O_APPEND continues the value" "$(pywrite "$A/state" 0x400 "-1:stop")" "ok"
eq "state after >>" "$(cat "$A/state")" stop
echo running > "$A/state"
: > "$A/dirty/ranges"
eq "': >' stores nothing" "$(cat "$A/dirty/ranges" | wc -l)" 2
echo > "$A/dirty/ranges"
eq "a blank value clears" "$(cat "$A/dirty/ranges")" ""
eq "a list's line in pieces" "$(pywrite "$A/dirty/ranges" 0 "-1:0 40" "-1:96
")" "ok ok"
eq "ranges after it" "$(cat "$A/dirty/ranges")" "0x0 0x1000"
eq "hard link" "$(ln "$A/state" "$A/s2" 2>&1 | sed 's/.*: //')" "Operation not permitted"
eq "xattr" "$(python3 -c 'import os,sys
try: os.getxattr(sys.argv[1], "user.x")
except OSError as e: print(e.strerror)' "$A/state")" "Operation not supported"

# status: the keys operators read.
echo stop > "$A/state"
st=$(cat "$A/status")
for key in device backend state features session bytes_saved bytes_resumed \
	   transitions last_transition dirty_tracking last_error; do
	printf '%s\n' "$st" | grep -q "^$key: " && ok || fail "status has no $key"
done
eq "status device" "$(printf '%s\n' "$st" | sed -n 's/^device: //p')" "sim:a,dirty_rate=0"
eq "status state" "$(printf '%s\n' "$st" | sed -n 's/^state: //p')" stop
printf '%s\n' "$st" | grep -q "^last_transition: running -> stop, 2 arcs, [0-9]* us, ok$" && ok ||
	fail "last_transition: $(printf '%s\n' "$st" | grep last_transition)"

# Readers that splice (busybox cat, sendfile(2)) read up to the size the
# kernel keeps: after a refused write (whose O_TRUNC open made it 0), a
# change made through another file, a value written otherwise than shown,
# each reads the whole value at once (issue 20, item 7).
if command -v busybox >/dev/null; then
	echo running > "$A/state"
	cat "$A/state" > /dev/null
	werr "$A/state" bogus > /dev/null
	eq "busybox cat state after a refused write" "$(busybox cat "$A/state")" running
	echo stop > "$A/state"
	echo 1 > "$A/reset"
	eq "busybox cat state after a reset" "$(busybox cat "$A/state")" running
	printf stop_copy > "$A/state"
	eq "busybox cat state written without a newline" "$(busybox cat "$A/state" | od -c | head -1)" \
		"$(echo stop_copy | od -c | head -1)"
	echo running > "$A/state"
	eq "busybox cat state written as usual" "$(busybox cat "$A/state")" running
	echo "0 1M" > "$A/dirty/ranges"
	eq "busybox cat dirty/ranges" "$(busybox cat "$A/dirty/ranges")" "0x0 0x100000"
	echo > "$A/dirty/ranges"
	eq "busybox cat status" "$(busybox cat "$A/status" | grep -v ^last_error_age)" \
		"$(cat "$A/status" | grep -v ^last_error_age)"
else
	echo "SKIP: busybox cat: busybox is not installed"
fi

stop_daemon
finish
