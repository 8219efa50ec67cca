#!/bin/bash
# vfio-migctl check against simulated devices: a sane sim passes every
# rule (and says why it skips one); each quirk of the sim fails exactly
# its rule, with evidence, and no other; every rule is seen failing.  The
# safety rules: busy devices refused untouched, devices reset to running
# at the end and at SIGTERM/SIGHUP (never left in resuming), exit 3 when
# one cannot be brought back, 4 when a daemon is gone; usage errors exit 2.  Environment: MIGFSD,
# MIGCTL, MIGFS_VALGRIND=1 to run the daemons (and the sim's quirks)
# under valgrind.
. "$(dirname "$0")/lib.sh"	# run, ctl, failed, passed, wait_for; start, eq, $T

# quirk -> the rule it breaks (docs/sim-device.md, docs/conformance.md)
declare -A RULE_OF=(
	[open_stop_copy]=1 [arc_refused]=2 [reset_stop]=3 [size_under]=4
	[precopy_grows]=5 [p2p_dma]=6 [load_loses]=7 [accept_corrupt]=8
	[keep_refused]=9 [dirty_no_clear]=10
)

A=$(mnt a) B=$(mnt b) C=$(mnt c) E=$(mnt e)
args=(sim:cka,size=256K "$A" sim:ckb,size=256K "$B" sim:ckc,size=64K,features= "$C"
	sim:cke,size=256K "$E")
for q in "${!RULE_OF[@]}"; do
	mkdir "$T/q_$q"
	args+=("sim:ck_$q,size=256K,quirk=$q" "$T/q_$q")
done
start "${args[@]}"
MAIN=$DPID

# verdicts FILE: "id:result" for each rule of a --json report.
verdicts() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%d:%s" % (r["id"], r["result"]) for r in d["rules"]))' "$1"
}

# field FILE ID KEY: a rule's field in a --json report.
field() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print([r for r in d["rules"] if r["id"] == int(sys.argv[2])][0][sys.argv[3]])' "$1" "$2" "$3"
}

ALL_PASS="1:pass 2:pass 3:pass 4:pass 5:pass 6:pass 7:pass 8:pass 9:pass 10:pass"

# --- a sane sim ---

ctl check --peer "$B" "$A"
passed "sane, with a peer"
eq "sane: 10 rules pass" "$(grep -cE '^ ?[0-9]+  [a-z0-9-]+ +PASS' "$T/out")" 10
check "sane: the timings table" grep -qE '^  stop -> stop_copy +[0-9]+ +[0-9]+ +[0-9]+$' "$T/out"
check "sane: the load times" grep -q '^load (resuming -> stop) over 5 runs' "$T/out"
check "sane: the summary" grep -q '^10 passed, 0 failed, 0 skipped; the device is in running, reset$' "$T/out"
is "sane" "$A" running
is "sane" "$B" running

ctl check --json --peer "$B" --runs 2 "$A"
passed "sane --json"
cp "$T/out" "$T/sane.json"
eq "sane --json: every rule" "$(verdicts "$T/sane.json")" "$ALL_PASS"
eq "sane --json: restored" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["restored"])' "$T/sane.json")" True
# An arc met twice in a cycle (stop_copy -> stop) has two samples a run.
eq "sane --json: 2 runs of each arc" "$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))["timings"]
print(d["runs"], sorted({a["samples"] for a in d["arcs"]}), d["load"]["samples"],
      d["stop_copy_bytes"] == d["data_size"])' "$T/sane.json")" "2 [2, 4] 2 True"

ctl check --json "$A"
passed "sane without a peer"
eq "no peer: rules 7-9 skip" "$(verdicts "$T/out")" \
	"1:pass 2:pass 3:pass 4:pass 5:pass 6:pass 7:skip 8:skip 9:skip 10:pass"
eq "no peer: why" "$(field "$T/out" 8 detail)" \
	"needs a device to load into: --peer DIR, or --destructive"

ctl check --json --destructive "$C"
passed "stop_copy alone, --destructive"
eq "stop_copy alone: pre_copy and dirty skip" "$(verdicts "$T/out")" \
	"1:pass 2:pass 3:pass 4:pass 5:skip 6:pass 7:pass 8:pass 9:pass 10:skip"
eq "stop_copy alone: why 5" "$(field "$T/out" 5 detail)" "the device has no pre_copy"
eq "stop_copy alone: why 10" "$(field "$T/out" 10 detail)" "the device has no dirty log"

# --- each quirk fails its rule, and nothing else ---

FAILED_RULES=""
for q in "${!RULE_OF[@]}"; do
	n=${RULE_OF[$q]}
	ctl check --json --destructive "$T/q_$q"
	eq "$q: exit status" "$RC" 1
	want=${ALL_PASS/"$n:pass"/"$n:fail"}
	eq "$q: only rule $n fails" "$(verdicts "$T/out")" "$want"
	[ -n "$(field "$T/out" "$n" did)" ] && [ -n "$(field "$T/out" "$n" got)" ] &&
		ok || fail "$q: rule $n has no evidence"
	is "$q: afterwards" "$T/q_$q" running
	grep -q "\"id\": $n, [^}]*\"result\": \"fail\"" "$T/out" && FAILED_RULES="$FAILED_RULES $n"
done
eq "every rule seen failing" "$(echo $FAILED_RULES | tr ' ' '\n' | sort -n | tr '\n' ' ')" \
	"1 2 3 4 5 6 7 8 9 10 "

# The evidence, as the table shows it.
ctl check --destructive "$T/q_keep_refused"
eq "table: exit status" "$RC" 1
check "table: the FAIL row" grep -qE '^ 9  refused-write +FAIL  a write was refused \(EINVAL' "$T/out"
check "table: did" grep -qE '^ {24}did:    load the stream with its first byte flipped' "$T/out"
check "table: rule" grep -qE '^ {24}rule:   bytes of a refused write are not kept' "$T/out"
check "table: source" grep -qE '^ {24}source: include/uapi/linux/vfio.h' "$T/out"
check "table: summary" grep -q '^9 passed, 1 failed, 0 skipped' "$T/out"

# The quirk's rule fails when selected alone, and the others are not run.
ctl check --json --rules 1,dirty-log "$T/q_open_stop_copy"
eq "--rules: exit status" "$RC" 1
eq "--rules: verdicts" "$(verdicts "$T/out")" \
	"1:fail 2:skip 3:skip 4:skip 5:skip 6:skip 7:skip 8:skip 9:skip 10:pass"
eq "--rules: why" "$(field "$T/out" 2 detail)" "not selected (--rules)"

# --- usage: exit 2, one line (and a quirk the sim does not have) ---

mkdir "$T/z"
run "$MIGFSD" sim:ckz,quirk=reset_stop+bogus "$T/z"
eq "quirk=bogus: the daemon refuses it" "$RC" 1
check "quirk=bogus: named" grep -q "sim:ckz: unknown quirk 'bogus'" "$T/err"


ctl check
failed "no DIR" 2 "check: needs one DIR"
ctl check "$A" "$B"
failed "two DIRs" 2 "check: needs one DIR"
ctl check --rules 11 "$A"
failed "--rules 11" 2 "--rules: no rule '11'"
ctl check --rules bogus "$A"
failed "--rules bogus" 2 "--rules: no rule 'bogus'"
ctl check --runs 0 "$A"
failed "--runs 0" 2 "--runs: '0' is not a number from 1 to 1000"
ctl check --rules , "$A"
failed "--rules ," 2 "--rules: an empty list"
ctl check --runs 5x "$A"
failed "--runs 5x" 2 "--runs: '5x' is not a number"
ctl check --peer "$A" "$A"
failed "--peer DIR" 2 "is DIR itself"
ctl check --bogus "$A"
failed "unknown option" 2 "unknown option '--bogus'"
ctl check --peer "$A/." "$A"
failed "--peer DIR by another path" 2 "is DIR's mount (use --destructive)"

# --- the dirty log's settings are put back ---

printf '0x0 0x200000\n0x400000 0x10000\n' | cat >"$A/dirty/ranges"
echo 8192 >"$A/dirty/page_size"
ctl check --rules p2p,dirty-log "$A"
passed "dirty settings"
eq "dirty settings: ranges put back" "$(cat "$A/dirty/ranges")" "0x0 0x200000
0x400000 0x10000"
eq "dirty settings: page size put back" "$(cat "$A/dirty/page_size")" 8192
eq "dirty settings: tracking off" "$(cat "$A/dirty/tracking")" 0

# --- refused: nothing is changed ---

echo stop_copy >"$E/state"
ctl check "$E"
failed "in stop_copy" 1 "is in stop_copy; check needs running or stop (nothing was changed)"
is "in stop_copy: untouched" "$E" stop_copy
echo stop >"$E/state"
ctl check --peer "$E" "$A"
passed "a peer in stop is taken"
is "the peer afterwards" "$E" running
echo "0 1M" >"$E/dirty/ranges"
echo 1 >"$E/dirty/tracking"
ctl check "$E"
failed "tracking" 1 "is tracking dirty pages"
echo 0 >"$E/dirty/tracking"
echo resuming >"$E/state"
ctl check --peer "$E" "$A"
failed "a peer in resuming" 1 "peer $E is in resuming"
echo 1 >"$E/reset"
# Another command holds E (the flock of ABI 9.1, as vfio-migctl takes it).
exec 7<"$E/state"
flock -n 7
ctl check "$E"
failed "a device another command holds" 1 "$E is in use by another vfio-migctl command"
ctl check --peer "$E" "$A"
failed "a peer another command holds" 1 "$E is in use by another vfio-migctl command"
exec 7<&-
is "held: untouched" "$E" running

# --- signals: the devices are reset, never left in resuming ---

# loading PID DIR: PID has DIR/data open for writing: DIR is in resuming
# and being loaded.  (Not DIR/state: its reads wait for a load's write.)
loading() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd")" = "$2/data" ] &&
			grep -qE '^flags:\s+[0-7]*[1-3]$' "/proc/$1/fdinfo/${fd##*/}" && return 0
	done
	return 1
}

S=$(mnt s)
start sim:cks,size=4M,load_us=400000 "$S"
SLOW=$DPID
for sig in TERM HUP; do
	"$MIGCTL" check --destructive --rules load "$S" >"$T/sig.out" 2>&1 &
	pid=$!
	wait_for "$S being loaded" loading "$pid" "$S"
	kill -"$sig" "$pid"
	rc=0
	wait "$pid" || rc=$?
	eq "SIG$sig: exit status" "$rc" $((128 + $(kill -l "$sig")))
	is "SIG$sig: afterwards" "$S" running
	# Cut short in resuming: no resuming -> stop, the reset ended it.
	check "SIG$sig: interrupted in resuming" grep -qE '^ 7  load +SKIP  interrupted by signal' "$T/sig.out"
	tac "$S/log" | sed '/began: resuming/q' | tac >"$T/last-load"
	check "SIG$sig: the load's session ended by a reset" grep -q 'reset: the device is in running' "$T/last-load"
	eq "SIG$sig: no resuming -> stop after the signal" \
		"$(grep -c 'transition resuming -> stop' "$T/last-load")" 0
done

# --- exit 4: the peer's daemon dies during a load ---

P=$(mnt p)
start sim:ckp,size=4M,load_us=400000 "$P"
PEER_PID=$DPID
Q=$(mnt q)
start sim:ckq,size=4M "$Q"
QUICK=$DPID
"$MIGCTL" check --peer "$P" --rules load "$Q" >"$T/gone.out" 2>"$T/gone.err" &
pid=$!
wait_for "$P being loaded" loading "$pid" "$P"
kill -9 "$PEER_PID"
rc=0
wait "$pid" || rc=$?
eq "peer gone: exit status" "$rc" 4
eq "peer gone: said so" "$(cat "$T/gone.err")" "vfio-migctl: check: the vfio-migfsd serving $P is gone"
check "peer gone: the report says it" grep -q 'could NOT be brought back to running' "$T/gone.out"
is "peer gone: DIR afterwards" "$Q" running

# --- exit 3: a device that neither its reset nor its arcs bring back ---

# The reset of a resuming device stops short (quirk reset_stop), and the
# arc stop -> running_p2p then fails (sim/fail): the signal's reset
# cannot bring it back.
X=$(mnt x)
start sim:ckx,size=4M,load_us=400000,quirk=reset_stop "$X"
BROKEN=$DPID
"$MIGCTL" check --destructive --rules load "$X" >"$T/x.out" 2>&1 &
pid=$!
wait_for "$X being loaded" loading "$pid" "$X"
echo "running_p2p EIO" >"$X/sim/fail"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
eq "not brought back: exit status" "$rc" 3
check "not brought back: said so" grep -q 'could NOT be brought back to running' "$T/x.out"
eq "not brought back: the device" "$(cat "$X/state")" error
check "interrupted: the rule skips" grep -qE '^ 7  load +SKIP  interrupted by signal 15$' "$T/x.out"

# Every daemon that lived ends cleanly (under valgrind: without errors).
for DPID in $MAIN $SLOW $QUICK $BROKEN; do
	stop_daemon
done
finish
