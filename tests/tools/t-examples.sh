#!/bin/bash
# The shell scripts of tools/examples/ against simulated devices, with a
# PATH that holds nothing but what they may use: migrations that end with
# equal digests, failed ones that put the devices back, and the pages
# written through sim/dma counted by the harvest.
. "$(dirname "$0")/lib.sh"
EX=$(cd "$(dirname "$0")/../../tools/examples" && pwd)

# cat, sleep, od and dd (echo and test are built into the shell).
mkdir "$T/bin"
for tool in cat sleep od dd; do
	ln -s "$(command -v "$tool")" "$T/bin/$tool"
done

# example [VAR=VALUE...] NAME ARGS...: run tools/examples/NAME.sh.
example() {
	local vars=()
	while [[ $1 == *=* ]]; do
		vars+=("$1")
		shift
	done
	local name=$1
	shift
	run env PATH="$T/bin" "${vars[@]}" "$EX/$name.sh" "$@"
}

A=$(mnt a)	# changes as it runs
Q=$(mnt q)	# changes all of itself faster than it is read
B=$(mnt b)	# the destination
C=$(mnt c)	# half the size
P=$(mnt p)	# features=p2p: neither pre_copy nor a dirty log
H=$(mnt h)	# DMA-writes only through sim/dma
U=$(mnt u)	# U and V DMA-write into each other, and change by nothing else
V=$(mnt v)
X=$(mnt x)	# their destinations
Y=$(mnt y)
UV=size=256K,dirty_rate=0,peer_rate=20000
start sim:ea,size=1M,dirty_rate=100 "$A" sim:eq,size=1M,dirty_rate=100000 "$Q" \
	sim:eb,size=1M "$B" sim:ec,size=512K "$C" sim:ep,size=1M,features=p2p "$P" \
	sim:eh,size=64K "$H" sim:eu,$UV,peer=ev "$U" sim:ev,$UV,peer=eu "$V" \
	sim:ex,size=256K,dirty_rate=0 "$X" sim:ey,size=256K,dirty_rate=0 "$Y"
B0=$(digest "$B")	# what a reset brings B back to

# ---- migrations ----

example migrate-stopcopy "$A" "$B"
passed "stop-copy"
eq "stop-copy: says" "$OUT" "migrated $A -> $B"
is "stop-copy" "$A" stop
is "stop-copy" "$B" running "$(digest "$A")"

echo running > "$A/state"
example migrate-precopy "$A" "$B"
passed "pre-copy"
check "pre-copy: round 1 sends the initial data ($OUT)" \
	grep -q "^round 1: initial_bytes 0 dirty_bytes [0-9]*$" "$T/out"
case $OUT in
*"migrated $A -> $B after "*" precopy rounds") ok ;;
*) fail "pre-copy: '$OUT'" ;;
esac
is "pre-copy" "$A" stop
is "pre-copy" "$B" running "$(digest "$A")"

echo running > "$Q/state"
example THRESHOLD=0 migrate-precopy "$Q" "$B" 2
passed "pre-copy MAX_ROUNDS 2"
eq "pre-copy MAX_ROUNDS 2: rounds" "$(grep -c '^round ' "$T/out")" 2
is "pre-copy MAX_ROUNDS 2" "$B" running "$(digest "$Q")"

example migrate-stopcopy "$P" "$B"
passed "stop-copy features=p2p"
is "stop-copy features=p2p" "$B" running "$(digest "$P")"

lost() { sed -n 's/^lost: //p' "$1/sim/peer"; }
sleep 0.05
lost0="$(lost "$U") $(lost "$V")"
example migrate-set "$U" "$X" "$V" "$Y"
passed "two together"
eq "two together: says" "$OUT" "migrated $U -> $X and $V -> $Y together"
eq "two together: no P2P write lost" "$(lost "$U") $(lost "$V")" "$lost0"
is "two together" "$U" stop
is "two together" "$X" running "$(digest "$U")"
is "two together" "$Y" running "$(digest "$V")"

# ---- failed migrations ----

echo running > "$U/state"
echo running > "$V/state"
echo stop > "$Y/state"
echo "stop EIO" > "$Y/sim/fail"
example migrate-set "$U" "$X" "$V" "$Y"
failed "two together: the second destination refuses" 1 \
	"$Y refused the state: Input/output error; $X was reset; $Y was reset; $U is in running; $V is in running"

echo running > "$A/state"
example migrate-stopcopy "$A" "$C"
failed "stop-copy into another size" 1 \
	"copying $A/data to $C/data: Invalid argument; $C was reset; $A is in running"
is "stop-copy into another size" "$A" running
is "stop-copy into another size" "$C" running

echo "stop_copy EIO" > "$A/sim/fail"
example migrate-precopy "$A" "$B"
failed "pre-copy: the source fails" 1 \
	"$A: stop_copy: Input/output error; $B was reset; $A is in running"
is "pre-copy: the source fails" "$A" running
is "pre-copy: the source fails" "$B" running "$B0"

echo stop > "$B/state"
echo "stop EIO" > "$B/sim/fail"
example migrate-stopcopy "$A" "$B"
failed "stop-copy: the destination refuses" 1 \
	"$B refused the state: Input/output error; $B was reset; $A is in running"
is "stop-copy: the destination refuses" "$A" running
is "stop-copy: the destination refuses" "$B" running "$B0"

# nothing_changed WHAT STATUS TEXT NAME ARGS...: the example fails before
# it changes anything.
nothing_changed() {
	local what=$1 status=$2 text=$3
	shift 3
	remember "$A" "$B" "$P" "$H"
	example "$@"
	failed "$what" "$status" "$text"
	as_before "$what" "$A" "$B" "$P" "$H"
}
echo stop > "$A/state"	# A changes no more, P and H never do
echo stop_copy > "$B/state"
nothing_changed "destination in stop_copy" 1 \
	"$B is in stop_copy; this needs running or stop (nothing was changed)" \
	migrate-stopcopy "$A" "$B"
echo stop > "$B/state"
echo pre_copy > "$H/state"
nothing_changed "source in pre_copy" 1 \
	"$H is in pre_copy; this needs running or stop (nothing was changed)" \
	migrate-stopcopy "$H" "$B"
echo running > "$H/state"
nothing_changed "pre-copy from stop" 1 "$A is in stop; this needs running (nothing was changed)" \
	migrate-precopy "$A" "$B"
echo running > "$P/state"
nothing_changed "pre-copy without pre_copy" 1 "$P has no pre_copy" migrate-precopy "$P" "$B"
nothing_changed "not a device" 1 "$T: not a vfio-migfs mount" \
	migrate-stopcopy "$T" "$B"
nothing_changed "stop-copy usage" 2 "usage: migrate-stopcopy.sh SRC DST" migrate-stopcopy "$A"
nothing_changed "pre-copy usage" 2 "usage: migrate-precopy.sh SRC DST [MAX_ROUNDS" \
	migrate-precopy "$A" "$B" 0
nothing_changed "harvest usage" 2 "usage: dirty-harvest.sh DIR" dirty-harvest "$A" 0

# ---- dirty page harvest ----

bg env INTERVAL=1 PATH="$T/bin" "$EX/dirty-harvest.sh" "$H" 0 1M 3
wait_for "tracking on $H" has "$H/dirty/tracking" 1
echo "0x3000 0x2000" > "$H/sim/dma"	# two pages, in round 1
wait_for "round 1" grep -q "^round 1:" "$T/out"
echo "0x10000 0x4000" > "$H/sim/dma"	# four, in round 2
echo "0x200000 0x1000" > "$H/sim/dma"	# outside the range
collect
passed "harvest"
eq "harvest: pages a round" "$OUT" "round 1: 2 dirty pages
round 2: 4 dirty pages
round 3: 0 dirty pages"
eq "harvest: tracking off at the end" "$(cat "$H/dirty/tracking")" 0

bg env PATH="$T/bin" "$EX/dirty-harvest.sh" "$H" 0 1M
wait_for "tracking on $H" has "$H/dirty/tracking" 1
kill -TERM "$PID"
collect
failed "harvest interrupted" 1 "dirty-harvest.sh: interrupted"
eq "harvest interrupted: tracking off" "$(cat "$H/dirty/tracking")" 0

example dirty-harvest "$P" 0 1M 1
failed "harvest without a dirty log" 1 "$P has no dirty page tracking (feature dirty)"
example dirty-harvest "$H" 0 100 1
failed "harvest of a range that is not whole pages" 1 "$H/dirty/ranges: Invalid argument"
echo 1 > "$H/dirty/tracking"
example dirty-harvest "$H" 0 1M 1
failed "harvest while someone else tracks" 1 "$H/dirty/ranges: Device or resource busy"
eq "harvest leaves another's tracking on" "$(cat "$H/dirty/tracking")" 1
echo 0 > "$H/dirty/tracking"

stop_daemon
finish
