#!/bin/bash
# Guest script for run-lane.sh: `vfio-migctl migrate SRC1=DST1 SRC2=DST2`
# (and save | load of a set) on real VFIO devices: two vfio_migtest
# sources into two others on every kernel, and on 6.12 two of upstream's
# mtty into two others.  The phases' order is read from the devices' logs.
#   guest-set-test.sh VFIO_MIGCTL MTTY_SCR [VFIO_MIGFSD]
[ $# -ge 2 ] || { echo "usage: guest-set-test.sh VFIO_MIGCTL MTTY_SCR [VFIO_MIGFSD]" >&2; exit 2; }
MIGCTL=$1
SCR=$2
MIGFSD=${3:-$MIGTEST_BUILDDIR/fsd/vfio-migfsd}
. "$(dirname "$0")/../fs/lib.sh"
. "$MIGTEST_LIB"

# new_device VAR TYPE: an mdev of TYPE (its mdev_supported_types directory); VAR its UUID.
new_device() {
	local u
	u=$(migtest_uuid)
	echo "$u" > "$2/create" || { echo "FAIL: cannot create an mdev of $2" >&2; exit 1; }
	printf -v "$1" %s "$u"
}

# at MNT PATTERN: the timestamp of the last log line of MNT matching PATTERN.
at() { grep -E -e "$2" "$1/log" | tail -1 | cut -d' ' -f1; }

# barrier_kept S1 S2 D1 D2: from the logs, every source quiesced before
# any stop_copy, every destination in running_p2p before any running.
barrier_kept() {
	local q s p r
	q=$( (at "$1" "-> (running_p2p|pre_copy_p2p): .* ok"; at "$2" "-> (running_p2p|pre_copy_p2p): .* ok") | sort | tail -1)
	s=$( (at "$1" "-> stop_copy: .* ok"; at "$2" "-> stop_copy: .* ok") | sort | head -1)
	p=$( (at "$3" "-> running_p2p: .* ok"; at "$4" "-> running_p2p: .* ok") | sort | tail -1)
	r=$( (at "$3" "-> running: .* ok"; at "$4" "-> running: .* ok") | sort | head -1)
	check "sources quiesced ($q) before any stop_copy ($s)" [ -n "$q" ] && [[ $q < $s ]]
	check "destinations in running_p2p ($p) before any running ($r)" [ -n "$p" ] && [[ $p < $r ]]
}

# migrate_set WHAT ARGS...: vfio-migctl migrate ARGS succeeds and says so.
migrate_set() {
	local what=$1 out
	shift
	out=$("$MIGCTL" migrate "$@" 2>&1) || fail "$what: vfio-migctl migrate: $out"
	echo "info: $out"
	case $out in
	*"migrated a set of 2 devices: "*", P2P barrier kept") ok ;;
	*) fail "$what: summary '$out'" ;;
	esac
}

MA=$(mnt a)
MB=$(mnt b)
MC=$(mnt c)
MD=$(mnt d)

section "vfio_migtest: two into two"
new_device A "$MIGTEST_TYPE"
new_device B "$MIGTEST_TYPE"
new_device C "$MIGTEST_TYPE"
new_device D "$MIGTEST_TYPE"
drv() { echo "/sys/bus/mdev/devices/$1/migtest"; }
start "vfio:$A" "$MA" "vfio:$B" "$MB" "vfio:$C" "$MC" "vfio:$D" "$MD"
echo 1000 > "$(drv "$A")/mutate"
echo 1000 > "$(drv "$B")/mutate"
da=$(cat "$(drv "$A")/digest")
db=$(cat "$(drv "$B")/digest")
check "the sources differ" [ "$da" != "$db" ]
migrate_set "migtest" "$MA=$MC" "$MB=$MD"
mnt_state_is "$MA" stop "A after the set"
mnt_state_is "$MC" running "C after the set"
eq "driver: A" "$(cat "$(drv "$A")/state")" STOP
eq "driver: D" "$(cat "$(drv "$D")/state")" RUNNING
eq "C holds A's state" "$(cat "$(drv "$C")/digest")" "$da"
eq "D holds B's state" "$(cat "$(drv "$D")/digest")" "$db"
barrier_kept "$MA" "$MB" "$MC" "$MD"

section "vfio_migtest: save | load of the set"
echo running > "$MA/state"
echo running > "$MB/state"
echo 1000 > "$(drv "$A")/mutate"
da=$(cat "$(drv "$A")/digest")
# load maps each device by the name the stream gives its source.
name() { sed -n 's/^device: //p' "$1/status"; }
out=$("$MIGCTL" save --output - "$MA" "$MB" 2>"$T/save.err" |
	"$MIGCTL" load --run --input - "$(name "$MB")=$MD" "$(name "$MA")=$MC" 2>&1) ||
	fail "save | load: $out $(cat "$T/save.err")"
echo "info: $out"
eq "C holds A's new state" "$(cat "$(drv "$C")/digest")" "$da"
eq "D holds B's" "$(cat "$(drv "$D")/digest")" "$db"
mnt_state_is "$MD" running "D after load --run"

stop_daemon

if [ -n "$MTTY_KO" ]; then
	section "mtty: two into two"
	MTYPE=$MTTY_PARENT/mdev_supported_types/mtty-1
	OPEN=
	[ "$MIGTEST_KERNEL" = 6.12-iommufd ] && OPEN=,cdev
	new_device E "$MTYPE"
	new_device F "$MTYPE"
	new_device G "$MTYPE"
	new_device H "$MTYPE"
	# mtty-scr opens the device itself: before the daemon holds it.
	"$SCR" "$E" 0x5a || fail "writing E's scratch register"
	"$SCR" "$F" 0xa5 || fail "writing F's scratch register"
	"$SCR" "$G" 0 && "$SCR" "$H" 0 || fail "clearing the destinations' registers"
	start "vfio:$E$OPEN" "$MA" "vfio:$F$OPEN" "$MB" "vfio:$G$OPEN" "$MC" "vfio:$H$OPEN" "$MD"
	for m in "$MA" "$MB" "$MC" "$MD"; do echo 1 > "$m/reset"; done
	migrate_set "mtty" "$MA=$MC" "$MB=$MD"
	mnt_state_is "$MA" stop "E after the set"
	mnt_state_is "$MD" running "H after the set"
	barrier_kept "$MA" "$MB" "$MC" "$MD"
	for m in "$MA" "$MB"; do echo 1 > "$m/reset"; done
	stop_daemon
	eq "G holds E's scratch register" "$("$SCR" "$G")" 0x5a
	eq "H holds F's scratch register" "$("$SCR" "$H")" 0xa5
fi

finish
