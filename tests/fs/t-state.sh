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

stop_daemon
finish
