#!/bin/bash
# Two devices that DMA into each other, migrated together with echo and
# cat (docs/ABI.md sections 3 and 10; vfio-migctl(1) "migrate src1=dst1
# ..."): if one stopped while the other still ran, the running one could
# write into it after its state was copied, and that write would be lost.
# So both sources reach running_p2p (no P2P DMA issued) before either
# stops, and both destinations reach running_p2p before either runs.
#
#   migrate-set.sh SRC1 DST1 SRC2 DST2     e.g. /mnt/a /mnt/x /mnt/b /mnt/y
. "${0%/*}/common.sh"
[ $# = 4 ] || usage "SRC1 DST1 SRC2 DST2"
SRC=("$1" "$3")
DST=("$2" "$4")
for dir in "${SRC[@]}" "${DST[@]}"; do
	idle "$dir" running stop
done

# The destinations first: one that cannot resume costs the sources nothing.
for dst in "${DST[@]}"; do
	DESTS+=("$dst")
	enter "$dst" resuming
done

# The barrier: every source in running_p2p before any stops.
for src in "${SRC[@]}"; do
	SOURCES+=("$src")
	[ "$(state "$src")" = running ] && enter "$src" running_p2p
done

# Stop and copy each; `cat` ends at the end of a device's state.
for i in 0 1; do
	enter "${SRC[i]}" stop_copy
	copy "${SRC[i]}/data" "${DST[i]}/data" ||
		fail "copying ${SRC[i]}/data to ${DST[i]}/data: $WHY"
done

# Each destination checks what it got as it leaves resuming; all reach
# running_p2p before any runs.
for dst in "${DST[@]}"; do
	put "$dst/state" stop || fail "$dst refused the state: $WHY"
	enter "$dst" running_p2p
done
for dst in "${DST[@]}"; do
	enter "$dst" running
done
for src in "${SRC[@]}"; do
	enter "$src" stop
done
echo "migrated ${SRC[0]} -> ${DST[0]} and ${SRC[1]} -> ${DST[1]} together"
