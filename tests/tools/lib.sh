# shellcheck shell=bash
# Helpers of the tests that drive simulated devices (t-transfer.sh,
# t-examples.sh, t-status.sh), on top of tests/fs/lib.sh (start, eq, check, fail,
# finish and $T).  Environment: MIGFSD, and MIGCTL for vfio-migctl.
. "$(dirname "${BASH_SOURCE[0]}")/../fs/lib.sh"

# run COMMAND ARGS...: sets RC, OUT and ERR.
run() {
	RC=0
	"$@" >"$T/out" 2>"$T/err" || RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# ctl ARGS...: run vfio-migctl ARGS, killed after 30 s (status 124).
ctl() {
	run timeout -k 5 30 "$MIGCTL" "$@"
}

# failed WHAT STATUS TEXT: the last run exited STATUS with one line on
# stderr, and that line says TEXT.
failed() {
	eq "$1: exit status" "$RC" "$2"
	eq "$1: lines on stderr" "$(grep -c '' "$T/err")" 1
	case $ERR in
	*"$3"*) ok ;;
	*) fail "$1: stderr '$ERR' does not say '$3'" ;;
	esac
}

# passed WHAT: the last run exited 0 with nothing on stderr.
passed() {
	eq "$1: exit status" "$RC" 0
	eq "$1: stderr" "$ERR" ""
}

digest() {
	cat "$1/sim/digest"
}

# is WHAT DIR STATE [DIGEST]: DIR is in STATE (and has DIGEST).
is() {
	eq "$1: state of ${2##*/}" "$(cat "$2/state")" "$3"
	[ $# -lt 4 ] || eq "$1: digest of ${2##*/}" "$(digest "$2")" "$4"
}

# snapshot DIR...: each device's state and digest.
snapshot() {
	local d
	for d in "$@"; do echo "${d##*/} $(cat "$d/state") $(digest "$d")"; done
}

# remember DIR...: note their snapshot.  as_before WHAT DIR...: they are
# as remember saw them.
remember() {
	BEFORE=$(snapshot "$@")
}

as_before() {
	local what=$1
	shift
	eq "$what: nothing changed" "$(snapshot "$@")" "$BEFORE"
}

# wait_for WHAT COMMAND...: until the command succeeds (10 s at most).
wait_for() {
	local what=$1
	shift
	for _ in $(seq 200); do
		"$@" && return 0
		sleep 0.05
	done
	fail "timed out waiting for $what"
	return 1
}

# has FILE VALUE: FILE holds VALUE (for wait_for).
has() {
	[ "$(cat "$1")" = "$2" ]
}

# gone PID: the process has ended (for wait_for).
gone() {
	! kill -0 "$1" 2>/dev/null
}

# bg COMMAND...: run it in the background (PID).  collect: wait for it
# (10 s at most, then kill it) and set RC, OUT and ERR as run does.
# bigger FILE BYTES: FILE holds more than BYTES (for wait_for).
bigger() {
	[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -gt "$2" ]
}

bg() {
	"$@" >"$T/out" 2>"$T/err" &
	PID=$!
}

collect() {
	wait_for "pid $PID to end" gone "$PID" || kill -9 "$PID"
	RC=0
	wait "$PID" || RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# ---- --json (read with python3's json) ----

# records WHAT FILE CHECK: every line of FILE is a JSON object, and the
# python code CHECK (over recs, the list, and the helpers below) finds
# nothing wrong: it prints what is.
records() {
	eq "$1" "$(python3 - "$2" "$3" 2>&1 <<'EOF'
import json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
bad = [r for r in recs if not isinstance(r, dict) or "type" not in r]
if bad:
    print("not records:", bad)
kind = lambda t: [r for r in recs if r["type"] == t]
rounds = [r for r in kind("progress") if "round" in r]
def want(what, got, expect):
    if got != expect:
        print("%s: got %r, want %r" % (what, got, expect))
exec(sys.argv[2])
EOF
)" ""
}

# A round's numbers hold together as domjobinfo's do: the percent sent of
# what precopy has seen, the downtime what is left at the round's rate.
ROUNDS_CONSISTENT='
for r in rounds:
    want("percent of round %d" % r["round"], r["percent"], 100 * r["bytes"] // (r["bytes"] + r["remaining"]) if r["bytes"] + r["remaining"] else 100)
    want("expected downtime of round %d" % r["round"], r["expected_downtime_ms"], r["remaining"] * 1000 // r["rate"] if r["rate"] else None)
    for k in ("remaining", "rate", "dirty_rate"):
        if not isinstance(r[k], int) or r[k] < 0:
            print("round", r["round"], k, r[k])
for d in set(r["dir"] for r in rounds):
    want("rounds of %s in order" % d, [r["round"] for r in rounds if r["dir"] == d], list(range(1, len([r for r in rounds if r["dir"] == d]) + 1)))
'
