#!/bin/bash
# P2P writes between the sims of one daemon (sim/peer): a device stopped
# while its peer still runs loses the peer's writes, and its state moves
# away from what was saved; with the P2P barrier (every device in
# running_p2p before any stops) none is lost.
. "$(dirname "$0")/lib.sh"

A=$(mnt a)
B=$(mnt b)
C=$(mnt c)
D=$(mnt d)
E=$(mnt e)
X=$(mnt x)
W=size=256K,peer_rate=20000
start sim:a,$W,peer=b "$A" sim:b,$W,peer=a "$B" sim:c,$W,peer=d "$C" \
	sim:d,$W,peer=c "$D" sim:e,size=256K "$E" sim:x,peer=nowhere "$X"

# count DIR KEY: a count of DIR/sim/peer (sent, lost).
count() { sed -n "s/^$2: //p" "$1/sim/peer"; }

eq "sim/peer" "$(head -2 "$A/sim/peer" | tr '\n' ' ')" "peer: b rate: 20000 "
eq "no peer" "$(cat "$E/sim/peer")" "peer: none"
eq "sim/peer is read only" "$(werr "$A/sim/peer" x)" "Permission denied"
eq "a peer not open" "$(head -1 "$X/sim/peer")" "peer: nowhere (not open)"
check "its writes are lost" [ "$(count "$X" lost)" -gt 0 ]
check "log says so" grep -q "sim: peer nowhere is not open: P2P write lost" "$X/log"

# a and b write into each other (neither works on its own: dirty_rate=0).
d0=$(cat "$A/sim/digest")
sleep 0.1
check "b's writes move a's state" [ "$(cat "$A/sim/digest")" != "$d0" ]
check "a sends" [ "$(count "$A" sent)" -gt 0 ]
eq "none lost while both run" "$(count "$A" lost) $(count "$B" lost)" "0 0"

# a stops and is saved alone while b runs: b's writes into a are lost.
echo stop_copy > "$A/state"
cat "$A/data" > "$T/a.img"
saved=$(cat "$A/sim/digest")
sleep 0.1
check "b's writes into a are lost" [ "$(count "$B" lost)" -gt 0 ]
eq "a, stopped, sends none and loses none" "$(count "$A" lost)" 0
check "b's log says so" grep -q "sim: peer a does not accept P2P writes: write lost" "$B/log"
echo stop > "$A/state"
check "a's state moved away from what was saved" [ "$(cat "$A/sim/digest")" != "$saved" ]

# c and d: the barrier first, then stop_copy one after the other.
echo running_p2p > "$C/state"
echo running_p2p > "$D/state"
sent=$(count "$C" sent)/$(count "$D" sent)
dc=$(cat "$C/sim/digest")
echo stop_copy > "$C/state"
sleep 0.1
echo stop_copy > "$D/state"
eq "no write sent after running_p2p" "$(count "$C" sent)/$(count "$D" sent)" "$sent"
eq "no write lost" "$(count "$C" lost) $(count "$D" lost)" "0 0"
cat "$C/data" > "$T/c.img"
echo stop > "$C/state"
eq "c's state is the one of the moment of stopping" "$(cat "$C/sim/digest")" "$dc"
echo resuming > "$E/state"
cat "$T/c.img" > "$E/data"
echo stop > "$E/state"
eq "the destination has it" "$(cat "$E/sim/digest")" "$dc"

finish
