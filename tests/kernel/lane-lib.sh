# Helpers for guest scripts of the kernel lane (run-lane.sh). A guest script
# sources "$MIGTEST_LIB"; run-lane.sh exports, in the guest:
#   MIGTEST_PARENT  mdev parent dir (/sys/class/mdev_bus/vfio_migtest)
#   MIGTEST_TYPE    mdev type dir ($MIGTEST_PARENT/mdev_supported_types/vfio_migtest-1)
#   MIGTEST_KO      the vfio_migtest.ko that was loaded
#   MIGTEST_KERNEL  the lane's kernel: 6.1, 6.12 or 6.12-iommufd
#   MTTY_KO         upstream's mtty.ko, loaded too (6.12 only; else empty)
#   MTTY_PARENT     its mdev parent dir (/sys/class/mdev_bus/mtty)
#   MIGTEST_OUT     a directory whose files the host keeps after a failed run
#   MIGTEST_BUILDDIR  the meson build directory, at its host path

# migtest_create UUID: creates a device; prints "SYSFS_DIR GROUP_NUMBER"
migtest_create() {
	echo "$1" > "$MIGTEST_TYPE/create" || return 1
	set -- "/sys/bus/mdev/devices/$1"
	echo "$1 $(basename "$(readlink "$1/iommu_group")")"
}

# migtest_remove UUID
migtest_remove() {
	echo 1 > "/sys/bus/mdev/devices/$1/remove"
}

# migtest_uuid: prints a fresh random UUID
migtest_uuid() {
	cat /proc/sys/kernel/random/uuid
}

# Used by run-lane.sh around the guest script.
lane_setup() {
	# 6.12-iommufd: the rebuilt VFIO core instead of Debian's.
	for m in $LANE_VFIO_KOS; do
		insmod "$m" || { echo "lane: insmod $m failed"; return 1; }
	done
	for m in vfio vfio_iommu_type1 mdev fuse; do
		modprobe "$m" || { echo "lane: modprobe $m failed"; return 1; }
	done
	insmod "$MIGTEST_KO" || { echo "lane: insmod $MIGTEST_KO failed"; return 1; }
	[ -d "$MIGTEST_TYPE" ] || { echo "lane: no $MIGTEST_TYPE"; return 1; }
	[ -z "$MTTY_KO" ] || insmod "$MTTY_KO" || { echo "lane: insmod $MTTY_KO failed"; return 1; }
}

# Removes leftover devices, unloads the driver and fails on any kernel
# warning, oops or lockdep report logged during the run.
lane_teardown() {
	lane_rc=0
	for d in "$MIGTEST_TYPE"/devices/* "$MTTY_PARENT"/mdev_supported_types/*/devices/*; do
		[ -e "$d/remove" ] && echo 1 > "$d/remove"
	done
	rmmod vfio_migtest || { echo "lane: rmmod vfio_migtest failed"; lane_rc=1; }
	[ -z "$MTTY_KO" ] || rmmod mtty || { echo "lane: rmmod mtty failed"; lane_rc=1; }
	if dmesg | grep -qE 'WARNING:|BUG:|Oops|general protection|Call Trace|circular locking|UBSAN'; then
		echo "lane: the kernel logged a warning or oops:"
		dmesg
		lane_rc=1
	fi
	return $lane_rc
}

# section TITLE: a heading with the guest's uptime.
section() { echo "== $1 ($(cut -d' ' -f1 /proc/uptime) s)"; }

# mnt_state_is MNT STATE WHAT: the mount's `state` is STATE.  Builtins
# only: a fork and exec cost tens of ms under TCG.
mnt_state_is() {
	local got
	read -r got < "$1/state"
	eq "$3: state" "$got" "$2"
}
