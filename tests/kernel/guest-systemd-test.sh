#!/bin/bash
# Guest script for run-lane.sh with LANE_SYSTEMD=1, under systemd as PID 1:
# what an operator does after installing, and what the tests without
# systemd as PID 1 cannot show.  The installed vfio-migfsd@.service,
# enabled and started with `systemctl enable --now`, serves a config of two
# sim devices; the journal has a device's transition with its fields; stop
# unmounts.
#   guest-systemd-test.sh BUILDDIR
set -u
B=$1
failed=0
# check WHAT COMMAND...: the command must succeed.
check() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failed=1; fi
}

[ "$(cat /proc/1/comm)" = systemd ] || { echo "FAIL: PID 1 is $(cat /proc/1/comm)"; exit 1; }
echo "systemd $(systemctl --version | head -1), up $(cut -d' ' -f1 /proc/uptime) s"
meson install -C "$B" --no-rebuild --quiet > /dev/null || { echo "FAIL: meson install"; exit 1; }
unit=vfio-migfsd@lane.service
# Where the installed unit looks for its instance's config.
confdir=$(sed -n 's|^ConditionPathExists=\(.*\)/%i\.conf$|\1|p' /lib/systemd/system/vfio-migfsd@.service)
mkdir -p "$confdir"
printf 'mount sim:a,features=p2p+pre_copy+dirty a\nmount sim:b b\n' > "$confdir/lane.conf"
systemctl daemon-reload
check "systemd-analyze verify" systemd-analyze verify "$unit"
t0=$(cut -d' ' -f1 /proc/uptime)
check "systemctl enable --now" systemctl enable --now "$unit"
echo "enable --now took $(awk -v t0="$t0" '{ print $1 - t0 }' /proc/uptime) s"
check "enabled" test "$(systemctl is-enabled "$unit")" = enabled
check "active (READY=1 came)" test "$(systemctl is-active "$unit")" = active
M=/run/vfio-migfs/lane
check "mount a serves" test "$(cat "$M/a/state")" = running
check "mount b serves" test "$(cat "$M/b/state")" = running
status=$(systemctl show -p StatusText --value "$unit")
echo "StatusText: $status"
check "STATUS= names the devices" grep -q "sim:a" <<< "$status"
echo stop > "$M/a/state"
sleep 1
journalctl -t vfio-migfsd --no-pager -o cat | sed 's/^/journal: /'
check "journal: the transition with FROM= and TO=" \
	sh -c "journalctl -t vfio-migfsd -o verbose --no-pager | grep -q '^ *FROM=running' &&
	       journalctl -t vfio-migfsd -o verbose --no-pager | grep -q '^ *TO=stop'"
check "journal: DEVICE=sim:a" \
	sh -c "journalctl -t vfio-migfsd -o verbose --no-pager | grep -q '^ *DEVICE=sim:a'"
check "systemctl stop" systemctl stop "$unit"
check "inactive after stop" test "$(systemctl is-active "$unit")" = inactive
check "unmounted after stop" sh -c "! grep -q ' $M/a ' /proc/mounts"
check "journal: the stop" sh -c "journalctl -u $unit --no-pager -o cat | grep -q Stopped"
exit $failed
