#!/bin/bash
# vfio-migctl status and watch against real mounts of simulated devices:
# the table and the JSON, field by field; mounts found without naming
# them; what watch shows as devices change, on a terminal and in a log;
# how it ends.  Environment: MIGFSD, MIGCTL, MIGCTL_VALGRIND=1 to run
# vfio-migctl under valgrind (its errors fail the test at the end).
. "$(dirname "$0")/lib.sh"	# run, ctl, failed, passed, wait_for; start, eq, $T

if [ "${MIGCTL_VALGRIND:-0}" = 1 ]; then
	# A wrapper, so that a watch in the background keeps its pid.
	cat >"$T/migctl" <<EOF
#!/bin/sh
exec valgrind --quiet --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --log-file="$T/valgrind.%p" "$MIGCTL" "\$@"
EOF
	chmod +x "$T/migctl"
	MIGCTL=$T/migctl
fi

A=$(mnt a)		# every feature
B=$(mnt b)		# stop_copy alone: one arc from running to stop
W=$T/$'we"ird\\dir\tx'	# a name JSON must escape
# Not UTF-8: a stray byte, an overlong NUL, a surrogate; then a valid
# "é", and control characters.
U=$T/$'u-\xff\xc0\x80\xed\xa0\x80\xc3\xa9\x01\t\x7f'
mkdir "$W" "$U"
start sim:sta,size=256K "$A" sim:stb,size=64K,features= "$B" sim:stw,size=64K "$W" \
	sim:stu,size=64K "$U"
TS='^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z '

# --- status: the table ---

ctl status "$A"
passed "status A"
eq "status A: lines" "$(grep -c '' "$T/out")" 2
eq "status A: header" "$(head -1 "$T/out" | tr -s ' ')" \
	"DIR DEVICE STATE FEATURES SAVED RESUMED LAST TRANSITION TOOK LAST ERROR"
eq "status A: row" "$(sed -n 2p "$T/out" | tr -s ' ')" \
	"$A sim:sta,size=256K running stop_copy,p2p,pre_copy,dirty 0 0 - - -"

ctl status "$B" "$A"
passed "status B A"
eq "status B A: rows in order" "$(sed 1d "$T/out" | cut -d' ' -f1)" "$B
$A"
# under COLUMN TEXT: the text under COLUMN's title, on the row of B, is TEXT.
under() {
	local head before
	head=$(head -1 "$T/out")
	before=${head%%"$1"*}
	eq "status: $1 aligned" "$(sed -n 2p "$T/out" | cut -c$((${#before} + 1))-$((${#before} + ${#2})))" "$2"
}
under DEVICE "sim:stb,size=64K,features="
under STATE running
under FEATURES stop_copy
under RESUMED "      0"	# numbers to the right

# --- status: errors ---

mkdir "$T/plain"
ctl status "$A" "$T/plain" "$B"
failed "status of a plain directory" 1 "vfio-migctl: $T/plain: not a vfio-migfs mount"
eq "the mounts around it still shown" "$(sed 1d "$T/out" | cut -d' ' -f1)" "$A
$B"
ctl status "$T/nowhere"
failed "status of a missing directory" 1 "$T/nowhere: not a vfio-migfs mount"
ctl status --frob
failed "status --frob" 2 "unknown option '--frob'"
ctl status --json=yes "$A"
failed "status --json=yes" 2 "vfio-migctl: "

# --- status --json, field by field ---

# fields FILE: one line per object of the JSON array in FILE, its fields
# joined by |, after checking every key and type.
fields() {
	python3 - "$1" <<'PY'
import json, sys
def typed(obj, types):
    assert list(obj) == list(types), f"keys {list(obj)}"
    for key, want in types.items():
        assert type(obj[key]) in (want if isinstance(want, tuple) else (want,)), f"{key}: {obj[key]!r}"
for o in json.load(open(sys.argv[1])):
    typed(o, {"dir": str, "device": str, "state": str, "features": list,
              "session": str, "bytes_saved": int, "bytes_resumed": int,
              "last_transition": (dict, type(None)), "last_error": (str, type(None)),
              "last_error_age": (int, type(None))})
    assert (o["last_error"] is None) == (o["last_error_age"] is None), "an age without an error"
    assert all(type(f) is str for f in o["features"])
    t = o["last_transition"]
    if t:
        typed(t, {"from": str, "to": str, "arcs": int, "usec": int, "result": str})
        t = f"{t['from']} -> {t['to']} {t['arcs']} {t['result']}"
    print(o["dir"], o["device"], o["state"], " ".join(o["features"]), o["session"],
          o["bytes_saved"], o["bytes_resumed"], t, o["last_error"],
          "-" if o["last_error_age"] is None else "aged", sep="|")
PY
}

echo stop_copy >"$A/state"
cat "$A/data" >"$T/img"
size=$(stat -c %s "$T/img")
echo "stop EIO" >"$B/sim/fail"
eq "a failing arc" "$(werr "$B/state" stop)" "Input/output error"
ctl status --json "$A" "$B" "$W"
passed "status --json"
eq "status --json: every field" "$(fields "$T/out")" \
"$A|sim:sta,size=256K|stop_copy|stop_copy p2p pre_copy dirty|saving|$size|0|running -> stop_copy 3 ok|None|-
$B|sim:stb,size=64K,features=|error|stop_copy|none|0|0|running -> stop 0 EIO|running -> stop failed, device is in error: Input/output error (EIO)|aged
$W|sim:stw,size=64K|running|stop_copy p2p pre_copy dirty|none|0|0|None|None|-"
# The table says how old the last error is: an old one is no news.
ctl status "$B" "$W"
eq "status: the last error's age" "$(sed -n 2p "$T/out" | grep -oE '\(EIO\) \([0-9]+ s ago\)$' | sed 's/[0-9]\+ s/N s/')" "(EIO) (N s ago)"
eq "status: no age without an error" "$(sed -n 3p "$T/out" | awk '{print $NF}')" "-"

# Valid JSON whatever the bytes of a path: each byte that is not UTF-8
# is U+FFFD, control characters are escaped.
ctl status --json "$U" "$W"
passed "status --json of a path that is not UTF-8"
check "status --json, not UTF-8: json.tool takes it" python3 -m json.tool "$T/out" /dev/null
eq "status --json, not UTF-8: ASCII but for valid UTF-8" \
	"$(LC_ALL=C grep -c $'[\x80-\xff]' "$T/out")" 1
check "status --json, not UTF-8: the names as a decoder shows them" python3 - "$T/out" "$T" <<'PY'
import json, sys
dirs = [o["dir"] for o in json.load(open(sys.argv[1], encoding="utf-8"))]
assert dirs == [sys.argv[2] + "/u-" + "\ufffd" * 6 + "\u00e9\x01\t\x7f",
                sys.argv[2] + '/we"ird\\dir\tx'], dirs
PY

ctl status --json "$T/plain"
failed "status --json of a plain directory" 1 "$T/plain: not a vfio-migfs mount"
eq "status --json of nothing shown" "$(fields "$T/out")" ""

# --- status without DIR: every mount ---

# all_mounts ARGS...: status ARGS without DIR.  Other tests may mount
# their own meanwhile, and leave a killed daemon's mount behind for a
# moment (status names it gone and exits 4) or one that does not answer
# (exit 1): only ours must be there, unharmed.
all_mounts() {
	ctl status "$@"
	case $RC in 0 | 1 | 4) ok ;; *) fail "status $*, all mounts: exit status $RC" ;; esac
	eq "status $*, all mounts: errors about ours" "$(grep -cF -e "$A" -e "$B" -e "$W" "$T/err")" 0
}

all_mounts --json
fields "$T/out" | cut -d'|' -f1 >"$T/dirs"
for d in "$A" "$B" "$W"; do
	check "status --json, all mounts, has ${d##*/}" grep -qxF "$d" "$T/dirs"
done
all_mounts
check "status, all mounts, has a row for A" grep -q "^$A  *sim:sta,size=256K  *stop_copy " "$T/out"
check "status, all mounts, has a row for B" grep -q "^$B  *sim:stb,size=64K,features=  *error " "$T/out"
echo 1 >"$A/reset"
echo 1 >"$B/reset"

# --- watch: the command line ---

ctl watch
failed "watch without DIR" 2 "watch takes one DIR"
ctl watch "$A" "$B"
failed "watch A B" 2 "watch takes one DIR"
for bad in 0 x -1 86400001; do
	ctl watch --interval "$bad" "$A"
	failed "watch --interval $bad" 2 "--interval takes 1 to"
done
for bad in 0 x -1 18446744073709551616; do
	ctl watch --count "$bad" "$A"
	failed "watch --count $bad" 2 "--count takes 1 to"
done
ctl watch "$A" --count
failed "watch --count without a value" 2 "'--count' needs a value"
ctl watch --count 1 "$T/plain"
failed "watch of a plain directory" 1 "vfio-migctl: $T/plain: not a vfio-migfs mount"

# --- watch in the background ---

# watch_bg NAME ARGS...: vfio-migctl watch ARGS, its output in $T/NAME;
# sets WPID and WOUT (that file).
watch_bg() {
	WOUT=$T/$1
	shift
	"$MIGCTL" watch "$@" >"$WOUT" 2>"$WOUT.err" &
	WPID=$!
}

ended() {
	! kill -0 "$WPID" 2>/dev/null
}

# watch_ended WHAT: the watch ends by itself, exit status 0, no stderr.
watch_ended() {
	local rc=0
	wait_for "$1 to end" ended || kill -9 "$WPID"
	wait "$WPID" || rc=$?
	eq "$1: exit status" "$rc" 0
	eq "$1: stderr" "$(cat "$WOUT.err")" ""
}

# has OUT N: OUT has at least N lines.
has() {
	[ "$(grep -c '' "$1")" -ge "$2" ]
}

# states OUT: the state on each line of a watch's log.
states() {
	sed -E "s/$TS//; s/,.*//" "$1"
}

# --count, and a change made meanwhile (the interval is long: the second
# look is the change's).
watch_bg count --count 2 --interval 60000 "$B"
wait_for "the first line" has "$WOUT" 1
echo stop >"$B/state"
watch_ended "watch --count 2"
eq "watch --count 2: the states" "$(states "$WOUT")" "running
stop"
check "watch, not on a terminal: timestamps" grep -qE "$TS" "$WOUT"
eq "watch, not on a terminal: a line each" "$(grep -cvE "$TS" "$WOUT")" 0
eq "watch --count 2: the second line" "$(sed -n 2p "$WOUT" | sed -E "s/$TS//")" \
	"stop, saved 0, resumed 0, 0.0 MiB/s"

# --count N on an idle device: N lines, one per look (an idle device
# gives no change to end the count on).
watch_bg idle --count 3 --interval 50 "$B"
watch_ended "watch --count 3 of an idle device"
eq "watch --count 3 of an idle device: 3 lines" "$(grep -c '' "$WOUT")" 3

# A reader that goes away ends the watch at once, even of an idle device
# whose next line would come in an hour: as a filter, by SIGPIPE.
run timeout 10 bash -c "'$MIGCTL' watch --interval 3600000 '$B' | head -1; echo \"\${PIPESTATUS[*]}\""
eq "watch | head -1: ended, by SIGPIPE" "$(sed -n 2p "$T/out")" "141 0"
eq "watch | head -1: the line" "$(sed -n 1p "$T/out" | sed -E "s/$TS//; s/,.*//")" stop

# --json: a record a look, of the same numbers.
watch_bg json --json --count 2 --interval 60000 "$B"
wait_for "the first record" has "$WOUT" 1
echo running >"$B/state"
watch_ended "watch --json"
records "watch --json: records" "$WOUT" '
want("a record a look", [(r["type"], r["dir"], r["state"], r["bytes_saved"], r["initial_bytes"]) for r in recs], [("watch", "'"$B"'", s, 0, None) for s in ("stop", "running")])
want("timestamps", all(r["time"].endswith("Z") for r in recs), True)
'
echo stop >"$B/state"

# A line per change, and none without one.
watch_bg log --interval 50 "$B"
wait_for "the first line" has "$WOUT" 1
n=1
for s in running stop running stop; do
	echo $s >"$B/state"
	n=$((n + 1))
	wait_for "the line for $s" has "$WOUT" $n
done
sleep 0.3	# six intervals without a change
kill -TERM "$WPID"
watch_ended "watch until SIGTERM"
eq "watch: a line per change, in order" "$(states "$WOUT")" "stop
running
stop
running
stop"

# Bytes moving (no change of `status`) show at the next interval, and
# precopy's numbers in pre_copy.
watch_bg bytes --interval 50 "$A"
wait_for "the first line" has "$WOUT" 1
echo pre_copy >"$A/state"
wait_for "pre_copy with its initial bytes" \
	grep -qE "Z pre_copy, saved 0, resumed 0, 0\.0 MiB/s, initial [1-9][0-9]*, dirty 0$" "$WOUT"
cat "$A/data" >"$T/img"
size=$(stat -c %s "$T/img")
wait_for "the bytes read in pre_copy" \
	grep -qE "Z pre_copy, saved $size, resumed 0, [0-9.]+ MiB/s, initial 0, dirty 0$" "$WOUT"
wait_for "the rate falling to 0" \
	grep -qE "Z pre_copy, saved $size, resumed 0, 0\.0 MiB/s, initial 0, dirty 0$" "$WOUT"
echo 1 >"$A/reset"
wait_for "the reset" grep -qE "Z running, saved $size, " "$WOUT"
kill -INT "$WPID"
watch_ended "watch until SIGINT"

# On a terminal: one line, redrawn in place.
if script -qec "$MIGCTL watch --count 1 $A" /dev/null >"$T/tty" </dev/null; then
	eq "watch on a terminal: redrawn in place" "$(head -c 3 "$T/tty" | od -An -c | tr -d ' ')" '\r033['
	eq "watch on a terminal: one line, no time" "$(tr -d '\r\033' <"$T/tty")" \
		"[Krunning, saved $size, resumed 0, 0.0 MiB/s"
else
	fail "watch on a terminal (through script): $(cat "$T/tty")"
fi

# --- a daemon that answers nothing (stopped here; stuck in a driver's
# ioctl in life): status names its mount after a bound, and shows the rest.
S=$(mnt stuck)
"$MIGFSD" -f sim:sts,size=64K "$S" 2>>"$T/daemon.log" &
SPID=$!
PIDS="$PIDS $SPID"
wait_mounted "$S" "$SPID" "$T/daemon.log"
kill -STOP "$SPID"
ctl status "$S" "$A"
failed "status of a stopped daemon's mount" 1 \
	"vfio-migctl: $S: the vfio-migfsd serving it does not answer (stopped or stuck for 5 s)"
eq "the mount beside it still shown" "$(sed 1d "$T/out" | cut -d' ' -f1)" "$A"
ctl status --json
case $RC in 1 | 4) ok ;; *) fail "status of every mount beside a stopped daemon: exit status $RC" ;; esac
check "status of every mount names the stopped one" \
	grep -qxF "vfio-migctl: $S: the vfio-migfsd serving it does not answer (stopped or stuck for 5 s)" "$T/err"
check "status of every mount shows the others" grep -qF "\"dir\": \"$A\"" "$T/out"
kill -CONT "$SPID"
ctl status "$S"
passed "status once the daemon runs again"
kill -TERM "$SPID"
wait "$SPID"
# A daemon whose worker holds the device (a load of 10 s, as a driver
# stuck in an ioctl): its request to the mount is read, so a process
# waiting on it cannot even be killed.  status ends at its bound all the
# same, and what it left waiting holds nothing of it (its output pipe).
L=$(mnt held)
"$MIGFSD" -f sim:stl,size=64K,load_us=10000000 "$L" 2>>"$T/daemon.log" &
LPID=$!
PIDS="$PIDS $LPID"
wait_mounted "$L" "$LPID" "$T/daemon.log"
echo resuming > "$L/state"
head -c 65536 /dev/zero > "$T/w64k"
dd if="$T/w64k" of="$L/data" bs=64k status=none 2>/dev/null &
DD=$!
sleep 0.5
t0=$(date +%s%N)
timeout -k 5 30 "$MIGCTL" status "$L" 2>"$T/err" | cat >"$T/out"
took=$((($(date +%s%N) - t0) / 1000000))
check "status of a device its daemon holds ends at the bound, pipe and all ($took ms)" \
	[ "$took" -lt 8000 ]
eq "status of a device its daemon holds: the line" "$(cat "$T/err")" \
	"vfio-migctl: $L: the vfio-migfsd serving it does not answer (stopped or stuck for 5 s)"
wait "$DD"
kill -TERM "$LPID"
wait "$LPID"

# The end of the mount ends the watch: unmounted (lazily, as the watch
# keeps a file of it open), or its daemon gone.
watch_bg umount --interval 50 "$W"
wait_for "the first line" has "$WOUT" 1
umount -l "$W"
watch_ended "watch across umount -l"
eq "watch across umount -l: the last line" "$(tail -1 "$WOUT" | sed -E "s/$TS/TIME /")" \
	"TIME $W is no longer mounted"

watch_bg daemon "$A"
wait_for "the first line" has "$WOUT" 1
stop_daemon
watch_ended "watch across the daemon's end"
eq "watch across the daemon's end: the last line" "$(tail -1 "$WOUT" | sed -E "s/$TS/TIME /")" \
	"TIME $A is no longer mounted"

for log in "$T"/valgrind.*; do
	[ -s "$log" ] || continue
	fail "valgrind: vfio-migctl ${log##*.}"
	cat "$log" >&2
done
finish
