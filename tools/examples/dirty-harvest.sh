#!/bin/bash
# Dirty page tracking (ABI 7): log the pages a device DMA-writes in one
# range of IOVA space, and print how many were written in each of ROUNDS
# rounds (default 5) of INTERVAL seconds (default 1).  Each read of a
# bitmap file clears the pages it returns, so a round counts the pages
# written since the round before.
#
#   [INTERVAL=SECONDS] dirty-harvest.sh DIR RANGE_START RANGE_LEN [ROUNDS]
#
# RANGE_START and RANGE_LEN are multiples of the page size (4096), with
# K, M or G if you like.
. "${0%/*}/common.sh"
[ $# = 3 ] || [ $# = 4 ] || usage "DIR RANGE_START RANGE_LEN [ROUNDS]"
DIR=$1
ROUNDS=${4:-5}
[ "$ROUNDS" -ge 1 ] 2>/dev/null || usage "DIR RANGE_START RANGE_LEN [ROUNDS >= 1]"
state "$DIR" >/dev/null
[ -d "$DIR/dirty" ] || die "$DIR has no dirty page tracking (feature dirty)"

# bits FILE: how many bits are set in FILE (od: one byte a number), or
# od's error.
bits() {
	bytes=$(od -An -v -tu1 "$1" 2>&1) || { echo "$bytes"; return 1; }
	n=0
	for b in $bytes; do
		while [ "$b" -gt 0 ]; do
			n=$((n + (b & 1)))
			b=$((b >> 1))
		done
	done
	echo "$n"
}

# stop_tracking MESSAGE: tracking off, one line, exit 1.
stop_tracking() {
	put "$DIR/dirty/tracking" 0
	die "$*"
}

put "$DIR/dirty/ranges" "$2 $3" || die "$DIR/dirty/ranges: $WHY"
put "$DIR/dirty/tracking" 1 || die "$DIR/dirty/tracking: $WHY"
trap 'stop_tracking interrupted' INT TERM
round=0
while [ "$round" -lt "$ROUNDS" ]; do
	round=$((round + 1))
	sleep "${INTERVAL:-1}"
	# One bitmap file per range, named START-END (here just the one).
	pages=0
	for bitmap in "$DIR"/dirty/*-*; do
		n=$(bits "$bitmap") || stop_tracking "reading $bitmap: ${n##*: }"
		pages=$((pages + n))
	done
	echo "round $round: $pages dirty pages"
done
put "$DIR/dirty/tracking" 0 || die "$DIR/dirty/tracking: $WHY"
