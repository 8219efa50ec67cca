#!/bin/bash
# Guest script for run-lane.sh: `vfio-migctl check` on real VFIO drivers.
# vfio_migtest (every kernel) keeps every rule it can reach; loaded with
# broken_reset=1 it breaks rule 3 and the check says so.  Upstream's mtty
# (6.12: the group; 6.12-iommufd: the cdev) breaks rule 1 (a fresh open
# finds the state its last user left) and rule 9 (a damaged stream is
# accepted after a refused write): the check names both with evidence,
# and the console shows no oops (run-lane.sh stops at one).
#   guest-check-test.sh VFIO_MIGCTL [VFIO_MIGFSD]
[ $# -ge 1 ] || { echo "usage: guest-check-test.sh VFIO_MIGCTL [VFIO_MIGFSD]" >&2; exit 2; }
MIGCTL=$1
MIGFSD=${2:-$MIGTEST_BUILDDIR/fsd/vfio-migfsd}
. "$(dirname "$0")/../fs/lib.sh"
. "$MIGTEST_LIB"

OPEN=
[ "$MIGTEST_KERNEL" = 6.12-iommufd ] && OPEN=,cdev

# new_device VAR TYPE: an mdev of TYPE (its mdev_supported_types directory); VAR its UUID.
new_device() {
	local u
	u=$(migtest_uuid)
	echo "$u" > "$2/create" || { echo "FAIL: cannot create an mdev of $2" >&2; exit 1; }
	printf -v "$1" %s "$u"
}

# verdicts FILE: "id:result ..." of a --json report (no python: TCG).
verdicts() {
	grep -o '"id": [0-9]*, "name": "[^"]*", "result": "[a-z]*"' "$1" |
		sed 's/"id": \([0-9]*\), "name": "[^"]*", "result": "\([a-z]*\)"/\1:\2/' | tr '\n' ' '
}

# got FILE ID: the got text of rule ID in a --json report.
got() {
	grep -o "\"id\": $2, [^}]*" "$1" | sed -n 's/.*"got": "\(\([^"\\]\|\\.\)*\)".*/\1/p'
}

MA=$(mnt a)
MB=$(mnt b)

section "vfio_migtest: every rule it can reach passes"
new_device A "$MIGTEST_TYPE"
new_device B "$MIGTEST_TYPE"
start "vfio:$A$OPEN" "$MA" "vfio:$B$OPEN" "$MB"
RC=0
"$MIGCTL" check --runs 3 --peer "$MB" "$MA" > "$T/migtest.txt" 2>&1 || RC=$?
cat "$T/migtest.txt"
eq "migtest: exit status" "$RC" 0
check "migtest: no rule fails" grep -q ' 0 failed, ' "$T/migtest.txt"
check "migtest: back in running, reset" grep -q 'the device is in running, reset$' "$T/migtest.txt"
mnt_state_is "$MA" running "migtest afterwards"
mnt_state_is "$MB" running "migtest peer afterwards"

section "vfio_migtest broken_reset=1: rule 3 fails, and only it"
echo 1 > /sys/module/vfio_migtest/parameters/broken_reset
RC=0
"$MIGCTL" check --json --runs 1 --peer "$MB" "$MA" > "$T/broken.json" 2>&1 || RC=$?
echo 0 > /sys/module/vfio_migtest/parameters/broken_reset
echo "info: broken_reset: $(verdicts "$T/broken.json")"
echo "info: broken_reset: rule 3: $(got "$T/broken.json" 3)"
eq "broken_reset: exit status" "$RC" 1
case " $(verdicts "$T/broken.json")" in
*" 3:fail "*) ok ;;
*) fail "broken_reset: rule 3 did not fail" ;;
esac
eq "broken_reset: one rule fails" "$(verdicts "$T/broken.json" | grep -o ':fail' | wc -l)" 1
case $(got "$T/broken.json" 3) in
*"state: stop"*) ok ;;
*) fail "broken_reset: rule 3's evidence: $(got "$T/broken.json" 3)" ;;
esac
mnt_state_is "$MA" running "broken_reset afterwards"
stop_daemon

if [ -n "$MTTY_KO" ]; then
	section "mtty: its deviations named, the rest passes"
	MTYPE=$MTTY_PARENT/mdev_supported_types/mtty-1
	new_device E "$MTYPE"
	new_device F "$MTYPE"
	# Left in stop by its last user (never in resuming: mtty oopses).
	start "vfio:$E$OPEN" "$MA"
	echo stop > "$MA/state"
	stop_daemon
	start "vfio:$E$OPEN" "$MA" "vfio:$F$OPEN" "$MB"
	RC=0
	"$MIGCTL" check --runs 3 --peer "$MB" "$MA" > "$T/mtty.txt" 2>&1 || RC=$?
	cat "$T/mtty.txt"
	"$MIGCTL" check --json --runs 1 --peer "$MB" "$MA" > "$T/mtty.json" 2>&1
	eq "mtty: exit status" "$RC" 1
	check "mtty: rule 1 fails, with the daemon's line" \
		grep -qE '^ 1  fresh-open +FAIL .*opened in stop \(left there by its last user\)' "$T/mtty.txt"
	check "mtty: rule 9 fails: the refused write's bytes were kept" \
		grep -qE '^ 9  refused-write +FAIL  a write was refused .*yet resuming -> stop succeeded' "$T/mtty.txt"
	check "mtty: rule 8 fails for the corrupted stream alone" \
		grep -qE '^ 8  damaged-stream +FAIL  accepted: 60 bytes written, resuming -> stop ok' "$T/mtty.txt"
	check "mtty: rule 8: corrupted, not truncated or trailing" grep -qE \
		'notes:  truncated \(first half\) refused by resuming -> stop \(EIO\); trailing \(16 bytes past its end\) refused by a write' \
		"$T/mtty.txt"
	for r in 2 3 4 5 6 7 10; do
		check "mtty: rule $r does not fail" grep -qE "^ ?$r  [a-z0-9-]+ +(PASS|SKIP)" "$T/mtty.txt"
	done
	mnt_state_is "$MA" running "mtty afterwards"
	mnt_state_is "$MB" running "mtty peer afterwards"
	stop_daemon
fi

finish
