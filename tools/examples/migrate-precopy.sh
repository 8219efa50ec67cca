#!/bin/bash
# Pre-copy migration of one device into another on this host: the
# state is copied while the source runs, then again what the source
# changed meanwhile, round after round, until what is left is small
# enough (or MAX_ROUNDS, default 30, is reached); only then does the
# source stop for the rest (stop_copy).  `precopy` (ABI 4.1) says what
# is left: initial_bytes, the first copy not yet read, and dirty_bytes,
# what changed after it was sent.
#
#   [THRESHOLD=BYTES] migrate-precopy.sh SRC DST [MAX_ROUNDS]
#
# THRESHOLD: dirty bytes few enough to stop at (default 1 MiB).
. "${0%/*}/common.sh"
[ $# = 2 ] || [ $# = 3 ] || usage "SRC DST [MAX_ROUNDS]"
SRC=$1
DST=$2
MAX_ROUNDS=${3:-30}
THRESHOLD=${THRESHOLD:-1048576}
MIB=1048576
[ "$MAX_ROUNDS" -ge 1 ] 2>/dev/null || usage "SRC DST [MAX_ROUNDS >= 1]"
[ "$THRESHOLD" -ge 0 ] 2>/dev/null || die "THRESHOLD must be a byte count, not '$THRESHOLD'"
# Only a running device has something to pre-copy.
idle "$SRC" running
idle "$DST" running stop
case " $(cat "$SRC/features") " in
*" pre_copy "*) ;;
*) die "$SRC has no pre_copy (use migrate-stopcopy.sh; nothing was changed)" ;;
esac

# pending: INITIAL and DIRTY from the source's `precopy`.
pending() {
	text=$(cat "$SRC/precopy" 2>&1) || fail "reading $SRC/precopy: ${text##*: }"
	set -- $text	# its words: initial_bytes N dirty_bytes M
	while [ $# -ge 2 ]; do
		case $1 in
		initial_bytes) INITIAL=$2 ;;
		dirty_bytes) DIRTY=$2 ;;
		esac
		shift 2
	done
}

DESTS=("$DST")
enter "$DST" resuming
SOURCES=("$SRC")
enter "$SRC" pre_copy	# the source runs on

# A round copies what was pending when it began (rounded up to a MiB): a
# device that changes faster than it is read always has more, and a
# `cat` would never end.
pending
round=0
while :; do
	round=$((round + 1))
	copy "$SRC/data" "$DST/data" $(((INITIAL + DIRTY + MIB - 1) / MIB)) ||
		fail "round $round: copying $SRC/data to $DST/data: $WHY"
	pending
	echo "round $round: initial_bytes $INITIAL dirty_bytes $DIRTY"
	[ "$INITIAL" = 0 ] && [ "$DIRTY" -le "$THRESHOLD" ] && break
	[ "$round" -lt "$MAX_ROUNDS" ] || break
done

# Stop the source: the rest of the same stream, up to its end.
enter "$SRC" stop_copy
copy "$SRC/data" "$DST/data" || fail "copying $SRC/data to $DST/data: $WHY"
enter "$SRC" stop
resume "$DST"
echo "migrated $SRC -> $DST after $round precopy rounds"
