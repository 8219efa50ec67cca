#!/bin/bash
# The kill matrix: SIGKILL of a daemon during a precopy stream, a
# stop_copy stream, a resuming stream with write-behind pending and a slow
# transition.  No process hangs (every wait is bounded), the vfio-migctl
# command running says in one line that the daemon serving its DIR is
# gone and exits 4, and a new daemon replaces the stale mounts at the
# same paths, names that mountinfo escapes.  Environment: MIGFSD, MIGCTL.
. "$(dirname "$0")/lib.sh"	# run, ctl, bg, collect, failed, wait_for; start, eq, $T

S="$T/src dir"		# mountinfo says src\040dir
D="$T/dst\\dir"		# and dst\134dir
mkdir "$S" "$D"
SIZE=4M
ENDLESS=(--threshold 0 --max-rounds 100000)

# serve DEVICE DIR: a daemon of its own for DIR (its pid in SERVED[DIR]),
# answering there: a killed daemon's stale mount is replaced.  start's own
# wait may see the stale mount's cached `state`: wait for an answer.
declare -A SERVED
serve() {
	start "$1" "$2"
	SERVED[$2]=$DPID
	wait_for "$2 to answer" timeout 2 cat "$2/state" >/dev/null ||
		{ cat "$T/daemon.log" >&2; exit 1; }
}

# kill_daemon DIR: SIGKILL the daemon serving DIR; it is reaped at once.
kill_daemon() {
	local pid=${SERVED[$1]}
	kill -9 "$pid"
	check "the daemon of ${1##*/} ends at SIGKILL" timeout 5 tail --pid="$pid" -f /dev/null
	wait "$pid" 2>/dev/null
}

# replaced DIR DEVICE: a new daemon mounts DIR over the stale mount, once.
replaced() {
	serve "$2" "$1"
	eq "${1##*/}: a new daemon answers" "$(cat "$1/state")" running
	eq "${1##*/}: one mount there" "$(findmnt -n -o TARGET --mountpoint "$1" | wc -l)" 1
}

serve sim:s,size=$SIZE "$S"
ctl save "$S" "$T/s.stream"
passed "a stream to load"
stop_daemon
serve sim:d,size=$SIZE,load_us=500000 "$D"

# ---- (a) a precopy stream ----
serve sim:s,size=$SIZE,dirty_rate=100000 "$S"
bg "$MIGCTL" save "${ENDLESS[@]}" "$S" "$T/a.s"
wait_for "the precopy of $S to begin" bigger "$T/a.s" 1048576
eq "(a) the source is in precopy" "$(cat "$S/state")" pre_copy
kill_daemon "$S"
collect
failed "(a) save, daemon killed in precopy" 4 "save: the vfio-migfsd serving $S is gone"
check "(a) the partial file is removed" [ ! -e "$T/a.s" ]
ctl status "$S"
failed "(a) status of the stale mount" 4 "the vfio-migfsd serving $S is gone"
replaced "$S" sim:s,size=$SIZE,features=p2p

# ---- (b) a stop_copy stream: S (no precopy) into a D slow to load ----
bg "$MIGCTL" migrate "$S" "$D"
wait_for "the stop_copy of $S" has "$S/state" stop_copy
kill_daemon "$S"
collect
failed "(b) migrate, source daemon killed in stop_copy" 4 \
	"migrate: the vfio-migfsd serving $S is gone"
eq "(b) the destination was reset" "$(cat "$D/state")" running
replaced "$S" sim:s,size=$SIZE

# The same stream, the destination's daemon killed: the source runs again.
bg "$MIGCTL" migrate "$S" "$D"
wait_for "the load into $D" has "$D/state" resuming
sleep 0.3
kill_daemon "$D"
collect
failed "(b) migrate, destination daemon killed" 4 "migrate: the vfio-migfsd serving $D is gone"
eq "(b) the source runs again" "$(cat "$S/state")" running
replaced "$D" sim:d,size=$SIZE,load_us=500000

# ---- (c) a resuming stream with write-behind pending ----
bg "$MIGCTL" load "$D" "$T/s.stream"
wait_for "the load into $D" has "$D/state" resuming
sleep 0.2	# a write answered, its load (500 ms) under way
kill_daemon "$D"
collect
failed "(c) load, daemon killed with a write behind" 4 "load: the vfio-migfsd serving $D is gone"
replaced "$D" sim:d,size=$SIZE,load_us=1000000

# ---- (d) a slow transition: stop waits for two loads of 1 s ----
bg "$MIGCTL" watch --interval 50 "$D"
WATCH=$PID
echo resuming >"$D/state"
timeout -k 2 10 python3 - "$D" >"$T/d.out" 2>&1 <<'EOF' &
import errno, os, sys
d = sys.argv[1]
fd = os.open(d + "/data", os.O_WRONLY)
for _ in range(2):		# each answered before its load
    os.write(fd, b"x" * 65536)
print("stopping", flush=True)
try:
    with open(d + "/state", "w") as f:
        f.write("stop")
    print("stop: ok")
except OSError as e:
    print("stop:", errno.errorcode[e.errno])
try:
    os.close(fd)
except OSError as e:
    print("close:", errno.errorcode[e.errno])
EOF
PY=$!
wait_for "the transition to begin" grep -q stopping "$T/d.out"
sleep 0.3
kill_daemon "$D"
check "(d) the transition is answered" timeout 5 tail --pid="$PY" -f /dev/null
rc=0
wait "$PY" || rc=$?
eq "(d) the writer's status" "$rc" 0
case $(sed -n 2p "$T/d.out") in
"stop: ENOTCONN" | "stop: ECONNABORTED") ok ;;
*) fail "(d) the transition: $(cat "$T/d.out")" ;;
esac
PID=$WATCH
collect
failed "(d) watch, daemon killed" 4 "the vfio-migfsd serving $D is gone"
ctl status "$S" "$D"
failed "(d) status" 4 "the vfio-migfsd serving $D is gone"
eq "(d) status still shows the live one" "$(sed 1d "$T/out" | cut -c1-${#S})" "$S"
replaced "$D" sim:d,size=$SIZE

# The stale mounts replaced, status lists both paths as they are named
# (among the mounts of tests running beside this one).
ctl status
eq "status: the mounts, by their names" \
	"$(grep -F "$T/" "$T/out" | awk '{ print $1, $2 }' FS='  +')" \
	"$S sim:s,size=$SIZE
$D sim:d,size=$SIZE"
ctl migrate "$S" "$D"
passed "a migration between the new daemons"
echo 1 >"$D/reset"
echo running >"$S/state"

# ---- (e) a set whose destination's daemon dies: gone, as for one pair ----
S2="$T/src2" D2="$T/dst2" K="$T/k" L="$T/l"
mkdir "$S2" "$D2" "$K" "$L"
serve sim:s2,size=$SIZE,dirty_rate=100000 "$S2"
serve sim:d2,size=$SIZE "$D2"
bg "$MIGCTL" migrate "${ENDLESS[@]}" "$S=$D" "$S2=$D2"
wait_for "the set's precopy" has "$S2/state" pre_copy
kill_daemon "$D2"
collect
failed "(e) set, a destination's daemon killed" 4 "migrate: the vfio-migfsd serving $D2 is gone; precopy phase: "
check "(e) says what became of the rest" grep -q "; 2 sources running again, 1 destination reset$" "$T/err"
eq "(e) the sources run again" "$(cat "$S/state") $(cat "$S2/state")" "running running"
eq "(e) the other destination was reset" "$(cat "$D/state")" running
# A member whose daemon is gone is named, before anything changes.
ctl migrate "$S=$D" "$S2=$D2"
failed "(e) a set with a member gone" 4 "migrate: the vfio-migfsd serving $D2 is gone"
eq "(e) nothing changed" "$(cat "$S/state") $(cat "$S2/state") $(cat "$D/state")" "running running running"

# ---- (f) the source's daemon dies once the destination has it all ----
# K (no pre_copy) is drained at once; L takes 4 s to load it: the kill
# falls between the drain and the commit point, also under ThreadSanitizer
# on a busy machine (with 1 s, a full run under TSan saw the commit first).
# L runs K's state, and nothing is undone.
serve sim:k,size=128K,dirty_rate=0,features=stop_copy "$K"
serve sim:l,size=128K,load_us=4000000 "$L"
KD=$(cat "$K/sim/digest")
bg "$MIGCTL" migrate "$K" "$L"
wait_for "the stop_copy of $K" has "$K/state" stop_copy
sleep 0.2
kill_daemon "$K"
collect
failed "(f) migrate, the source's daemon killed once drained" 5 "migrate $K $L: $K: stop: "
check "(f) says where the state is" grep -q "; after the commit point: $L runs the migrated state, nothing was rolled back; the vfio-migfsd serving $K is gone; $L is left in running$" "$T/err"
eq "(f) the destination runs the source's state" "$(cat "$L/state") $(cat "$L/sim/digest")" "running $KD"

# ---- (g) the same, and a signal before the commit point ----
# The roll-back cannot run K again: L, which checked the whole state, is
# not reset but keeps it, the only copy.
serve sim:k,size=128K,dirty_rate=0,features=stop_copy "$K"
echo 1 >"$L/reset"
KD=$(cat "$K/sim/digest")
bg "$MIGCTL" migrate "$K" "$L"
wait_for "the stop_copy of $K" has "$K/state" stop_copy
sleep 0.2
kill_daemon "$K"
kill -INT "$PID"
collect
failed "(g) migrate, the source's daemon killed, then SIGINT" 4 "migrate: the vfio-migfsd serving $K is gone; $L keeps the migrated state (the only copy: not reset)"
eq "(g) the destination keeps the source's state" "$(cat "$L/state") $(cat "$L/sim/digest")" "stop $KD"

for dir in "$S2" "$L"; do
	DPID=${SERVED[$dir]}
	stop_daemon
done
for dir in "$S" "$D"; do
	DPID=${SERVED[$dir]}
	stop_daemon
done
finish
