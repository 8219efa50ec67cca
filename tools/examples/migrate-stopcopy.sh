#!/bin/bash
# Stop-and-copy migration of one device into another on this host, with
# echo and cat on the files of their mounts (docs/ABI.md section 10):
# the source stops, its whole state is copied at once, the destination
# loads it and runs.
#
#   migrate-stopcopy.sh SRC DST     e.g. /mnt/a /mnt/b
. "${0%/*}/common.sh"
[ $# = 2 ] || usage "SRC DST"
SRC=$1
DST=$2
idle "$SRC" running stop
idle "$DST" running stop

# The destination first: one that cannot resume costs the source nothing.
DESTS=("$DST")
enter "$DST" resuming

# Stop the source and copy its state; `cat` ends at the end of it.
SOURCES=("$SRC")
enter "$SRC" stop_copy
copy "$SRC/data" "$DST/data" || fail "copying $SRC/data to $DST/data: $WHY"
enter "$SRC" stop

# The destination checks what it got as it leaves resuming.
resume "$DST"
echo "migrated $SRC -> $DST"
