#!/bin/bash
# Sets of devices migrated together (vfio-migctl migrate SRC=DST...,
# save --output, load --input) between simulated devices that DMA-write
# into each other (sim peer=): with the P2P barrier no write is lost and
# every destination gets its source's state of the moment it stopped;
# one pair at a time, writes are lost.  The order of the phases is read
# from the devices' logs; a failure in each phase puts every device back.
. "$(dirname "$0")/lib.sh"

W=size=256K,peer_rate=20000,dirty_rate=0	# a device changes only by its peer's writes
# Eight sources, in couples that write into each other (s0 and s1, s2
# and s3, ...: the first 2, 4, 6 or 8 are a closed set), and eight
# destinations that never change unless written.
args=()
for i in 0 1 2 3 4 5 6 7; do
	S[i]=$(mnt "s$i")
	D[i]=$(mnt "d$i")
	args+=("sim:s$i,$W,peer=s$((i ^ 1))" "${S[i]}" "sim:d$i,size=256K,dirty_rate=0" "${D[i]}")
done
N=$(mnt n)	# no p2p
args+=(sim:n,size=256K,features=stop_copy "$N")
L=$(mnt l)	# a destination slow to load: its stop waits a second
args+=(sim:l,size=256K,dirty_rate=0,load_us=1000000 "$L")
start "${args[@]}"

lost() { sed -n 's/^lost: //p' "$1/sim/peer"; }
# losses DIR...: the sum of their lost counts.
losses() {
	local d sum=0
	for d in "$@"; do sum=$((sum + $(lost "$d"))); done
	echo "$sum"
}
# name DIR: the device's name, as its status (and a stream's header) gives it.
name() { sed -n 's/^device: //p' "$1/status"; }
# map N: the first N sources' names, each mapped to its destination (load's operands).
map() {
	local i
	for ((i = 0; i < $1; i++)); do printf '%s=%s ' "$(name "${S[i]}")" "${D[i]}"; done
}
# pairs N: the first N sources paired with their destinations.
pairs() {
	local i
	for ((i = 0; i < $1; i++)); do printf '%s=%s ' "${S[i]}" "${D[i]}"; done
}
# back N: the first N sources running again (reset if in error), their
# destinations reset.
back() {
	local i
	for ((i = 0; i < $1; i++)); do
		case $(cat "${S[i]}/state") in
		running) ;;
		error) echo 1 >"${S[i]}/reset" ;;
		*) echo running >"${S[i]}/state" ;;
		esac
		echo 1 >"${D[i]}/reset"
	done
}
# moved WHAT N: each of the first N destinations runs with its stopped
# source's state (a source in stop no longer changes: its peer is stopped).
moved() {
	local i
	for ((i = 0; i < $2; i++)); do
		is "$1" "${S[i]}" stop
		is "$1" "${D[i]}" running "$(digest "${S[i]}")"
	done
}
# last_at DIR PATTERN / first_at: the timestamp of the last (first) log line matching.
last_at() { grep -E "$2" "$1/log" | tail -1 | cut -d' ' -f1; }
first_at() { grep -E "$2" "$1/log" | head -1 | cut -d' ' -f1; }
# before WHAT A B: timestamp A is before B (both ISO 8601, one format).
before() {
	if [[ -n $2 && -n $3 && $2 < $3 ]]; then ok; else fail "$1: '$2' is not before '$3'"; fi
}

# ---- two devices ----
sleep 0.05	# let them write into each other
l0=$(losses "${S[0]}" "${S[1]}")
ctl migrate $(pairs 2)
passed "set of 2"
check "set of 2: a line per device" grep -q "^migrated ${S[1]} -> ${D[1]}: [0-9]* bytes (" "$T/out"
check "set of 2: the set's line" grep -Eq "^migrated a set of 2 devices: [0-9]+ bytes, [0-9.]+ s, downtime [0-9.]+ ms, P2P barrier kept$" "$T/out"
eq "set of 2: no write lost" "$(losses "${S[0]}" "${S[1]}")" "$l0"
moved "set of 2" 2

# The barrier, from the logs: every source quiesced before any stopped,
# every destination in running_p2p before any ran.
q=$(for i in 0 1; do last_at "${S[i]}" "transition .* -> (running_p2p|pre_copy_p2p): .* ok"; done | sort | tail -1)
s=$(for i in 0 1; do last_at "${S[i]}" "transition .* -> stop_copy: .* ok"; done | sort | head -1)
before "every source quiesced before any stop_copy" "$q" "$s"
p=$(for i in 0 1; do last_at "${D[i]}" "transition .* -> running_p2p: .* ok"; done | sort | tail -1)
r=$(for i in 0 1; do last_at "${D[i]}" "transition .* -> running: .* ok"; done | sort | head -1)
before "every destination in running_p2p before any runs" "$p" "$r"
before "the destinations run only after the sources stopped copying" "$s" "$r"

# ---- the same two, one pair at a time: the model sees the loss ----
back 2
sleep 0.05
l0=$(losses "${S[0]}" "${S[1]}")
ctl migrate "${S[0]}" "${D[0]}"
passed "pair 1 alone"
sleep 0.05	# s1 still runs and writes into s0, stopped
ctl migrate "${S[1]}" "${D[1]}"
passed "pair 2 alone"
check "one pair at a time loses writes" [ "$(losses "${S[0]}" "${S[1]}")" -gt "$l0" ]
check "and s0's state moved away from what d0 got" [ "$(digest "${S[0]}")" != "$(digest "${D[0]}")" ]

# ---- eight ----
back 8
sleep 0.05
l0=$(losses "${S[@]}")
ctl migrate $(pairs 8)
passed "set of 8"
check "set of 8: the set's line" grep -q "^migrated a set of 8 devices: " "$T/out"
eq "set of 8: no write lost" "$(losses "${S[@]}")" "$l0"
moved "set of 8" 8

# ---- save | load through a pipe ----
back 4
sleep 0.05
l0=$(losses "${S[@]:0:4}")
run bash -c "'$MIGCTL' save --output - ${S[*]:0:4} | '$MIGCTL' load --run --input - $(map 4)"
eq "save | load: exit status" "$RC" 0
check "save | load: save's summary on stderr" grep -q "^saved a set of 4 devices to standard output: .*P2P barrier kept$" "$T/err"
check "save | load: load's summary" grep -q "^loaded a set of 4 devices from standard input: .* running, P2P barrier kept$" "$T/out"
check "save | load: each device named" grep -q "^loaded ${D[2]} from sim:s2," "$T/out"
eq "save | load: no write lost" "$(losses "${S[@]:0:4}")" "$l0"
moved "save | load" 4

# --json: the set's progress (rounds consistent), a record per device,
# then the set's; a load's map first.
back 2
ctl migrate --json --threshold 0 --max-rounds 2 $(pairs 2)
passed "migrate --json, a set"
records "migrate --json, a set: records" "$T/out" "$ROUNDS_CONSISTENT"'
devs, sets = kind("device"), kind("set")
want("the set last", recs[-1], sets[0])
want("a record per device", [(d["source"], d["destination"], d["outcome"]) for d in devs], [("'"${S[0]}"'", "'"${D[0]}"'", "ok"), ("'"${S[1]}"'", "'"${D[1]}"'", "ok")])
st = sets[0]
want("the set", (st["devices"], st["p2p_barrier"], st["outcome"], st["exit_status"], st["error"]), (2, True, "ok", 0, None))
want("the set: its bytes, its devices'"'"'", st["bytes"], sum(d["bytes"] for d in devs))
want("the set: rounds", st["rounds"], 2)
set_rounds = [r for r in rounds if r["dir"] is None]
want("the set: a progress record a round", [r["round"] for r in set_rounds], [1, 2])
want("each device: a progress record a round", sorted(r["dir"] for r in rounds if r["dir"]), sorted(["'"${S[0]}"'", "'"${S[1]}"'"] * 2))
want("the set: its last round, its devices'"'"'", set_rounds[-1]["bytes"], sum(d["precopy_bytes"] for d in devs))
want("the set: a downtime", st["downtime_ms"] is not None and st["downtime_ms"] > 0, True)
'
moved "migrate --json, a set" 2
# On a terminal, the set has a progress line of its own.
back 2
run script -qec "'$MIGCTL' migrate --threshold 0 --max-rounds 2 $(pairs 2)" /dev/null
eq "migrate on a terminal: exit status" "$RC" 0
check "migrate on a terminal: the set's rounds" grep -qaE \
	"set: precopy [0-9.]+ MiB [0-9.]+ MiB/s round 2 [0-9]+%, left [0-9.]+ MiB, dirty [0-9.]+ MiB/s" "$T/out"
moved "migrate on a terminal" 2
back 2
ctl save --output "$T/json.img" "${S[0]}" "${S[1]}"
back 2
ctl load --json --input "$T/json.img" $(map 2)
passed "load --json, a set"
records "load --json, a set: records" "$T/out" '
want("the map first, then the devices, then the set", [r["type"] for r in recs if r["type"] != "progress"], ["map", "map", "device", "device", "set"])
want("the map", [(m["device"], m["stream_source"], m["destination"]) for m in kind("map")], [(1, "'"$(name "${S[0]}")"'", "'"${D[0]}"'"), (2, "'"$(name "${S[1]}")"'", "'"${D[1]}"'")])
want("the devices", [(d["stream_source"], d["destination"], d["outcome"]) for d in kind("device")], [(m["stream_source"], m["destination"], "ok") for m in kind("map")])
st, = kind("set")
want("the set: bytes", st["bytes"], sum(d["bytes"] for d in kind("device")))
want("the set: no rounds in a load", (st["rounds"], st["downtime_ms"]), (None, None))
'

# A set's stream loads only into as many devices, each named by its
# source's name: by position, `load q2 q1` would swap states silently.
# Nothing changes on a refusal.
back 2
ctl save --output "$T/two.img" "${S[0]}" "${S[1]}"
passed "save a set to a file"
saved="$(digest "${S[0]}") $(digest "${S[1]}")"
back 2
n0=$(name "${S[0]}") n1=$(name "${S[1]}")
remember "${D[0]}" "${D[1]}" "${D[2]}"
ctl load --input "$T/two.img" "${D[0]}" "${D[1]}" "${D[2]}"
failed "three DIRs for two devices" 1 "load: the stream holds 2 devices, not 3 (nothing was changed)"
ctl load "${D[0]}" "$T/two.img"
failed "a set into one DIR" 1 "the stream holds a set of 2 devices: load it with --input and 2 DIRs (nothing was changed)"
ctl load --input "$T/two.img" "${D[1]}" "${D[0]}"
failed "a set by position" 1 "load: a set's stream is loaded by its sources' names, not by position: give SOURCE=DIR for each of $n0, $n1 (or #N=DIR, N from 1; nothing was changed)"
ctl load --input "$T/two.img" "sim:s9=${D[1]}" "$n0=${D[0]}"
failed "a name the stream does not hold" 1 "load: 'sim:s9=${D[1]}' names no device of the stream (it holds $n0, $n1; nothing was changed)"
ctl load --input "$T/two.img" "$n0=${D[1]}" "#1=${D[0]}"
failed "a device mapped twice" 1 "load: device 1 of the stream ($n0) is mapped twice (nothing was changed)"
ctl load --input "$T/two.img" "#3=${D[1]}" "#1=${D[0]}"
failed "a place the stream does not hold" 1 "load: '#3=${D[1]}' names no device of the stream"
python3 "$(dirname "$0")/../streamfmt.py" rename "$T/two.img" "$T/big.img" sim:big,size=1M "$n1"
ctl load --input "$T/big.img" "sim:big,size=1M=${D[0]}" "$n1=${D[1]}"
failed "a device of another size" 1 "load: ${D[0]} holds 262144 bytes of state ($(name "${D[0]}")), the source 1048576 (sim:big,size=1M): it cannot load its state (nothing was changed)"
as_before "refused maps" "${D[0]}" "${D[1]}" "${D[2]}"
# Named in another order than saved: each state still goes to its device.
ctl load --input "$T/two.img" "$n1=${D[1]}" "$n0=${D[0]}"
passed "the set's file loads"
eq "the map, printed first" "$(head -2 "$T/out")" "device 1: $n0 -> ${D[0]}
device 2: $n1 -> ${D[1]}"
check "without --run, in stop" grep -q "^loaded a set of 2 devices from $T/two.img: .* in stop$" "$T/out"
is "from a file" "${D[0]}" stop
eq "from a file: the saved states" "$(digest "${D[0]}") $(digest "${D[1]}")" "$saved"
back 2
ctl load --input "$T/two.img" "#2=${D[0]}" "#1=${D[1]}"
passed "mapped by place"
eq "mapped by place: the saved states, crossed as asked" \
	"$(digest "${D[1]}") $(digest "${D[0]}")" "$saved"

# A one-device stream (plain `save`) loads as a set of one: nothing to cross.
back 1
ctl save "$N" "$T/one.img"
passed "save one device"
ctl load --run --input "$T/one.img" "${D[0]}"
passed "a one-device stream through --input"
is "a set of one" "${D[0]}" running "$(digest "$N")"
echo running >"$N/state"

# The stream fails: its reader goes away, or it is damaged.
back 2
"$MIGCTL" save --output - "${S[0]}" "${S[1]}" 2>"$T/err" | head -c 100 >/dev/null
RC=${PIPESTATUS[0]}
ERR=$(cat "$T/err")
failed "save: the reader goes away" 141 "2 sources running again, 0 destinations reset"
check "save: the reader goes away: SIGPIPE said" grep -q "SIGPIPE)\?; 2 sources" "$T/err"
is "save: the reader goes away" "${S[0]}" running
is "save: the reader goes away" "${S[1]}" running
head -c -30 "$T/two.img" > "$T/cut.img"
ctl load --run --input "$T/cut.img" $(map 2)
failed "a truncated set" 1 "load: resuming phase: the stream: truncated stream: it ends at byte"
case $ERR in
*"0 sources running again, 2 destinations reset") ok ;;
*) fail "a truncated set: '$ERR' does not say both destinations were reset" ;;
esac
is "a truncated set" "${D[0]}" running
is "a truncated set" "${D[1]}" running

# ---- refusals before anything changes ----
back 2
remember "${D[0]}" "${D[1]}"
ctl migrate "${S[0]}=${D[0]}" "${S[1]}=${D[0]}"
failed "a destination twice" 2 "are on one mount: a device can be in a set only once"
ctl migrate "${S[0]}=${D[0]}" "${S[1]}=${S[1]}"
failed "a device into itself" 2 "are on one mount"
ctl migrate "${S[0]}=${D[0]}" "$N=${D[1]}"
failed "a member without p2p" 1 "$N has no p2p feature, so the set cannot keep the P2P barrier"
ctl migrate "${S[0]}=${D[0]}" "${S[1]}=${D[1]}" "${S[2]}"
failed "pairs and a lone operand" 2 "migrate takes SRC DST, or pairs SRC=DST, not '${S[2]}'"
ctl migrate $(for i in $(seq 65); do printf '%s ' "$T/x$i=$T/y$i"; done)
failed "65 devices" 2 "a set holds at most 64 devices, not 65"
ctl migrate --no-p2p "${S[0]}" "${D[0]}"
failed "--no-p2p with one pair" 2 "--no-p2p and --keep-source are for pairs SRC=DST"
as_before "refusals" "${D[0]}" "${D[1]}"
is "refusals" "${S[0]}" running
is "refusals" "${S[1]}" running

# --no-p2p: taken, and said.
ctl migrate --no-p2p "${S[0]}=${D[0]}" "$N=${D[1]}"
passed "--no-p2p"
check "--no-p2p: said" grep -q "P2P barrier not kept (--no-p2p: the devices stopped one after another)$" "$T/out"
is "--no-p2p" "$N" stop
is "--no-p2p" "${D[1]}" running "$(digest "$N")"
echo running >"$N/state"

# --keep-source: the sources run on.
back 2
ctl migrate --keep-source $(pairs 2)
passed "--keep-source"
is "--keep-source" "${S[1]}" running

# ---- a failure in each phase, on one device ----
# arm PHASE DIR STATE: arm DIR/sim/fail for an arc into STATE and run the
# set of 3.  A destination starts in stop: from running, resuming passes
# through running_p2p and stop, and the arc armed would fail there.
arm() {
	back 3
	case $2 in */d?) echo stop >"$2/state" ;; esac
	echo "$3 EIO" >"$2/sim/fail"
	ctl migrate $(pairs 3)
	echo none >"$2/sim/fail"
}
# Before the commit point (the first destination running), all put back:
# rolled_back PHASE DIR STATE STATUS [TEXT].  A source that failed an arc is
# in error: only a reset brings it back, its state lost, and exit 6 says so.
rolled_back() {
	local phase=$1 dir=$2 i
	arm "$@"
	failed "$phase" "$4" "migrate: $phase phase: $dir"
	check "$phase: says what became of the set" grep -Eq "[0-9] sources? running again, [0-9] destinations? reset${5:-}" "$T/err"
	for ((i = 0; i < 3; i++)); do
		is "$phase" "${S[i]}" running
		is "$phase" "${D[i]}" running
	done
}
rolled_back resuming "${D[1]}" resuming 1 '$'
rolled_back precopy "${S[1]}" pre_copy 6 "; ${S[1]} was reset to run again \\(its state is lost\\)$"
rolled_back p2p "${S[2]}" pre_copy_p2p 6 "; ${S[2]} was reset to run again"
rolled_back stop_copy "${S[1]}" stop_copy 6 "; ${S[1]} was reset to run again"
rolled_back "destination stop" "${D[2]}" stop 1 '$'
rolled_back "destination running_p2p" "${D[0]}" running_p2p 1 '$'
# After it, nothing is undone: no destination reset, no source run again;
# committed PHASE DIR STATE LEFT: the one line says what was left where.
committed() {
	local phase=$1 dir=$2 i
	arm "$@"
	failed "$phase" 5 "migrate: $phase phase: $dir: $3: Input/output error; after the commit point: $4, nothing was rolled back; $dir is left in error"
	for ((i = 0; i < 3; i++)); do
		[ "${S[i]}" = "$dir" ] || is "$phase" "${S[i]}" stop
		[ "${D[i]}" = "$dir" ] || is "$phase" "${D[i]}" running "$(digest "${S[i]}")"
	done
	is "$phase" "$dir" error
}
committed "destination running" "${D[1]}" running "2 of 3 destinations run their new states"
committed "source stop" "${S[0]}" stop "3 of 3 destinations run their new states"

# save: the stream whole is the commit point; a source failing its stop
# after it loses nothing saved, and the stream is kept.
back 2
echo "stop EIO" >"${S[1]}/sim/fail"
ctl save --output "$T/commit.img" "${S[0]}" "${S[1]}"
echo none >"${S[1]}/sim/fail"
failed "save: a source's stop fails" 5 "save: source stop phase: ${S[1]}: stop: Input/output error; after the commit point: the stream to $T/commit.img is whole, nothing was rolled back; ${S[1]} is left in error"
saved="$(digest "${S[0]}") $(digest "${S[1]}")"
ctl load --run --input "$T/commit.img" "#1=${D[0]}" "#2=${D[1]}"
passed "save: a source's stop fails: the stream loads"
eq "save: a source's stop fails: the states kept" "$(digest "${D[0]}") $(digest "${D[1]}")" "$saved"
# load --run: the first destination running is the commit point.
back 2
echo stop >"${D[1]}/state"
echo "running EIO" >"${D[1]}/sim/fail"
ctl load --run --input "$T/two.img" "#1=${D[0]}" "#2=${D[1]}"
echo none >"${D[1]}/sim/fail"
failed "load: a destination fails to run" 5 "load: destination running phase: ${D[1]}: running: Input/output error; after the commit point: 1 of 2 destinations run their new states, nothing was rolled back; ${D[1]} is left in error"
is "load: a destination fails to run" "${D[0]}" running
back 2
# --json: the records of a failure say it too.
back 3
echo "stop_copy EIO" >"${S[1]}/sim/fail"
ctl migrate --json $(pairs 3)
eq "migrate --json, a failure: exit status" "$RC" 6
records "migrate --json, a failure: records" "$T/out" '
st = recs[-1]
want("the set failed", (st["type"], st["outcome"], st["exit_status"], st["failed_phase"], st["failed_device"]), ("set", "failed", 6, "stop_copy", "'"${S[1]}"'"))
want("its error, as the line says it", st["error"] in open("'"$T/err"'").read(), True)
want("each device has the set'"'"'s outcome", [d["outcome"] for d in kind("device")], ["failed"] * 3)
'
echo none >"${S[1]}/sim/fail"

# ---- signals ----
# A set that never converges (--threshold 0) until SIGINT comes.
ENDLESS=(--threshold 0 --max-rounds 100000)
back 2
bg "$MIGCTL" migrate "${ENDLESS[@]}" $(pairs 2)
wait_for "the set's precopy" has "${S[1]}/state" pre_copy
kill -INT "$PID"
collect
failed "SIGINT mid-migrate" 130 "migrate: precopy phase: interrupted by SIGINT; 2 sources running again, 2 destinations reset"
for i in 0 1; do
	is "SIGINT mid-migrate" "${S[i]}" running
	is "SIGINT mid-migrate" "${D[i]}" running
done

# The stream's reader stalls: a thread blocked writing to it still sees SIGTERM.
mkfifo "$T/fifo"
bg "$MIGCTL" save --output "$T/fifo" "${S[0]}" "${S[1]}"
exec 8<"$T/fifo"	# a reader that never reads
wait_for "the pipe to fill" has "${S[1]}/state" pre_copy
sleep 0.2
kill -TERM "$PID"
collect
exec 8<&-
failed "SIGTERM while the reader stalls" 143 "interrupted by SIGTERM; 2 sources running again, 0 destinations reset"
is "SIGTERM while the reader stalls" "${S[0]}" running

# Every signal that ends a process and can be caught, in precopy and in
# a load's resuming: rolled back, 128 + its number, one line.
for sig in INT TERM HUP PIPE; do
	n=$((128 + $(kill -l "$sig")))
	back 2
	bg "$MIGCTL" migrate "${ENDLESS[@]}" $(pairs 2)
	wait_for "the set's precopy" has "${S[1]}/state" pre_copy
	kill -"$sig" "$PID"
	collect
	failed "SIG$sig mid-migrate" "$n" "migrate: precopy phase: interrupted by SIG$sig; 2 sources running again, 2 destinations reset"
	for i in 0 1; do
		is "SIG$sig mid-migrate" "${S[i]}" running
		is "SIG$sig mid-migrate" "${D[i]}" running
	done
	bg "$MIGCTL" load --run --input "$T/fifo" "#1=${D[0]}" "#2=${D[1]}"
	exec 8>"$T/fifo"
	head -c 1000 "$T/two.img" >&8	# the header and a part of a chunk
	wait_for "the set's resuming" has "${D[1]}/state" resuming
	kill -"$sig" "$PID"
	collect
	exec 8>&-
	failed "SIG$sig mid-load" "$n" "load: resuming phase: interrupted by SIG$sig; 0 sources running again, 2 destinations reset"
	is "SIG$sig mid-load" "${D[0]}" running
	is "SIG$sig mid-load" "${D[1]}" running
done

# One migration per device at a time: two commands on one source at the
# same moment, one wins; whatever the other names, it changes nothing.
back 4
"$MIGCTL" migrate "${ENDLESS[@]}" "${S[0]}=${D[0]}" "${S[1]}=${D[1]}" >"$T/out1" 2>"$T/err1" &
P1=$!
"$MIGCTL" migrate "${ENDLESS[@]}" "${S[0]}=${D[2]}" "${S[1]}=${D[3]}" >"$T/out2" 2>"$T/err2" &
P2=$!
wait_for "the set's precopy" has "${S[1]}/state" pre_copy
wait_for "one of the two to give up" eval '! kill -0 $P1 2>/dev/null || ! kill -0 $P2 2>/dev/null'
if kill -0 "$P1" 2>/dev/null; then WIN=$P1 LOSE=$P2 ERRF=$T/err2; else WIN=$P2 LOSE=$P1 ERRF=$T/err1; fi
rc=0
wait "$LOSE" || rc=$?
eq "two at once: the loser's status" "$rc" 1
check "two at once: the loser says why ($(cat "$ERRF"))" grep -q "is in use by another vfio-migctl command (one migration per device at a time; nothing was changed)$" "$ERRF"
eq "two at once: the winner goes on" "$(cat "${S[0]}/state")" pre_copy
remember "${D[4]}" "${S[4]}"
ctl migrate "${S[4]}=${D[4]}" "${S[0]}=${D[5]}"
failed "a set with one busy member" 1 "is in use by another vfio-migctl command"
as_before "a set with one busy member" "${D[4]}" "${S[4]}"
kill -INT "$WIN"
PID=$WIN
collect
eq "two at once: the winner, interrupted" "$RC" 130
for i in 0 1 2 3; do
	is "two at once" "${S[i]}" running
	is "two at once" "${D[i]}" running
done

# A device refused before anything changed costs the set nothing.
back 2
echo stop_copy >"${S[1]}/state"
remember "${D[0]}" "${D[1]}"
ctl migrate $(pairs 2)
failed "a source in stop_copy" 1 "${S[1]} is in stop_copy; saving needs running or stop (nothing was changed)"
as_before "a busy source" "${D[0]}" "${D[1]}"
is "a busy source" "${S[0]}" running
echo stop >"${S[1]}/state"

# The same signals while a destination checks its stream (L takes a
# second), in a migration's stop_copy phase and in a load's destination
# stop: still before the commit point, everything rolled back.
for sig in INT TERM HUP PIPE; do
	n=$((128 + $(kill -l "$sig")))
	back 2
	echo 1 >"$L/reset"
	bg "$MIGCTL" migrate "${S[0]}=$L" "${S[1]}=${D[1]}"
	wait_for "the set's stop_copy" has "${S[1]}/state" stop_copy
	kill -"$sig" "$PID"
	collect
	failed "SIG$sig in stop_copy" "$n" "migrate: stop_copy phase: interrupted by SIG$sig; 2 sources running again, 2 destinations reset"
	is "SIG$sig in stop_copy" "${S[0]}" running
	is "SIG$sig in stop_copy" "$L" running
	bg "$MIGCTL" load --run --input "$T/two.img" "#1=$L" "#2=${D[1]}"
	wait_for "the set's destination stop" has "${D[1]}/state" running_p2p
	kill -"$sig" "$PID"
	collect
	failed "SIG$sig in destination stop" "$n" "load: destination stop phase: interrupted by SIG$sig; 0 sources running again, 2 destinations reset"
	is "SIG$sig in destination stop" "$L" running
	is "SIG$sig in destination stop" "${D[1]}" running
done

# ---- a member unmounted (umount -l): said so, never a device error ----
# L is slow to load: while it checks its stream the mount goes, and the
# set is rolled back before any destination runs (its daemon would end
# with the command), through the directories the command holds.
back 2
bg "$MIGCTL" migrate "${S[0]}=$L" "${S[1]}=${D[1]}"
wait_for "the set's stop_copy" has "${S[0]}/state" stop_copy
umount -l "$L"
collect
failed "a destination unmounted" 1 "migrate: destination running phase: $L: its mount is gone (unmounted): its daemon would end with the device; 2 sources running again, 2 destinations reset; $L is no longer mounted (umount): its daemon ends with this command"
is "a destination unmounted" "${S[0]}" running
is "a destination unmounted" "${D[1]}" running
# Unmounted before: refused as status refuses it, nothing changed.
remember "${D[1]}"
ctl migrate "${S[0]}=$L" "${S[1]}=${D[1]}"
failed "a member not mounted" 1 "vfio-migctl: $L: not a vfio-migfs mount"
as_before "a member not mounted" "${D[1]}"
is "a member not mounted" "${S[0]}" running

finish
