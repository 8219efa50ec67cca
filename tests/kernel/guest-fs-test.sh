#!/bin/bash
# Guest script for run-lane.sh: vfio-migfsd on vfio_migtest devices under the
# real VFIO core, through the mounted files and shell tools only.
#   guest-fs-test.sh MIGTEST_OWNER [VFIO_MIGFSD]
# The check helpers (eq, check, werr, rerr, mnt, start, stop_daemon, finish)
# are the filesystem tests' own, tests/fs/lib.sh.
[ $# -ge 1 ] || { echo "usage: guest-fs-test.sh MIGTEST_OWNER [VFIO_MIGFSD]" >&2; exit 2; }
OWNER=$1
MIGFSD=${2:-$MIGTEST_BUILDDIR/fsd/vfio-migfsd}
. "$(dirname "$0")/../fs/lib.sh"
. "$MIGTEST_LIB"

# Guest memory of the devices run under migtest-owner, and its bitmap file.
IOVA=0x100000
BYTES=1M
BITMAP=00100000-00200000
ZEROS="0000000000000000 0000000000000000 0000000000000000 0000000000000000"
STATE_SIZE=$(cat /sys/module/vfio_migtest/parameters/state_size)
IMG_LEN=$((16 + STATE_SIZE + 4))
ALL_STATES="running stop stop_copy resuming running_p2p"

# What the booted kernel offers (run-lane.sh -k): MIG_DATA_SIZE came after
# 6.1; device DMA logging reports need CONFIG_IOMMUFD_DRIVER, which Debian's
# 6.12 lacks (START works, every REPORT fails).
# dirty=auto tests the device's log with a one-page report and passes over
# it when it cannot report: to the type1 container if there is one. The
# lane's 6.12-iommufd rebuild has the reports, /dev/iommu and the cdev.
DATA_SIZE=ok
LOG_REPORT=yes
AUTO_OWN="device DMA logging"
AUTO_FD="device DMA logging"
CDEV=no
case $MIGTEST_KERNEL in
6.1)
	DATA_SIZE="Operation not supported" ;;
6.12)
	LOG_REPORT=no
	AUTO_OWN="type1 container; device DMA logging cannot report"
	AUTO_FD="none; device DMA logging cannot report" ;;
6.12-iommufd)
	CDEV=yes ;;
esac

UUIDS=""
OWNED=""

# new_device VAR: creates an mdev and sets VAR to its UUID (not in a
# subshell: the cleanup needs UUIDS).
new_device() {
	local u
	u=$(migtest_uuid)
	migtest_create "$u" > /dev/null || { echo "FAIL: cannot create an mdev" >&2; exit 1; }
	UUIDS="$UUIDS $u"
	printf -v "$1" %s "$u"
}

# drv UUID: the driver's sysfs directory of the device.
drv() { echo "/sys/bus/mdev/devices/$1/migtest"; }

# state_is MNT UUID STATE WHAT: `state` and the driver agree on STATE.
# (Builtins only: a fork and exec cost tens of ms under TCG.)
state_is() {
	local got dev
	read -r got < "$1/state"
	read -r dev < "/sys/bus/mdev/devices/$2/migtest/state"
	eq "$4: state" "$got" "$3"
	eq "$4: driver state" "$dev" "${3^^}"
}

# status_of MNT KEY: the value of one line of `status`.
status_of() { sed -n "s/^$2: //p" "$1/status"; }

# words FILE: the bitmap as 64-bit hex words, one line.
words() { od -A n -t x8 -v "$1" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }

# rerr3: like rerr, for a read of 4 bytes from the file open on fd 3.
rerr3() {
	local out
	if out=$(head -c 4 <&3 2>&1 >/dev/null); then
		echo ok
	else
		echo "${out##*: }"
	fi
}

# refused WHAT COMMAND...: a daemon (maybe under an owner) that must exit
# non-zero at once, not mount and hang.
refused() {
	local what=$1 rc=0
	shift
	timeout 20 "$@" 2>"$T/refused.log" || rc=$?
	if [ "$rc" = 0 ] || [ "$rc" = 124 ]; then
		fail "$what: exit status $rc, want an error"
	else
		ok
		echo "info: $what: $(head -1 "$T/refused.log")"
	fi
}

# held_by WHAT REGEX: the last refusal named the device's holder.
held_by() {
	grep -Eq "$2" "$T/refused.log" && ok || fail "$1: $(head -1 "$T/refused.log")"
}

# reaped PID WHAT: waits at most 20 s for PID to exit, checks status 0.
reaped() {
	local i=0 rc=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$1" 2>/dev/null; then
		fail "$2: still running after 20 s"
		kill -9 "$1"
	fi
	wait "$1" || rc=$?
	eq "$2: exit status" "$rc" 0
}

# start_owned NAME UUID COMMAND... MOUNTPOINT: COMMAND (a daemon) under
# migtest-owner, which maps BYTES at IOVA; sets OPID (the owner). The owner
# writes the DMA it saw to $T/dma.NAME when COMMAND exits.
start_owned() {
	local name=$1 uuid=$2
	shift 2
	: > "$T/want.$name"
	# shellcheck disable=SC2086
	"$OWNER" ${OWNER_OPTS:-} -r "$T/dma.$name" "$uuid" $IOVA $BYTES -- "$@" \
		2>"$T/owner-$name.log" &
	OPID=$!
	OWNED="$OWNED $OPID"
	wait_mounted "${!#}" "$OPID" "$T/owner-$name.log"
}

# dma NAME UUID "IOVA LENGTH": the device DMA-writes there; the span is
# remembered for dma_landed.
dma() {
	local r
	r=$(werr "$(drv "$2")/dma" "$3")
	eq "$1: DMA $3" "$r" ok
	[ "$r" = ok ] && echo "$3" >> "$T/want.$1"
}

# dirty_test NAME MNT UUID MECHANISM: test-and-clear bitmaps of device DMA.
dirty_test() {
	local n=$1 m=$2 u=$3 d=$2/dirty bm=$2/dirty/$BITMAP
	eq "$n: features" "$(cat "$m/features")" "stop_copy p2p dirty"
	eq "$n: status" "$(status_of "$m" dirty_tracking)" "off ($4)"
	eq "$n: page size" "$(cat "$d/page_size")" 4096
	eq "$n: set the range" "$(werr "$d/ranges" "$IOVA $BYTES")" ok
	eq "$n: ranges" "$(cat "$d/ranges")" "0x100000 0x100000"
	eq "$n: bitmap size" "$(stat -c %s "$bm")" 32
	dma "$n" "$u" "0x100000 8"
	eq "$n: start" "$(werr "$d/tracking" 1)" ok
	eq "$n: tracking" "$(cat "$d/tracking")" 1
	eq "$n: second start" "$(werr "$d/tracking" 1)" "Device or resource busy"
	eq "$n: ranges while tracking" "$(werr "$d/ranges" "$IOVA 4K")" "Device or resource busy"
	eq "$n: status tracking" "$(status_of "$m" dirty_tracking)" "on ($4)"
	dma "$n" "$u" "0x102000 100"
	dma "$n" "$u" "0x106ff6 20"
	dma "$n" "$u" "0x1ff000 4096"
	eq "$n: pages 2, 6, 7, 255 (not 0, written before the start)" "$(words "$bm")" \
		"00000000000000c4 0000000000000000 0000000000000000 8000000000000000"
	eq "$n: read again (test-and-clear)" "$(words "$bm")" "$ZEROS"
	# A read clears exactly the pages it covers.
	dma "$n" "$u" "0x100010 8"
	dma "$n" "$u" "0x1c0000 4096"
	eq "$n: word 3 alone" \
		"$(dd if="$bm" bs=8 skip=3 count=1 status=none | od -A n -t x8 | tr -d ' ')" \
		0000000000000001
	eq "$n: the rest kept" "$(words "$bm")" \
		"0000000000000001 0000000000000000 0000000000000000 0000000000000000"
	# Tracking survives state changes and reset; stopping it freezes the
	# last bits.
	dma "$n" "$u" "0x109000 4096"
	eq "$n: stop" "$(werr "$m/state" stop)" ok
	eq "$n: DMA refused in stop" "$(werr "$(drv "$u")/dma" "0x10a000 8")" "Device or resource busy"
	eq "$n: running" "$(werr "$m/state" running)" ok
	eq "$n: reset" "$(werr "$m/reset" 1)" ok
	dma "$n" "$u" "0x10c000 4096"
	eq "$n: stop tracking" "$(werr "$d/tracking" 0)" ok
	eq "$n: tracking off" "$(cat "$d/tracking")" 0
	eq "$n: status stopped" "$(status_of "$m" dirty_tracking)" "off ($4)"
	dma "$n" "$u" "0x10e000 4096"
	eq "$n: frozen bits" "$(words "$bm")" \
		"0000000000001200 0000000000000000 0000000000000000 0000000000000000"
	eq "$n: frozen bits read once" "$(words "$bm")" "$ZEROS"

	# 64 KiB pages: the driver logs 4 KiB pages, the daemon folds them.
	eq "$n: 64K pages" "$(werr "$d/page_size" 64K)" ok
	eq "$n: 64K bitmap size" "$(stat -c %s "$bm")" 8
	eq "$n: 64K start" "$(werr "$d/tracking" 1)" ok
	dma "$n" "$u" "0x112000 8"
	dma "$n" "$u" "0x1f4000 8"
	eq "$n: 64K pages 1 and 15" "$(words "$bm")" 0000000000008002
	eq "$n: 64K read again" "$(words "$bm")" 0000000000000000
	eq "$n: 64K stop" "$(werr "$d/tracking" 0)" ok
	eq "$n: back to 4K pages" "$(werr "$d/page_size" 4096)" ok
}

# two_ranges NAME MNT UUID: one bitmap file per range.  Device logging
# only: type1 refuses a bitmap of part of a mapping (the owner maps one).
two_ranges() {
	local n=$1 m=$2 u=$3 d=$2/dirty
	printf '0x1f0000 64K\n0x100000 64K\n' | cat > "$d/ranges"
	eq "$n: two ranges" "$(tr '\n' ' ' < "$d/ranges")" "0x100000 0x10000 0x1f0000 0x10000 "
	eq "$n: two files" "$(ls "$d" | tr '\n' ' ')" \
		"00100000-00110000 001f0000-00200000 page_size ranges tracking "
	eq "$n: start over two ranges" "$(werr "$d/tracking" 1)" ok
	dma "$n" "$u" "0x103000 8"
	dma "$n" "$u" "0x1f8000 8"
	eq "$n: first range" "$(words "$d/00100000-00110000")" 0000000000000008
	eq "$n: second range" "$(words "$d/001f0000-00200000")" 0000000000000100
	eq "$n: stop over two ranges" "$(werr "$d/tracking" 0)" ok
}

# dma_landed NAME: the owner's memory holds 0x5a exactly where the device
# was asked to write (the spans never touch, so each is one run).
dma_landed() {
	local want
	touch "$T/want.$1"	# no DMA asked for: none may land
	want=$(while read -r a l; do printf '%d 0x%x %d 0x5a\n' "$a" "$a" "$l"; done \
		< "$T/want.$1" | sort -n | cut -d' ' -f2-)
	eq "$1: DMA in the owner's memory" "$(cat "$T/dma.$1")" "$want"
}

# Owners pass SIGTERM on to their daemon, which unmounts. lib.sh's cleanup
# misses mounts made through `X=$(mnt x)` (a subshell), so unmount them here.
lane_cleanup() {
	local p i alive
	main_shell || return 0
	for p in $OWNED; do
		kill -TERM "$p" 2>/dev/null
	done
	for i in $(seq 50); do
		alive=0
		for p in $OWNED; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	if [ "$FAILED" != 0 ]; then
		for p in "$T"/owner-*.log; do
			[ -s "$p" ] && { echo "--- $p:"; cat "$p"; } >&2
		done
	fi
	for p in "$T"/*/; do
		mountpoint -q "$p" && umount -l "$p"
	done
	cleanup
	for p in $UUIDS; do
		migtest_remove "$p" 2>/dev/null
	done
}
trap lane_cleanup EXIT

new_device A
new_device B
MA=$(mnt a)
MB=$(mnt b)

section "vfio:UUID and vfio:SYSFS_PATH"
start "vfio:$A" "$MA" "vfio:/sys/bus/mdev/devices/$B" "$MB"
for m in "$MA" "$MB"; do
	eq "$m: states" "$(cat "$m/states")" "[running] stop stop_copy resuming running_p2p"
	eq "$m: features" "$(cat "$m/features")" "stop_copy p2p dirty"
	eq "$m: dirty tracking" "$(status_of "$m" dirty_tracking)" "off ($AUTO_OWN)"
	check "$m: vfio/ directory" [ -d "$m/vfio" ]
	eq "$m: data_size" "$(rerr "$m/data_size")" "$DATA_SIZE"
	[ "$DATA_SIZE" = ok ] && eq "$m: data_size is the stream's length" \
		"$(cat "$m/data_size")" "$IMG_LEN"
	eq "$m: precopy" "$(rerr "$m/precopy")" "No data available"
done
eq "A: status device" "$(status_of "$MA" device)" "vfio:$A"
eq "B: status device" "$(status_of "$MB" device)" "vfio:/sys/bus/mdev/devices/$B"
state_is "$MA" "$A" running "A freshly mounted"
refused "a second daemon on A" "$MIGFSD" -f "vfio:$A" "$(mnt busy)"
held_by "a second daemon on A" \
	"held by process $DPID \(vfio-migfsd\) through /dev/vfio/[0-9]+; have it hand the device over"
refused "a device that does not exist" \
	"$MIGFSD" -f vfio:00000000-0000-0000-0000-000000000000 "$(mnt none)"
refused "fd: of a closed fd" "$MIGFSD" -f fd:99 "$(mnt closed)"
refused "fd: of a file" "$MIGFSD" -f fd:9 "$(mnt file)" 9< /etc/hostname
refused "a PCI address without an IOMMU group" "$MIGFSD" -f vfio:0000:00:00.0 "$(mnt pci)"
eq "data: read in running" "$(rerr "$MA/data")" "No data available"
eq "data: write in running" "$(werr "$MA/data" x)" "Operation not permitted"

section "every arc"
# Leaving resuming loads what was written: feed it A's own stream.
echo stop_copy > "$MA/state"
cat "$MA/data" > "$T/self.img"
eq "data at the end of the stream" "$(wc -c < "$MA/data")" 0
echo 1 > "$MA/reset"
echo stop_copy > "$MA/state"
dd if="$MA/data" of="$T/odd.img" bs=100003 status=none
check "the same stream again, in odd-sized reads" cmp "$T/self.img" "$T/odd.img"
echo 1 > "$MA/reset"
eq "stream length" "$(stat -c %s "$T/self.img")" "$IMG_LEN"
eq "stream magic" "$(head -c 4 "$T/self.img")" MIGT
for from in $ALL_STATES; do
	for to in $ALL_STATES; do
		echo 1 > "$MA/reset"
		eq "enter $from" "$(werr "$MA/state" "$from")" ok
		state_is "$MA" "$A" "$from" "entered $from"
		if [ "$from" = resuming ] && [ "$to" != resuming ]; then
			dd if="$T/self.img" of="$MA/data" bs=100003 status=none ||
				fail "$from -> $to: writing the stream"
		fi
		eq "$from -> $to" "$(werr "$MA/state" "$to")" ok
		state_is "$MA" "$A" "$to" "$from -> $to"
	done
done

section "refused states"
for from in running stop; do
	echo 1 > "$MA/reset"
	echo "$from" > "$MA/state"
	eq "$from -> pre_copy" "$(werr "$MA/state" pre_copy)" "Operation not supported"
	eq "$from -> pre_copy_p2p" "$(werr "$MA/state" pre_copy_p2p)" "Operation not supported"
	eq "$from -> SAVING|RUNNING" "$(werr "$MA/state" "SAVING|RUNNING")" "Operation not supported"
	eq "$from -> error" "$(werr "$MA/state" error)" "Invalid argument"
	eq "$from -> bogus" "$(werr "$MA/state" bogus)" "Invalid argument"
	eq "$from -> SAVING|RESUMING" "$(werr "$MA/state" "SAVING|RESUMING")" "Invalid argument"
	state_is "$MA" "$A" "$from" "after the refusals in $from"
done
echo 1 > "$MA/reset"

section "migration of A into B"
da=$(cat "$(drv "$A")/digest")
check "A and B differ" [ "$da" != "$(cat "$(drv "$B")/digest")" ]
echo 1000 > "$(drv "$A")/mutate"
da2=$(cat "$(drv "$A")/digest")
check "mutate changes A" [ "$da" != "$da2" ]
check "B still differs" [ "$da2" != "$(cat "$(drv "$B")/digest")" ]
eq "A: stop_copy" "$(werr "$MA/state" stop_copy)" ok
eq "B: resuming" "$(werr "$MB/state" resuming)" ok
check "cat A/data > B/data" cat "$MA/data" > "$MB/data"
eq "A: bytes_saved" "$(status_of "$MA" bytes_saved)" "$IMG_LEN"
eq "B: bytes_resumed" "$(status_of "$MB" bytes_resumed)" "$IMG_LEN"
eq "B: session" "$(status_of "$MB" session)" resuming
eq "B: resuming -> stop" "$(werr "$MB/state" stop)" ok
state_is "$MB" "$B" stop "B loaded"
eq "B: stop -> running" "$(werr "$MB/state" running)" ok
eq "A: stop_copy -> running" "$(werr "$MA/state" running)" ok
state_is "$MA" "$A" running "A after the migration"
eq "B's digest is A's" "$(cat "$(drv "$B")/digest")" "$da2"
eq "A unchanged by saving" "$(cat "$(drv "$A")/digest")" "$da2"

section "a data handle goes stale at reset"
echo stop_copy > "$MA/state"
exec 3< "$MA/data"
eq "first bytes" "$(head -c 4 <&3)" MIGT
eq "reset in stop_copy" "$(werr "$MA/reset" 1)" ok
eq "read after the reset" "$(rerr3)" "Stale file handle"
exec 3<&-
state_is "$MA" "$A" running "A after the reset"
echo stop_copy > "$MA/state"
exec 3< "$MA/data"
eq "first bytes, again" "$(head -c 4 <&3)" MIGT
echo stop > "$MA/state"
echo stop_copy > "$MA/state"
eq "read in the next session" "$(rerr3)" "Stale file handle"
exec 3<&-
eq "a new handle reads the new session" "$(head -c 4 "$MA/data")" MIGT
echo 1 > "$MA/reset"

section "refused streams"
cp "$T/self.img" "$T/bad.img"
off=$((IMG_LEN / 2))
byte=$(od -A n -t u1 -j $off -N 1 "$T/bad.img" | tr -d ' ')
printf %b "\\$(printf %03o $((byte ^ 1)))" | dd of="$T/bad.img" bs=1 seek=$off conv=notrunc status=none
check "the corrupt copy differs" test "$(cmp "$T/self.img" "$T/bad.img")"
head -c $((IMG_LEN - 100)) "$T/self.img" > "$T/short.img"
: > "$T/empty.img"
# The driver refuses the load and stays in RESUMING: it never enters ERROR
# (and SET to ERROR is refused), so `reset` is tested from here instead.
echo "info: the driver never enters error: reset is tested from a refused resume"
for img in bad short empty; do
	db=$(cat "$(drv "$B")/digest")
	echo 1 > "$MB/reset"
	eq "$img: B resuming" "$(werr "$MB/state" resuming)" ok
	check "$img: stream written" cat "$T/$img.img" > "$MB/data"
	eq "$img: resuming -> stop" "$(werr "$MB/state" stop)" "Input/output error"
	state_is "$MB" "$B" resuming "$img: refused"
	eq "$img: states" "$(cat "$MB/states")" "running stop stop_copy [resuming] running_p2p"
	eq "$img: nothing loaded" "$(cat "$(drv "$B")/digest")" "$db"
	grep -q "^last_error: .*EINVAL" "$MB/status" && ok ||
		fail "$img: last_error names EINVAL: $(grep last_error "$MB/status")"
	[ $img = bad ] && echo "info: $(grep last_error "$MB/status")"
	eq "$img: resuming -> running" "$(werr "$MB/state" running)" "Input/output error"
	state_is "$MB" "$B" resuming "$img: still refused"
	eq "$img: reset" "$(werr "$MB/reset" 1)" ok
	state_is "$MB" "$B" running "$img: after reset"
done
echo resuming > "$MB/state"
cat "$T/self.img" > "$MB/data"
eq "a write past the end of the stream" "$(werr "$MB/data" x)" "No space left on device"
echo 1 > "$MB/reset"

section "reset from every state"
for s in stop stop_copy resuming running_p2p; do
	echo "$s" > "$MA/state"
	eq "reset from $s" "$(werr "$MA/reset" 1)" ok
	state_is "$MA" "$A" running "after reset from $s"
done

section "unmount in the middle of sessions"
echo stop_copy > "$MA/state"
echo resuming > "$MB/state"
head -c 100000 "$MA/data" > "$MB/data"
umount "$MA" "$MB"
reaped "$DPID" "daemon after umount"
MN=$(mnt n)
MT=$(mnt t)
start "vfio:$A,dirty=none" "$MN" "vfio:$B,dirty=type1" "$MT"
eq "dirty=none: features" "$(cat "$MN/features")" "stop_copy p2p"
check "dirty=none: no dirty/" [ ! -e "$MN/dirty" ]
eq "dirty=none: status" "$(status_of "$MN" dirty_tracking)" "off (none)"
eq "dirty=type1, own container: status" "$(status_of "$MT" dirty_tracking)" "off (type1 container)"
state_is "$MN" "$A" running "A reopened"
state_is "$MT" "$B" running "B reopened"
stop_daemon

section "what the kernel lacks"
new_device C
new_device D
new_device E
refused "iommufd dirty tracking" "$MIGFSD" -f "vfio:$C,dirty=iommufd" "$(mnt iommufd)"
if [ $CDEV = no ]; then
	refused "the vfio cdev" "$MIGFSD" -f "vfio:$C,cdev" "$(mnt cdev)"
else
	section "the vfio cdev, bound to /dev/iommu"
	MX=$(mnt cdev)
	start "vfio:$C,cdev" "$MX"
	grep -q '^iommufd, ioas [0-9]*, hwpt 0$' "$MX/vfio/iommu" && ok ||
		fail "cdev: vfio/iommu: $(cat "$MX/vfio/iommu")"
	eq "cdev: states" "$(cat "$MX/states")" "[running] stop stop_copy resuming running_p2p"
	eq "cdev: dirty tracking" "$(status_of "$MX" dirty_tracking)" "off (device DMA logging)"
	state_is "$MX" "$C" running "cdev: mounted"
	eq "cdev: stop_copy" "$(werr "$MX/state" stop_copy)" ok
	state_is "$MX" "$C" stop_copy "cdev: saving"
	eq "cdev: the whole stream" "$(wc -c < "$MX/data")" "$IMG_LEN"
	eq "cdev: reset" "$(werr "$MX/reset" 1)" ok
	state_is "$MX" "$C" running "cdev: after reset"
	eq "cdev: data_size" "$(cat "$MX/data_size")" "$IMG_LEN"
	# Whoever holds it, through whichever node: named the same way.
	held="held by process $DPID \(vfio-migfsd\) through /dev/vfio/devices/vfio[0-9]+; have it"
	refused "the group while the cdev is held" "$MIGFSD" -f "vfio:$C" "$(mnt busy-g)"
	held_by "the group while the cdev is held" "$held"
	refused "the cdev while the cdev is held" "$MIGFSD" -f "vfio:$C,cdev" "$(mnt busy-c)"
	held_by "the cdev while the cdev is held" "$held"
	stop_daemon
	"$OWNER" "$C" $IOVA $BYTES -- sleep 30 2>/dev/null &
	HPID=$!
	until [ -n "$(find /proc/$HPID/fd -lname '/dev/vfio/[0-9]*' 2>/dev/null)" ]; do
		sleep 0.2
	done
	refused "the cdev while the group is held" "$MIGFSD" -f "vfio:$C,cdev" "$(mnt busy-o)"
	held_by "the cdev while the group is held" \
		"held by process [0-9]+ \((migtest-owner|sleep)\) through /dev/vfio/[0-9]+; have it"
	kill -TERM $HPID
	wait $HPID

	# A VMM on iommufd hands over its cdev and iommufd (fd:N,iommufd=):
	# device DMA logging through iommufd's bitmap, DMA into its IOAS.
	section "fd: with iommufd= under an iommufd owner"
	MI=$(mnt iofd)
	OWNER_OPTS=-i start_owned iofd "$C" "$MIGFSD" -f 'fd:{dev},iommufd={container}' "$MI"
	PI=$OPID
	eq "iofd: vfio/iommu" "$(cat "$MI/vfio/iommu")" "handed over, iommufd"
	state_is "$MI" "$C" running "iofd: handed over"
	dirty_test iofd "$MI" "$C" "device DMA logging"
	kill -TERM $PI
	reaped $PI "iommufd owner after SIGTERM"
	dma_landed iofd
fi
refused "type1 without a container" \
	"$OWNER" "$C" $IOVA $BYTES -- "$MIGFSD" -f 'fd:{dev},dirty=type1' "$(mnt x)"

section "fd: under migtest-owner"
MC=$(mnt c)
MD=$(mnt d)
ME=$(mnt e)
start_owned devlog "$C" "$MIGFSD" -f --container-fd '{container}' 'fd:{dev},dirty=device' "$MC"
PC=$OPID
start_owned type1 "$D" "$MIGFSD" -f 'fd:{dev},container={container},dirty=type1' "$MD"
PD=$OPID
start_owned plain "$E" "$MIGFSD" -f 'fd:{dev}' "$ME"
PE=$OPID

grep -q '^device: fd:[0-9]*$' "$ME/status" && ok ||
	fail "fd: status device: $(status_of "$ME" device)"
state_is "$ME" "$E" running "fd: fresh"
eq "fd: states" "$(cat "$ME/states")" "[running] stop stop_copy resuming running_p2p"
eq "fd: default mechanism" "$(status_of "$ME" dirty_tracking)" "off ($AUTO_FD)"
eq "fd: stop_copy" "$(werr "$ME/state" stop_copy)" ok
state_is "$ME" "$E" stop_copy "fd: saving"
eq "fd: stream header" "$(head -c 16 "$ME/data" | od -A n -t x4 -v | tr -s ' \n' ' ')" \
	"$(printf ' 5447494d 00000001 %08x %08x ' $((STATE_SIZE & 0xffffffff)) $((STATE_SIZE >> 32)))"
eq "fd: running" "$(werr "$ME/state" running)" ok
state_is "$ME" "$E" running "fd: back"
echo running_p2p > "$ME/state"
eq "fd: reset" "$(werr "$ME/reset" 1)" ok
state_is "$ME" "$E" running "fd: after reset"

section "dirty pages: device DMA logging"
if [ $LOG_REPORT = yes ]; then
	dirty_test devlog "$MC" "$C" "device DMA logging"
	two_ranges devlog "$MC" "$C"
else
	# Asked for by name, a log that cannot report fails at its start.
	eq "devlog: status" "$(status_of "$MC" dirty_tracking)" "off (device DMA logging)"
	eq "devlog: set the range" "$(werr "$MC/dirty/ranges" "$IOVA $BYTES")" ok
	eq "devlog: tracking refused" "$(werr "$MC/dirty/tracking" 1)" "Operation not supported"
	eq "devlog: tracking stays off" "$(cat "$MC/dirty/tracking")" 0
	eq "devlog: last_error" "$(status_of "$MC" last_error)" \
		"starting dirty tracking: Operation not supported (EOPNOTSUPP)"
	eq "devlog: the log says why" \
		"$(grep -c 'device DMA logging cannot report (DMA_LOGGING_REPORT: Operation not supported)' "$MC/log")" 1
fi
section "dirty pages: type1 container"
dirty_test type1 "$MD" "$D" "type1 container"

for p in devlog:$PC type1:$PD plain:$PE; do
	kill -TERM "${p#*:}"
	reaped "${p#*:}" "owner ${p%:*} after SIGTERM"
done
OWNED=""
for p in devlog type1 plain; do
	dma_landed $p
done

# handover NAME UUID MECHANISM OPTIONS: the owner keeps the device while one
# daemon after another serves it at the same mountpoint (a shell between
# them holds the inherited fds). What the first one started must not leak
# into the second: a fresh log, no stale pages, tracking can start.
handover() {
	local n=$1 u=$2 m d
	m=$(mnt "$n")
	d=$m/dirty
	# shellcheck disable=SC2016
	start_owned "$n" "$u" sh -c '"$@" && exec "$@"' relay "$MIGFSD" -f "fd:{dev}$4" "$m"
	echo "$IOVA $BYTES" > "$d/ranges"
	eq "$n: first daemon starts tracking" "$(werr "$d/tracking" 1)" ok
	dma "$n" "$u" "0x103000 8"
	eq "$n: first daemon sees page 3" "$(words "$d/$BITMAP")" \
		"0000000000000008 0000000000000000 0000000000000000 0000000000000000"
	dma "$n" "$u" "0x105000 8"
	echo stop_copy > "$m/state"
	umount "$m"
	wait_mounted "$m" "$OPID" "$T/owner-$n.log"
	state_is "$m" "$u" stop_copy "$n: the second daemon finds the device"
	eq "$n: tracking, second daemon" "$(cat "$d/tracking")" 0
	eq "$n: back to running" "$(werr "$m/state" running)" ok
	echo "$IOVA $BYTES" > "$d/ranges"
	eq "$n: second daemon starts tracking" "$(werr "$d/tracking" 1)" ok
	eq "$n: status" "$(status_of "$m" dirty_tracking)" "on ($3)"
	dma "$n" "$u" "0x104000 8"
	eq "$n: page 4 only (5 was written before the start)" "$(words "$d/$BITMAP")" \
		"0000000000000010 0000000000000000 0000000000000000 0000000000000000"
	kill -TERM "$OPID"
	reaped "$OPID" "owner $n after SIGTERM"
	dma_landed "$n"
}

section "one owner, two daemons in turn"
new_device F
new_device G
[ $LOG_REPORT = yes ] && handover relay-devlog "$F" "device DMA logging" ,dirty=device
handover relay-type1 "$G" "type1 container" ",container={container},dirty=type1"

finish
