#!/bin/bash
# dirty/: ranges, page size, test-and-clear bitmaps, the frozen log, the
# bound on bitmap memory, and `state` answering while a huge log stops.
. "$(dirname "$0")/lib.sh"

A=$(mnt a)
R=$(mnt r)
N=$(mnt n)
H=$(mnt h)
start sim:a,dirty_rate=0,guest_mem=16M "$A" sim:r,dirty_rate=2000,guest_mem=1M "$R" \
	sim:n,features=p2p "$N" sim:h,dirty_rate=0,guest_mem=8T "$H"
D=$A/dirty

# words FILE: the bitmap as 64-bit hex words, one line.
words() { od -A n -t x8 -v "$1" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }

check "no dirty/ without the feature" [ ! -e "$N/dirty" ]
eq "default page size" "$(cat "$D/page_size")" 4096
eq "no ranges" "$(cat "$D/ranges")" ""
eq "tracking off" "$(cat "$D/tracking")" 0
eq "start without ranges" "$(werr "$D/tracking" 1)" "Invalid argument"

# Ranges: hex or decimal, page aligned, no overlap; written line by line.
printf '0x100000 256K\n0 0x10000\n' > "$D/ranges"
eq "ranges sorted" "$(cat "$D/ranges" | tr '\n' ' ')" "0x0 0x10000 0x100000 0x40000 "
eq "range files" "$(ls "$D" | tr '\n' ' ')" "00000000-00010000 00100000-00140000 page_size ranges tracking "
eq "bitmap size: 16 pages in one word" "$(stat -c %s "$D/00000000-00010000")" 8
eq "bitmap size: 64 pages" "$(stat -c %s "$D/00100000-00140000")" 8
eq "unaligned range" "$(werr "$D/ranges" "100 4096")" "Invalid argument"
eq "overlap" "$(werr "$D/ranges" "$(printf '0 8192\n4096 4096')")" "Invalid argument"
eq "zero length" "$(werr "$D/ranges" "0 0")" "Invalid argument"
eq "garbage" "$(werr "$D/ranges" "0 4096 7")" "Invalid argument"
eq "bad page size" "$(werr "$D/page_size" 1000)" "Invalid argument"
# Line ends alike in every file: CRLF is refused here as in ranges.
eq "ranges CRLF" "$(werr "$D/ranges" $'0 4096\r')" "Invalid argument"
eq "page size CRLF" "$(werr "$D/page_size" $'4096\r')" "Invalid argument"
eq "page size 0x0x1000" "$(werr "$D/page_size" 0x0x1000)" "Invalid argument"
eq "page size the ranges don't fit" "$(werr "$D/page_size" 128K)" "Invalid argument"
# The shell writes line by line; each write stores the value so far, so
# the refused overlap left its first line.
eq "ranges after refusals" "$(cat "$D/ranges")" "0x0 0x2000"
printf '0x100000 256K\n0 0x10000\n' > "$D/ranges"

# Tracking: test-and-clear reads of exactly the pages read.
echo 1 > "$D/tracking"
eq "second start" "$(werr "$D/tracking" 1)" "Device or resource busy"
eq "ranges while tracking" "$(werr "$D/ranges" "0 4096")" "Device or resource busy"
eq "page size while tracking" "$(werr "$D/page_size" 8192)" "Device or resource busy"
eq "bitmap mtime before a read" "$(stat -c %Y "$D/00100000-00140000")" 0
t0=$(date +%s)
eq "clean log" "$(words "$D/00100000-00140000")" 0000000000000000
read_at=$(stat -c %Y "$D/00100000-00140000")
[ "$read_at" -ge "$t0" ] && [ "$read_at" -le "$(date +%s)" ] && ok ||
	fail "bitmap mtime is its last read ($read_at, from $t0)"
eq "the other bitmap not read" "$(stat -c %Y "$D/00000000-00010000")" 0
echo "0x100000 4096" > "$A/sim/dma"
echo "0x13f000 0x1000" > "$A/sim/dma"
echo "0x3000 8K" > "$A/sim/dma"
eq "pages 0 and 63" "$(words "$D/00100000-00140000")" 8000000000000001
eq "read clears" "$(words "$D/00100000-00140000")" 0000000000000000
eq "pages 3 and 4 of the other range" "$(words "$D/00000000-00010000")" 0000000000000018
eq "DMA outside guest memory" "$(werr "$A/sim/dma" "16M 4096")" "Bad address"
echo "0 4096" > "$A/sim/dma"
eq "read not a multiple of 8" "$(dd if="$D/00000000-00010000" bs=4 count=1 2>&1 >/dev/null | grep -c 'Invalid argument')" 1
eq "the bit survives a refused read" "$(words "$D/00000000-00010000")" 0000000000000001

# Reads of part of a bitmap clear only what they cover.
echo 0 > "$D/tracking"
printf '0 1M\n' > "$D/ranges"
echo 1 > "$D/tracking"
echo "0 4096" > "$A/sim/dma"
echo "0x40000 4096" > "$A/sim/dma"
eq "second word alone" "$(dd if="$D/00000000-00100000" bs=8 skip=1 count=1 status=none | od -A n -t x8 | tr -d ' ')" 0000000000000001
eq "first word untouched by it" "$(words "$D/00000000-00100000")" "0000000000000001 0000000000000000 0000000000000000 0000000000000000"

# Stopping freezes the log: the final bits stay readable, test-and-clear.
echo "0x80000 4096" > "$A/sim/dma"
echo 0 > "$D/tracking"
echo "0x1000 4096" > "$A/sim/dma"
eq "stop twice is fine" "$(werr "$D/tracking" 0)" ok
echo "0 1M" > "$D/ranges"
eq "frozen bits" "$(words "$D/00000000-00100000")" "0000000000000000 0000000000000000 0000000000000001 0000000000000000"
eq "frozen bits cleared by the read" "$(words "$D/00000000-00100000")" "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
echo 0 > "$D/tracking"

# A busy device dirties pages by itself; once stopped, never again.
echo "0 1M" > "$R/dirty/ranges"
echo 1 > "$R/dirty/tracking"
sleep 0.2
check "the running device dirtied pages" [ "$(words "$R/dirty/00000000-00100000" | tr -d ' 0')" != "" ]
echo running_p2p > "$R/state"
words "$R/dirty/00000000-00100000" > /dev/null
sleep 0.2
eq "no DMA in running_p2p" "$(words "$R/dirty/00000000-00100000" | tr -d ' 0')" ""
eq "DMA refused in running_p2p" "$(werr "$R/sim/dma" "0 4096")" "Device or resource busy"
echo stop > "$R/state"
sleep 0.1
eq "no DMA in stop" "$(words "$R/dirty/00000000-00100000" | tr -d ' 0')" ""
grep -q "^dirty_tracking: on (device DMA logging)$" "$R/status" && ok || fail "status: $(grep dirty_tracking "$R/status")"

# Bitmaps are bounded: by default 256 MiB, 8 TiB at 4 KiB pages.
D=$H/dirty
eq "a 16 EiB range" "$(werr "$D/ranges" "0 0xFFFFFFFFFFFFF000")" "No space left on device"
grep -q "^last_error: the dirty bitmaps would take 562949953421312 bytes, more than the 268435456 allowed" "$H/status" &&
	ok || fail "status: $(grep last_error "$H/status")"
eq "8 TiB and a word" "$(werr "$D/ranges" "$(printf '0 8T\n9T 4096')")" "No space left on device"
eq "the refused range is not kept" "$(cat "$D/ranges")" "0x0 0x80000000000"
echo 8192 > "$D/page_size"
echo "0 16T" > "$D/ranges"
eq "16 TiB at 8 KiB pages" "$(cat "$D/ranges")" "0x0 0x100000000000"
eq "then 4 KiB pages" "$(werr "$D/page_size" 4096)" "No space left on device"
eq "page size kept" "$(cat "$D/page_size")" 8192
echo "0 8T" > "$D/ranges"
echo 4096 > "$D/page_size"
echo 1 > "$D/tracking"
echo "0x7FFFFFFF000 4096" > "$H/sim/dma"
# Stopping freezes 256 MiB of bitmap: `state` answers meanwhile.
t0=$(date +%s%N)
echo 0 > "$D/tracking" &
stopper=$!
sleep 0.1
# (Under valgrind every request is many times slower: 3 s there.)
limit=0.2
[ "${MIGFS_VALGRIND:-0}" = 1 ] && limit=3
check "state answers within $limit s of the stop" timeout "$limit" cat "$H/state"
wait $stopper
check "the stop succeeded" [ $? = 0 ]
echo "stop and state: $((($(date +%s%N) - t0) / 1000000)) ms" >&2
eq "the last page, frozen" "$(dd if="$D/00000000-80000000000" bs=8 skip=$((256 * 1024 * 1024 / 8 - 1)) count=1 status=none | od -A n -t x8 | tr -d ' ')" 8000000000000000
eq "the daemon serves its other mounts" "$(cat "$A/state")" running

stop_daemon

# --dirty-bitmap-max: 1K is 8192 pages, 32 MiB at 4 KiB pages.
B=$(mnt b)
start --dirty-bitmap-max=1K sim:b "$B"
echo "0 32M" > "$B/dirty/ranges"
eq "32 MiB under a 1 KiB bound" "$(cat "$B/dirty/ranges")" "0x0 0x2000000"
eq "32 MiB and a page" "$(werr "$B/dirty/ranges" "0 0x2001000")" "No space left on device"
stop_daemon
for bad in 0 7 1X -1 ""; do
	eq "--dirty-bitmap-max=$bad" "$("$MIGFSD" -f --dirty-bitmap-max="$bad" sim:b "$B" 2>&1)" \
		"vfio-migfsd: --dirty-bitmap-max takes a size of at least 8 bytes, not '$bad'"
done
finish
