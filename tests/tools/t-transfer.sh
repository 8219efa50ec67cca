#!/bin/bash
# vfio-migctl save, load and migrate between simulated devices: round
# trips through a file, a pipe and straight across; what the precopy
# options change; the stream's own bytes; and every failure, with its one
# line, its exit status and where it leaves the devices.
. "$(dirname "$0")/lib.sh"

S=$(mnt s)	# a source that changes as it runs: precopy has rounds
F=$(mnt f)	# dirties its whole state faster than it is read
N=$(mnt n)	# no pre_copy
X=$(mnt x)	# idle: changes only by loading
D=$(mnt d)	# the destination
O=$(mnt o)	# half the size of the others
W=$(mnt w)	# small, no pre_copy: its whole stream is one write
start sim:s,size=4M,dirty_rate=200 "$S" sim:f,size=4M,dirty_rate=100000 "$F" \
	sim:n,size=4M,features=p2p,dirty_rate=200 "$N" sim:x,size=4M "$X" \
	sim:d,size=4M "$D" sim:o,size=2M "$O" sim:w,size=128K,features=p2p "$W"
D0=$(digest "$D")	# what a reset brings D back to

# layout FILE [PAYLOAD]: the stream's layout, one item a line: magic,
# version, id, features, source, "chunk TYPE OFFSET LENGTH NUMBER" for every
# chunk (the end chunk too) and "end PRECOPY STOPCOPY CHUNKS"; the data
# chunks' payloads, concatenated, into PAYLOAD.  Read by the format's
# independent reading (tests/streamfmt.py).
layout() {
	PYTHONPATH=$(dirname "$0")/.. python3 - "$@" <<'EOF'
import struct, sys
import streamfmt
f = open(sys.argv[1], "rb").read()
out = open(sys.argv[2], "wb") if len(sys.argv) > 2 else None
version, count, created, sid, features, n = struct.unpack_from("<IIQQII", f, 8)
print("magic", f[:8].decode(errors="replace"))
print("version", version)
print("id", "%016x" % sid)
print("features", features)
print("source", f[40:40 + n].decode(errors="replace"))
types = {1: "precopy", 2: "stop_copy", 0x454E4421: "end"}
for off, size, t, dev, number in streamfmt.chunks_of(f):
    payload = f[off + streamfmt.CHUNK_HEADER:off + size]
    print("chunk", types.get(t, t), off, len(payload), number)
    if t == streamfmt.END:
        print("end", *struct.unpack("<QQQ", payload))
    elif out:
        out.write(payload)
EOF
}

# field FILE KEY: the value of KEY in FILE's layout.
field() {
	layout "$1" | sed -n "s/^$2 //p"
}

# chunks FILE TYPE: how many chunks of TYPE.  chunk_at FILE N: the
# offset of the Nth chunk.
chunks() {
	layout "$1" | grep -c "^chunk $2 "
}

chunk_at() {
	layout "$1" | awk -v n="$2" '$1 == "chunk" && ++i == n { print $3 }'
}

# rechunk FILE OUT N...: FILE with its data chunks replaced by its chunks
# number N..., in that order (its header and end chunk as they were).
rechunk() {
	local file=$1 out=$2 offs n
	shift 2
	offs=($(layout "$file" | awk '$1 == "chunk" { print $3 }'))
	{
		head -c "${offs[0]}" "$file"
		for n; do
			tail -c +$((offs[n - 1] + 1)) "$file" | head -c $((offs[n] - offs[n - 1]))
		done
		tail -c +$((offs[${#offs[@]} - 1] + 1)) "$file"
	} > "$out"
}

# as_version N FILE OUT: FILE with version N in its header, under a right CRC.
as_version() {
	PYTHONPATH=$(dirname "$0")/.. python3 - "$@" <<'EOF'
import struct, sys
from streamfmt import crc32c, chunks_of
f = bytearray(open(sys.argv[2], "rb").read())
crc = chunks_of(f)[0][0] - 4
struct.pack_into("<I", f, 8, int(sys.argv[1]))
struct.pack_into("<I", f, crc, crc32c(f[:crc]))
open(sys.argv[3], "wb").write(f)
EOF
}

# flip FILE OFFSET: invert the byte at OFFSET.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1")
	printf '%b' "\\0$(printf %o $((b ^ 255)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# rounds: the precopy rounds the last migrate (or save) reported; why:
# why they ended.
rounds() {
	sed -n 's/.* precopy in \([0-9]*\) rounds.*/\1/p' <<<"$OUT"
}

why() {
	sed -n 's/.* rounds, \([^,]*\), .*/\1/p' <<<"$OUT"
}

# summary WHAT LINE PREFIX REST: LINE is PREFIX (a literal) and then
# matches the extended regex REST; sets the BASH_REMATCH of REST.
summary() {
	case $2 in
	"$3"*) [[ ${2#"$3"} =~ ^$4$ ]] && ok && return ;;
	esac
	fail "$1: summary '$2' is not '$3$4'"
	return 1
}
# The saving side's counts, and load's: (1) all bytes (2) precopy
# (3) rounds (4) why (5) stop_copy.
COUNTS='([0-9]+) bytes \(([0-9]+) precopy in ([0-9]+) rounds, (no precopy|converged|within the downtime limit|at the round limit), ([0-9]+) stop_copy\)'
LOADED='([0-9]+) bytes \(([0-9]+) precopy, ([0-9]+) stop_copy, in ([0-9]+) chunks\), [0-9]+\.[0-9]{3} s'

# ---- round trips ----

ctl save "$S" "$T/s1"
passed "save to a file"
is "save" "$S" stop
# The summary's counts are the stream's: the end chunk's totals.
if summary "save" "$OUT" "saved $S to $T/s1: " "$COUNTS, [0-9]+\.[0-9]{3} s, stop_copy [0-9]+\.[0-9] ms"; then
	m=("${BASH_REMATCH[@]}")
	eq "save: summary's bytes" "${m[1]}" $((m[2] + m[5]))
	eq "save: summary's precopy and stop_copy" "${m[2]} ${m[5]}" \
		"$(field "$T/s1" end | cut -d' ' -f1-2)"
	check "save: precopy rounds (${m[3]})" [ "${m[3]}" -ge 1 ]
	eq "save: why precopy ended" "${m[4]}" converged
fi
ctl load --run "$D" "$T/s1"
passed "load --run"
is "load --run" "$D" running "$(digest "$S")"
if summary "load --run" "$OUT" "loaded $D from $T/s1: " "$LOADED, running"; then
	eq "load: summary's counts" "${BASH_REMATCH[2]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]}" \
		"$(field "$T/s1" end)"
	eq "load: summary's bytes" "${BASH_REMATCH[1]}" $((BASH_REMATCH[2] + BASH_REMATCH[3]))
fi
eq "magic" "$(field "$T/s1" magic)" VFMIGSTR
eq "version" "$(field "$T/s1" version)" 4
check "a stream id" [ "$(field "$T/s1" id)" != 0000000000000000 ]
eq "features: stop_copy p2p pre_copy dirty" "$(field "$T/s1" features)" 15
eq "source" "$(field "$T/s1" source)" "sim:s,size=4M,dirty_rate=200"
eq "chunks in order" "$(layout "$T/s1" | awk '$1 == "chunk" { print $2 }' | uniq | xargs)" \
	"precopy stop_copy end"
eq "chunks numbered from 1, the end chunk last" \
	"$(layout "$T/s1" | awk '$1 == "chunk" && $5 != ++i { print "chunk", i, "is", $5 }')" ""

echo running > "$S/state"
"$MIGCTL" save "$S" - 2>"$T/err" | "$MIGCTL" load "$D" - >"$T/out" 2>"$T/err2"
eq "save | load: exit statuses" "${PIPESTATUS[*]}" "0 0"
is "save | load" "$D" stop "$(digest "$S")"
# The stream has stdout: save's summary goes to stderr, load's to stdout.
summary "save -: on stderr" "$(cat "$T/err")" "saved $S to standard output: " \
	"$COUNTS, [0-9.]+ s, stop_copy [0-9.]+ ms"
eq "load -: stderr" "$(cat "$T/err2")" ""
summary "load -: on stdout" "$(cat "$T/out")" "loaded $D from standard input: " "$LOADED, in stop"

echo running > "$S/state"
ctl migrate "$S" "$D"
passed "migrate"
case $OUT in
"migrated $S -> $D: "*" bytes ("*" precopy in "*" rounds, "*" stop_copy), "*" s, downtime "*" ms")
	ok ;;
*) fail "migrate: summary '$OUT'" ;;
esac
summary "migrate" "$OUT" "migrated $S -> $D: " "$COUNTS, [0-9.]+ s, downtime [0-9.]+ ms"
check "migrate: precopy rounds ($OUT)" [ "$(rounds)" -ge 1 ]
is "migrate" "$D" running "$(digest "$S")"
is "migrate" "$S" stop

# A source in stop has nothing to pre-copy.
ctl save "$S" "$T/s2"
passed "save from stop"
eq "save from stop: precopy chunks" "$(chunks "$T/s2" precopy)" 0
is "save from stop" "$S" stop
check "save from stop: stop -> stop_copy in the log" grep -q "transition stop -> stop_copy" "$S/log"

# Nor a device without pre_copy.
ctl save "$N" "$T/n1"
passed "save features=p2p"
eq "features=p2p: features" "$(field "$T/n1" features)" 3
eq "features=p2p: precopy chunks" "$(chunks "$T/n1" precopy)" 0
check "features=p2p: running -> stop_copy in the log" grep -q "transition running -> stop_copy" "$N/log"
ctl load "$D" "$T/n1"
passed "load features=p2p"
is "load without --run" "$D" stop "$(digest "$N")"
echo running > "$N/state"
ctl migrate "$N" "$D"
passed "migrate features=p2p"
eq "migrate features=p2p: rounds" "$(rounds)" 0
eq "migrate features=p2p: why" "$(why)" "no precopy"
is "migrate features=p2p" "$D" running "$(digest "$N")"

# --abort: a complete stream, and the source runs on.
ctl save "$X" "$T/x-abort" --abort	# options may follow the operands
passed "save --abort"
is "save --abort" "$X" running
summary "save --abort: downtime" "$OUT" "saved $X to $T/x-abort: " \
	"$COUNTS, [0-9.]+ s, downtime [0-9.]+ ms"
ctl load "$D" "$T/x-abort"
passed "load the --abort stream"
is "load the --abort stream" "$D" stop "$(digest "$X")"

# ---- what the precopy options change (F dirties ~all of itself per round) ----

# rounds_of WANT WHY ARGS...: migrate ARGS F D makes WANT precopy rounds,
# which end as WHY says.
rounds_of() {
	local want=$1 reason=$2
	shift 2
	echo running > "$F/state"
	ctl migrate "$@" "$F" "$D"
	passed "migrate $*"
	eq "migrate $*: rounds" "$(rounds)" "$want"
	eq "migrate $*: why" "$(why)" "$reason"
	is "migrate $*" "$D" running "$(digest "$F")"
}
rounds_of 1 "at the round limit" --max-rounds 1 --threshold 0
rounds_of 3 "at the round limit" --max-rounds 3 --threshold 0
rounds_of 30 "at the round limit" --threshold 0
rounds_of 30 "at the round limit"
rounds_of 1 converged --threshold 64M
rounds_of 1 "within the downtime limit" --threshold 0 --downtime-limit 100000

# ---- --json: progress records, then the device's (read with python3's json) ----

echo running > "$F/state"
ctl save --json --max-rounds 3 --threshold 0 "$F" "$T/fj"
passed "save --json"
records "save --json: records" "$T/out" "$ROUNDS_CONSISTENT"'
dev, = kind("device")
want("records: progress, then the device", recs[-1], dev)
want("rounds", len(rounds), 3)
want("the device: rounds", dev["rounds"], 3)
want("the device: outcome", (dev["outcome"], dev["exit_status"], dev["error"]), ("ok", 0, None))
want("the device: source", (dev["source"], dev["destination"]), ("'"$F"'", None))
want("the device: why precopy ended", dev["precopy_end"], "max_rounds")
want("the last round: all precopy bytes", rounds[-1]["bytes"], dev["precopy_bytes"])
want("the device: bytes", dev["bytes"], dev["precopy_bytes"] + dev["stopcopy_bytes"])
want("the device: the stream s totals", "%d %d" % (dev["precopy_bytes"], dev["stopcopy_bytes"]), "'"$(field "$T/fj" end | cut -d' ' -f1-2)"'")
want("F dirties as it runs", all(r["dirty_rate"] > 0 and r["remaining"] > 0 for r in rounds), True)
p = dev["phases"]
if abs(p["precopy_ms"] + p["stop_copy_ms"] - dev["total_ms"]) > 0.01:
    print("phases", p, "do not add up to", dev["total_ms"])
want("save: no downtime of its own", dev["downtime_ms"], None)
'
ctl load --json --run "$D" "$T/fj"
passed "load --json"
records "load --json: records" "$T/out" '
dev = recs[-1]
want("load: a device", (dev["type"], dev["command"], dev["outcome"]), ("device", "load", "ok"))
want("load: where, from what", (dev["destination"], dev["stream_source"]), ("'"$D"'", "'"$(field "$T/fj" source)"'"))
want("load: bytes and chunks", "%d %d %d" % (dev["precopy_bytes"], dev["stopcopy_bytes"], dev["chunks"]), "'"$(field "$T/fj" end)"'")
'
echo running > "$S/state"
ctl migrate --json "$S" "$D"
passed "migrate --json"
records "migrate --json: records" "$T/out" "$ROUNDS_CONSISTENT"'
dev = recs[-1]
want("migrate: a device", (dev["type"], dev["source"], dev["destination"], dev["outcome"]), ("device", "'"$S"'", "'"$D"'", "ok"))
want("migrate: the downtime is the switch-over", dev["downtime_ms"], dev["phases"]["stop_copy_ms"])
want("migrate: rounds as the progress said", dev["rounds"], len(rounds))
'
is "migrate --json" "$D" running "$(digest "$S")"
ctl load --json "$O" "$T/fj"
eq "load --json refused: exit status" "$RC" 1
records "load --json refused: records" "$T/out" '
dev, = recs
want("refused: the record", (dev["outcome"], dev["exit_status"], dev["bytes"]), ("failed", 1, 0))
want("refused: its error is the line", "vfio-migctl: load '"$O"': " + dev["error"], open("'"$T/err"'").read().strip())
'

# On a terminal, the progress line shows each round as domjobinfo does.
echo running > "$F/state"
run script -qec "'$MIGCTL' save --max-rounds 2 --threshold 0 '$F' '$T/fterm'" /dev/null
eq "save on a terminal: exit status" "$RC" 0
for n in 1 2; do
	check "save on a terminal: round $n" grep -qaE \
		"$F: precopy [0-9.]+ MiB [0-9.]+ MiB/s round $n [0-9]+%, left [0-9.]+ MiB, dirty [0-9.]+ MiB/s, downtime ~[0-9]+ ms" "$T/out"
done

# One round of save sends the initial data exactly: all but the end record.
echo running > "$F/state"
ctl save --max-rounds 1 --threshold 0 "$F" "$T/f1"
passed "save --max-rounds 1"
eq "save --max-rounds 1: precopy bytes" "$(field "$T/f1" end | cut -d' ' -f1)" \
	"$(($(cat "$F/data_size") - 24))"

# ---- the stream's payload is what `data` gives ----

echo stop > "$X/state"
ctl save "$X" "$T/x1"
ctl save "$X" "$T/x2"
layout "$T/x1" "$T/x1.data" >/dev/null
layout "$T/x2" "$T/x2.data" >/dev/null
check "two saves of a stopped device carry the same bytes" cmp -s "$T/x1.data" "$T/x2.data"
echo stop_copy > "$X/state"
cat "$X/data" > "$T/x.data"
echo stop > "$X/state"
check "the payload is what cat data gives" cmp -s "$T/x1.data" "$T/x.data"
eq "payload bytes" "$(stat -c %s "$T/x1.data")" "$(cat "$X/data_size")"
eq "end chunk totals" "$(field "$T/x1" end)" "0 $(cat "$X/data_size") 5"

# ---- damaged streams ----

C2=$(chunk_at "$T/x1" 2)
END=$(chunk_at "$T/x1" 6)
SIZE=$(stat -c %s "$T/x1")
ctl load "$D" "$T/x1"	# D holds X's state, in stop

# refused WHAT FILE TEXT: load --run D FILE fails with TEXT; D is as it
# was when TEXT says so, otherwise reset.
refused() {
	remember "$D"
	ctl load --run "$D" "$2"
	case $3 in
	*"(nothing was changed)")
		failed "$1" 1 "vfio-migctl: load $D: $3"
		as_before "$1" "$D"
		;;
	*)
		failed "$1" 1 "vfio-migctl: load $D: $3; $D was reset"
		is "$1" "$D" running "$D0"
		ctl load "$D" "$T/x1"
		;;
	esac
}

# damaged WHAT OFFSET TEXT: X's stream with the byte at OFFSET inverted.
damaged() {
	cp "$T/x1" "$T/bad"
	flip "$T/bad" "$2"
	refused "$1" "$T/bad" "$3"
}
damaged "corrupt chunk" $((C2 + 36 + 1000)) "corrupt chunk at byte $C2 (CRC mismatch)"
damaged "corrupt chunk header" $((C2 + 4)) "corrupt chunk header at byte $C2"
damaged "corrupt stream header" 30 "corrupt stream header (nothing was changed)"

# cut_at WHAT BYTES TEXT: X's stream cut after BYTES.
cut_at() {
	head -c "$2" "$T/x1" > "$T/bad"
	refused "$1" "$T/bad" "$3"
}
# Chunks moved whole: every CRC and total holds, the numbers do not.
C3=$(chunk_at "$T/x1" 3)
eq "chunks 2 and 3 are one size" "$(layout "$T/x1" | awk '$1 == "chunk" && ++i == 2 { print $4 }')" \
	"$(layout "$T/x1" | awk '$1 == "chunk" && ++i == 3 { print $4 }')"
rechunk "$T/x1" "$T/bad" 1 2 3 4 5
check "rechunk in order is the stream" cmp -s "$T/x1" "$T/bad"
rechunk "$T/x1" "$T/bad" 1 3 2 4 5
refused "chunks 2 and 3 swapped" "$T/bad" "chunk out of order at byte $C2: chunk 3 where 2 belongs"
rechunk "$T/x1" "$T/bad" 1 2 2 4 5
refused "chunk 2 twice, 3 dropped" "$T/bad" "chunk out of order at byte $C3: chunk 2 where 3 belongs"

as_version 1 "$T/x1" "$T/bad"
refused "a version 1 stream" "$T/bad" "stream format version 1 is no longer read (its chunks have no order); save it again with this vfio-migctl (nothing was changed)"
as_version 2 "$T/x1" "$T/bad"
refused "a version 2 stream" "$T/bad" "stream format version 2 is no longer read (its chunks are not bound to their stream); save it again with this vfio-migctl (nothing was changed)"

# A chunk of another save of the same source at the same place: the two
# saves of the stopped X carry the same payloads, numbers and totals;
# only their ids differ.  None of its bytes reaches the device: it got
# the first chunk's payload, and no more.
check "two saves, two ids" [ "$(field "$T/x1" id)" != "$(field "$T/x2" id)" ]
python3 "$(dirname "$0")/../streamfmt.py" splice "$T/x1" "$T/x2" 2 "$T/bad"
refused "a chunk of another save" "$T/bad" "chunk of another stream at byte $C2 (stream $(field "$T/x2" id), not this one's $(field "$T/x1" id))"
echo 1 > "$D/reset"
ctl load "$D" "$T/bad"
eq "a chunk of another save: bytes that reached the device" \
	"$(sed -n 's/^bytes_resumed: //p' "$D/status")" \
	"$(layout "$T/x1" | awk '$1 == "chunk" && !n++ { print $4 }')"
ctl load "$D" "$T/x1"

cut_at "cut in the header" 10 "truncated stream: it ends at byte 10 (nothing was changed)"
cut_at "cut in a chunk" $((C2 + 1000)) "truncated stream: it ends at byte $((C2 + 1000))"
cut_at "cut before the end chunk" "$END" "truncated stream: it ends at byte $END"
cut_at "cut in the end chunk" $((SIZE - 1)) "truncated stream: it ends at byte $((SIZE - 1))"
refused "a raw data dump" "$T/x.data" "not a vfio-migfs stream (nothing was changed)"
{ cat "$T/x1"; echo more; } > "$T/bad"
refused "bytes after the end" "$T/bad" "data after the end of the stream at byte $SIZE"
remember "$D"
ctl load "$D" "$T/none"
failed "load from no file" 1 "vfio-migctl: $T/none: No such file or directory"
as_before "load from no file" "$D"

# ---- devices in the wrong state ----

echo stop_copy > "$D/state"
refused "destination in stop_copy" "$T/x1" \
	"$D is in stop_copy; loading needs running or stop (nothing was changed)"
remember "$X" "$D"
ctl migrate "$X" "$D"
failed "migrate to stop_copy" 1 "$D is in stop_copy; loading needs running or stop (nothing was changed)"
as_before "migrate to stop_copy" "$X" "$D"
echo stop > "$D/state"

echo pre_copy > "$X/state"
remember "$X" "$D"
ctl save "$X" "$T/bad.s"
failed "save from pre_copy" 1 "$X is in pre_copy; saving needs running or stop (nothing was changed)"
check "save from pre_copy: no file" [ ! -e "$T/bad.s" ]
mkfifo "$T/fifo"
cat "$T/fifo" >/dev/null &
ctl save "$X" "$T/fifo"
wait $!
failed "save from pre_copy to a FIFO" 1 "saving needs running or stop"
check "a failed save leaves a FIFO alone" [ -p "$T/fifo" ]
ctl migrate "$X" "$D"
failed "migrate from pre_copy" 1 "$X is in pre_copy; saving needs running or stop (nothing was changed)"
as_before "migrate from pre_copy" "$X" "$D"
echo stop > "$X/state"
ctl save "$T" "$T/bad.s"
failed "save from no device" 1 "vfio-migctl: $T: not a vfio-migfs mount"
check "save from no device: no file" [ ! -e "$T/bad.s" ]
# Nothing is written where nothing is mounted: a write would make a plain
# file (state), which the next daemon's mount would hide.
mkdir "$T/plain"
ctl save "$X" "$T/x.s"
remember "$X"
for args in "migrate $X $T/plain" "migrate $X=$D $S=$T/plain" "load $T/plain $T/x.s" \
	    "load --input $T/x.s $T/plain" "save --output $T/bad.s $X $T/plain"; do
	# shellcheck disable=SC2086
	ctl $args
	failed "$args" 1 "vfio-migctl: $T/plain: not a vfio-migfs mount"
	eq "$args: nothing made there" "$(ls -A "$T/plain")" ""
done
as_before "a destination that is no mount" "$X"
check "no stream left by a set save" [ ! -e "$T/bad.s" ]

# ---- devices that fail or refuse ----

echo running > "$S/state"
echo "stop_copy EIO" > "$S/sim/fail"
ctl save "$S" "$T/bad.s"
# The failed arc leaves the simulated device in error: only a reset, which
# loses its state, brings it back, and the message and the status say so.
failed "source fails mid-save" 6 \
	"$S: stop_copy: Input/output error; $S was reset to run again (its state is lost)"
check "source fails mid-save: the partial file is removed" [ ! -e "$T/bad.s" ]
is "source fails mid-save" "$S" running
echo "stop_copy EIO" > "$S/sim/fail"
ctl migrate "$S" "$D"
failed "source fails mid-migrate" 6 \
	"$S: stop_copy: Input/output error; $S was reset to run again (its state is lost); $D was reset"
is "source fails mid-migrate" "$S" running
# --abort: a complete stream, but a source that only a reset brought back
# has lost its state: a failure after the commit point, the stream kept.
echo "running EIO" > "$S/sim/fail"
ctl save --abort "$S" "$T/abort.s"
failed "--abort, the way back fails" 5 "$S could not go back to running but by a reset (its state is lost); after the commit point: the stream to $T/abort.s is whole, nothing was rolled back; $S is left in running"
is "--abort, the way back fails" "$S" running
check "--abort, the way back fails: the stream is kept" [ -s "$T/abort.s" ]
is "source fails mid-migrate" "$D" running "$D0"

# O has half the blocks: the stream's header says so, and O is never
# touched; a stream that does not name its source is refused by O's first
# write, and the error says whose state O refused.
transitions() { sed -n 's/^transitions: //p' "$1/status"; }
t0=$(transitions "$O")
ctl load "$O" "$T/x1"
failed "load into another size" 1 "vfio-migctl: load $O: $O holds 2097152 bytes of state (sim:o,size=2M), the source 4194304 (sim:x,size=4M): it cannot load its state (nothing was changed)"
eq "load into another size: O untouched" "$(transitions "$O")" "$t0"
python3 "$(dirname "$0")/../streamfmt.py" rename "$T/x1" "$T/bad" vfio:0000:3b:00.1
ctl load "$O" "$T/bad"
failed "load into another kind" 1 "vfio-migctl: load $O: $O is a sim device (sim:o,size=2M), the source a vfio device (vfio:0000:3b:00.1): it cannot load its state (nothing was changed)"
ctl migrate "$X" "$O"
failed "migrate into another size" 1 "vfio-migctl: migrate $X $O: $O holds 2097152 bytes of state (sim:o,size=2M), the source 4194304 (sim:x,size=4M): it cannot load its state (nothing was changed)"
is "migrate into another size" "$X" stop
eq "migrate into another size: O untouched" "$(transitions "$O")" "$t0"
python3 "$(dirname "$0")/../streamfmt.py" rename "$T/x1" "$T/bad" ""
ctl load "$O" "$T/bad"
failed "an unnamed source into another size" 1 "writing $O/data: Invalid argument (the device refused the state of an unnamed source; it is sim:o,size=2M); $O was reset"
is "an unnamed source into another size" "$O" running
# One write, answered before the device refused it: close(2) says so.
ctl save "$W" "$T/w1"
passed "save W"
python3 "$(dirname "$0")/../streamfmt.py" rename "$T/w1" "$T/bad" ""
ctl load "$O" "$T/bad"
failed "refused at close" 1 "writing $O/data: Invalid argument; $O was reset"
is "refused at close" "$O" running

# D accepts every byte, then fails at resuming -> stop.
echo stop > "$D/state"
echo "stop EIO" > "$D/sim/fail"
refused "destination fails at stop" "$T/x1" \
	"$D refused the stream (resuming -> stop failed, device is in error: Input/output error (EIO))"
echo stop > "$D/state"
echo "stop EIO" > "$D/sim/fail"
ctl migrate "$X" "$D"
failed "migrate: destination fails at stop" 1 "$D refused the stream (resuming -> stop failed"
case $ERR in
*"; $X is running again; $D was reset") ok ;;
*) fail "migrate: destination fails at stop: '$ERR' does not end in both recoveries" ;;
esac
is "migrate: destination fails at stop" "$X" running
is "migrate: destination fails at stop" "$D" running "$D0"

# ---- signals, and readers and writers that go away or stall ----

# F never converges: with --threshold 0 this save goes on for 100000
# rounds, unless something ends it.
ENDLESS=(--threshold 0 --max-rounds 100000)
echo running > "$F/state"
bg "$MIGCTL" save "${ENDLESS[@]}" "$F" "$T/f.s"
wait_for "the save of $F to begin" bigger "$T/f.s" 1048576
kill -INT "$PID"
collect
failed "SIGINT mid-save" 130 "save $F: interrupted by SIGINT; $F is running again"
is "SIGINT mid-save" "$F" running
check "SIGINT mid-save: the partial file is removed" [ ! -e "$T/f.s" ]

"$MIGCTL" save "$S" - 2>"$T/err" | head -c 100 >/dev/null
RC=${PIPESTATUS[0]}
ERR=$(cat "$T/err")
failed "reader goes away" 141 "writing the stream: Broken pipe (SIGPIPE); $S is running again"
is "reader goes away" "$S" running

bg "$MIGCTL" save "$S" "$T/fifo"
exec 8<"$T/fifo"	# a reader that never reads
wait_for "$S in pre_copy" has "$S/state" pre_copy
kill -INT "$PID"
collect
exec 8<&-
failed "SIGINT while the reader stalls" 130 "interrupted by SIGINT; $S is running again"
is "SIGINT while the reader stalls" "$S" running

ctl load "$D" "$T/x1"
bg "$MIGCTL" load "$D" "$T/fifo"
exec 8>"$T/fifo"	# a writer that stops after the header
head -c "$(chunk_at "$T/x1" 1)" "$T/x1" >&8
wait_for "$D in resuming" has "$D/state" resuming
kill -TERM "$PID"
collect
exec 8>&-
failed "SIGTERM while the writer stalls" 143 "load $D: interrupted by SIGTERM; $D was reset"
is "SIGTERM while the writer stalls" "$D" running "$D0"

# The same status from load and migrate for SIGINT as from save.
bg "$MIGCTL" load "$D" "$T/fifo"
exec 8>"$T/fifo"
head -c "$(chunk_at "$T/x1" 1)" "$T/x1" >&8
wait_for "$D in resuming" has "$D/state" resuming
kill -INT "$PID"
collect
exec 8>&-
failed "SIGINT mid-load" 130 "load $D: interrupted by SIGINT; $D was reset"
echo running > "$F/state"
bg "$MIGCTL" migrate "${ENDLESS[@]}" "$F" "$D"
wait_for "the migration of $F to begin" has "$F/state" pre_copy
kill -INT "$PID"
collect
failed "SIGINT mid-migrate" 130 "interrupted by SIGINT; $F is running again; $D was reset"
is "SIGINT mid-migrate" "$F" running
is "SIGINT mid-migrate" "$D" running "$D0"

# Every signal that ends a process and can be caught rolls back as SIGINT
# does, in each phase it can come in: 128 + its number and one line.
for sig in INT TERM HUP PIPE QUIT USR1; do
	n=$((128 + $(kill -l "$sig")))
	echo running > "$F/state"
	bg "$MIGCTL" migrate "${ENDLESS[@]}" "$F" "$D"
	wait_for "the migration of $F to begin" has "$F/state" pre_copy
	kill -"$sig" "$PID"
	collect
	failed "SIG$sig mid-migrate" "$n" "migrate $F $D: interrupted by SIG$sig; $F is running again; $D was reset"
	is "SIG$sig mid-migrate" "$F" running
	is "SIG$sig mid-migrate" "$D" running "$D0"
	bg "$MIGCTL" save "${ENDLESS[@]}" "$F" "$T/f.s"
	wait_for "the save of $F to begin" bigger "$T/f.s" 1048576
	kill -"$sig" "$PID"
	collect
	failed "SIG$sig mid-save" "$n" "save $F: interrupted by SIG$sig; $F is running again"
	check "SIG$sig mid-save: the partial file is removed" [ ! -e "$T/f.s" ]
	bg "$MIGCTL" load "$D" "$T/fifo"
	exec 8>"$T/fifo"
	head -c "$(chunk_at "$T/x1" 1)" "$T/x1" >&8
	wait_for "$D in resuming" has "$D/state" resuming
	kill -"$sig" "$PID"
	collect
	exec 8>&-
	failed "SIG$sig mid-load" "$n" "load $D: interrupted by SIG$sig; $D was reset"
	is "SIG$sig mid-load" "$D" running "$D0"
done

# ---- the commit point ----
# Before it (the destination running, a stream whole) a failure rolls
# back; after it nothing is undone, and the line says what was left where.
# X's stop fails once it is drained: D runs X's state, which is kept.
echo stop > "$X/state"
ctl load --run "$X" "$T/x1"
XD=$(digest "$X")
echo "stop EIO" > "$X/sim/fail"
ctl migrate "$X" "$D"
failed "migrate: the source's stop fails" 5 "migrate $X $D: $X: stop: Input/output error; after the commit point: $D runs the migrated state, nothing was rolled back; $X is left in error; $D is left in running"
is "migrate: the source's stop fails" "$D" running "$XD"
echo 1 > "$X/reset"
ctl load --run "$X" "$T/x1"
echo "stop EIO" > "$X/sim/fail"
ctl save "$X" "$T/x.s"
failed "save: the source's stop fails" 5 "save $X: $X: stop: Input/output error; after the commit point: the stream to $T/x.s is whole, nothing was rolled back; $X is left in error"
ctl load --run "$D" "$T/x.s"
passed "save: the source's stop fails: the stream loads"
is "save: the source's stop fails: the stream holds the state" "$D" running "$XD"
echo 1 > "$X/reset"
echo 1 > "$D/reset"

# --downtime-limit is kept: F never gets within 1 ms, and at --max-rounds
# the migration fails (rolled back) unless --force-switchover.
ctl migrate --threshold 0 --max-rounds 2 --downtime-limit 1 "$F" "$D"
failed "over the downtime limit" 1 "2 precopy rounds left"
check "over the downtime limit: says so" grep -q "over --downtime-limit 1 ms (--force-switchover switches over anyway); $F is running again; $D was reset" "$T/err"
is "over the downtime limit" "$F" running
is "over the downtime limit" "$D" running "$D0"
ctl migrate --threshold 0 --max-rounds 2 --downtime-limit 1 --force-switchover "$F" "$D"
passed "--force-switchover"
check "--force-switchover: said" grep -q "in 2 rounds, at the round limit, over the downtime limit (forced)," "$T/out"
echo running > "$F/state"
echo 1 > "$D/reset"

# One migration per device at a time: a second command on a device that
# one holds is refused before it changes anything.
bg "$MIGCTL" migrate "${ENDLESS[@]}" "$F" "$D"
MPID=$PID
wait_for "the migration of $F to begin" has "$F/state" pre_copy
remember "$X"
for other in "migrate $F $X" "migrate $X $D" "save $F $T/two.s" "load $D $T/x1"; do
	# shellcheck disable=SC2086
	run timeout 30 "$MIGCTL" $other
	failed "while $F migrates: $other" 1 "is in use by another vfio-migctl command (one migration per device at a time; nothing was changed)"
done
check "the refused save left no file" [ ! -e "$T/two.s" ]
if flock -n "$F/state" true; then fail "the migration does not hold $F's state locked (ABI 9.1)"; else ok; fi
as_before "refused while another migrates" "$X"
eq "the first migration goes on" "$(cat "$F/state")" pre_copy
kill -INT "$MPID"
PID=$MPID
collect
failed "the first migration, interrupted" 130 "interrupted by SIGINT; $F is running again; $D was reset"

# A manual cancel (another writer of state, or of reset) is said as such,
# naming the device, not as "Stale file handle".
bg "$MIGCTL" migrate "${ENDLESS[@]}" "$F" "$D"
wait_for "the migration of $F to begin" has "$F/state" pre_copy
echo running > "$F/state"
collect
failed "the source cancelled by hand" 1 "migrate $F $D: $F: its migration was cancelled under vfio-migctl (its state or reset written by another; it is now in running); $F is running again; $D was reset"
bg "$MIGCTL" migrate "${ENDLESS[@]}" "$F" "$D"
wait_for "the migration of $F to begin" has "$F/state" pre_copy
echo 1 > "$D/reset"
collect
failed "the destination reset by hand" 1 "migrate $F $D: $D: its migration was cancelled under vfio-migctl (its state or reset written by another; it is now in running); $F is running again; $D was reset"
# A reset between resuming and the first byte: that write finds the device
# out of resuming (EPERM: a handle binds at its first transfer), the same
# news as ESTALE later.  The stream stops inside its first chunk's payload
# until the reset is in.
C1=$(chunk_at "$T/x1" 1)
mkfifo "$T/feed"
bg "$MIGCTL" load "$D" "$T/feed"
exec 7>"$T/feed"
head -c $((C1 + 37)) "$T/x1" >&7
wait_for "the load to begin" has "$D/state" resuming
echo 1 > "$D/reset"
tail -c +$((C1 + 38)) "$T/x1" >&7 2>/dev/null || true
exec 7>&-
collect
failed "reset before the first byte" 1 "load $D: $D: its migration was cancelled under vfio-migctl (its state or reset written by another; it is now in running); $D was reset"
rm "$T/feed"

# Each transition is one newline-terminated write through the state each
# device holds open: no open, flush and release per transition.
if command -v strace >/dev/null; then
	echo running > "$X/state"
	echo 1 > "$D/reset"
	run strace -f -qq -e trace=openat,pwrite64 -o "$T/trace" "$MIGCTL" migrate "$X" "$D"
	passed "migrate under strace"
	eq "each state opened once, to be held" "$(grep -c '"state", O_RDWR' "$T/trace")" 2
	eq "no state opened for a transition" "$(grep -c 'state", O_WRONLY' "$T/trace")" 0
	eq "the transitions, one write each" "$(grep -o 'pwrite64([0-9]*, "[a-z_]*\\n", [0-9]*, 0) *= [0-9]*' "$T/trace" | cut -d'"' -f2 | tr '\n' ' ')" \
		'resuming\n pre_copy\n stop_copy\n stop\n running\n stop\n '
else
	echo "SKIP: no strace(1): the writes of a transition are not counted" >&2
fi

if command -v script >/dev/null; then
	remember "$X"
	run script -qec "$MIGCTL save $X" /dev/null </dev/null
	eq "save to a terminal: exit status" "$RC" 2
	case $OUT in
	*"will not write a stream to a terminal"*) ok ;;
	*) fail "save to a terminal: '$OUT'" ;;
	esac
	as_before "save to a terminal" "$X"
	# script(1) gives the command a terminal on stdin too.
	remember "$D"
	run script -qec "$MIGCTL load $D" /dev/null </dev/null
	eq "load from a terminal: exit status" "$RC" 2
	case $OUT in
	*"will not read a stream from a terminal"*) ok ;;
	*) fail "load from a terminal: '$OUT'" ;;
	esac
	as_before "load from a terminal" "$D"
	# stderr a terminal: a progress line, with a bar when the size is known.
	run script -qec "$MIGCTL load $D $T/x1" /dev/null </dev/null
	eq "load with progress: exit status" "$RC" 0
	check "load from a file: a bar and a percentage ($OUT)" \
		grep -qE "resuming [0-9.]+ MiB [0-9.]+ MiB/s \[#* *\] +[0-9]+%" <<<"$OUT"
	run script -qec "cat $T/x1 | $MIGCTL load $D -" /dev/null </dev/null
	eq "load from a pipe with progress: exit status" "$RC" 0
	check "load from a pipe: progress ($OUT)" grep -qE "resuming [0-9.]+ MiB" <<<"$OUT"
	eq "load from a pipe: no bar, its size unknown" "$(grep -c "%" <<<"$OUT")" 0
else
	echo "SKIP: no script(1), so no terminal: save to and load from a terminal are not tested" >&2
fi

# ---- the command line ----

# usage TEXT ARGS...: vfio-migctl ARGS exits 2 with one line saying TEXT.
usage() {
	local text=$1
	shift
	ctl "$@"
	failed "vfio-migctl $*" 2 "$text"
}
remember "$X" "$D"
usage "save takes DIR [FILE|-]" save
usage "save takes DIR [FILE|-]" save "$X" "$T/u" extra
usage "load takes DIR [FILE|-]" load
usage "load takes DIR [FILE|-]" load "$D" "$T/x1" extra
usage "migrate takes SRC DST" migrate "$X"
usage "migrate takes SRC DST" migrate "$X" "$D" extra
# One mount under two names: loading would reset the device it saves.
mkdir "$T/again"
mount --bind "$X" "$T/again"
for same in "$X $X" "$X/ $X/." "$X $T/again"; do
	# shellcheck disable=SC2086
	usage "are on one mount: a device cannot migrate into itself" migrate $same
done
umount "$T/again"
usage "--max-rounds takes 1 to 100000, not '0'" save --max-rounds 0 "$X" "$T/u"
usage "--max-rounds takes 1 to 100000, not '100001'" migrate --max-rounds 100001 "$X" "$D"
usage "--max-rounds takes 1 to 100000, not 'many'" save --max-rounds many "$X" "$T/u"
usage "--threshold takes a byte count, not '-1'" save --threshold -1 "$X" "$T/u"
usage "--threshold takes a byte count, not '1Q'" migrate --threshold 1Q "$X" "$D"
usage "--downtime-limit takes milliseconds, not '0'" save --downtime-limit 0 "$X" "$T/u"
usage "--downtime-limit takes milliseconds, not '5ms'" migrate --downtime-limit 5ms "$X" "$D"
usage "option '--max-rounds' needs a value" save "$X" "$T/u" --max-rounds
usage "unknown option '--bogus'" save --bogus "$X" "$T/u"
usage "unknown option '--run'" save --run "$X" "$T/u"
usage "unknown option '--abort'" migrate --abort "$X" "$D"
usage "unknown option '--max-rounds'" load --max-rounds 1 "$D" "$T/x1"
usage "unknown option '-x'" load -x "$D" "$T/x1"
as_before "usage errors" "$X" "$D"
check "usage errors: no file" [ ! -e "$T/u" ]

stop_daemon

# A source that goes away mid-save (its daemon killed): the daemon is
# named gone, exit 4 (tests/tools/t-kill.sh has every stage of a stream).
K=$(mnt k)
start sim:k,size=4M,dirty_rate=100000 "$K"
bg "$MIGCTL" save "${ENDLESS[@]}" "$K" "$T/k.s"
wait_for "the save of $K to begin" bigger "$T/k.s" 1048576
{ kill -9 "$DPID"; wait "$DPID"; } 2>/dev/null
collect
failed "source gone" 4 "save: the vfio-migfsd serving $K is gone"
check "source gone: the partial file is removed" [ ! -e "$T/k.s" ]
umount -l "$K"

finish
