#!/bin/bash
# Kernel lane: boot one of Debian's own kernels under QEMU (TCG) with the
# host root shared read-only, load vfio + the vfio_migtest test driver (and
# upstream's mtty on 6.12), and run a guest script there as root.
#
#   run-lane.sh [-k KERNEL] BUILDDIR GUEST_SCRIPT [ARGS...]
#
# KERNEL is 6.1 (the default), 6.12, or 6.12-iommufd (6.12 with iommufd,
# vfio and vfio_iommu_type1 rebuilt here with the options Debian leaves
# off: the cdev, /dev/iommu and DMA logging reports). Everything the lane needs is fetched
# beforehand by scripts/deps.sh (tests/kernel/lane-fetch.sh); this script
# installs and downloads nothing. Exit status: the guest script's; 77 (SKIP)
# when a prerequisite is missing; 1 when the guest hangs, panics, prints a
# kernel BUG/Oops/WARNING on its console (QEMU is stopped at once), or the
# lane cannot be set up. Environment knobs: LANE_SYSTEMD=1 (systemd as PID 1
# runs the command, see lane-init.sh), LANE_TIMEOUT (s, default 300),
# LANE_CACHE (kernel cache, default /var/cache/vfio-migfs-lane/kernels), LANE_MEM
# (MiB, default 1024).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
t0=$EPOCHREALTIME

log() { awk -v t="$EPOCHREALTIME" -v t0="$t0" -v m="$*" 'BEGIN { printf "lane: [%5.1fs] %s\n", t - t0, m }' >&2; }
die() { echo "lane: FAILURE: $*" >&2; exit 1; }
skip() { echo "SKIP: kernel lane: $*" >&2; exit 77; }

kernel_sel=6.1
if [ "${1:-}" = -k ]; then
	kernel_sel=${2:-}
	shift 2 || true
fi
[ $# -ge 2 ] || die "usage: run-lane.sh [-k KERNEL] BUILDDIR GUEST_SCRIPT [ARGS...]"
builddir=$(realpath "$1")
script=$(realpath "$2")
shift 2
[ -r "$script" ] || die "guest script $script not readable"

. "$here/lane-host.sh"

# ---- prerequisites: scripts/deps.sh (tests/kernel/lane-fetch.sh) fetches them ----
for t in $lane_host_tools; do
	command -v "${t%%:*}" >/dev/null ||
		skip "${t%%:*} is missing (package ${t#*:}): run scripts/deps.sh as root"
done
lane_meta "$(lane_base "$kernel_sel")" >/dev/null ||
	die "unknown kernel '$kernel_sel' (known: $lane_kernels 6.12-iommufd)"
cache=$(lane_cache_dir)
kdir=$cache/$(lane_base "$kernel_sel")
[ -e "$kdir/.ready" ] || skip "Linux $kernel_sel is not in $cache: run scripts/deps.sh"
K=$(basename "$(readlink -f "$kdir")")
modroot=$kdir/root/lib/modules/$K
headers=$kdir/root/usr/src/linux-headers-$K
kernel=$kdir/root/boot/vmlinuz-$K
[ -e "$kdir/vmlinux" ] && kernel=$kdir/vmlinux
log "kernel $K, $(qemu-system-x86_64 --version | head -1)"

# ---- out-of-tree modules, cached by content ----
lane=$builddir/kernel-lane
mkdir -p "$lane/$kernel_sel"
exec 8>"$lane/.lock"
flock 8

# build_module NAME SOURCE.c [Makefile]: prints the path of NAME.ko built
# against this kernel's headers (a one-line Kbuild when no Makefile is given).
build_module() {
	local name=$1 src=$2 mk=${3:-} hash dir
	hash=$( (echo "$K ${kmake[*]}"; cat "$src" ${mk:+"$mk"}) | sha256sum | cut -c1-16)
	dir=$lane/$kernel_sel/$name-$hash
	if [ ! -e "$dir/$name.ko" ]; then
		log "building $name.ko for $K"
		rm -rf "$lane/$kernel_sel/$name"-*
		mkdir -p "$dir"
		cp "$src" "$dir/"
		if [ -n "$mk" ]; then
			cp "$mk" "$dir/"
		else
			echo "obj-m := $name.o" > "$dir/Kbuild"
		fi
		# Debian's headers ask for BTF of modules, which needs pahole
		# and the exact vmlinux; the lane does not need it.
		make -s -C "$headers" M="$dir" CONFIG_DEBUG_INFO_BTF_MODULES= "${kmake[@]}" modules >&2 ||
			die "building $name.ko for $K failed"
	fi
	echo "$dir/$name.ko"
}
# ---- 6.12-iommufd: the VFIO core rebuilt, and every mdev driver against it ----
# Debian's 6.12 has CONFIG_IOMMUFD off and no CONFIG_IOMMUFD_DRIVER; all
# that needs them is modular, so it is rebuilt from linux-source-6.12 with
# them on. struct vfio_device grows with them: the drivers are built with
# the same flags against the rebuilt vfio's symbols.
rebuild_flags="-DCONFIG_IOMMUFD_MODULE=1 -DCONFIG_IOMMUFD_DRIVER=1 -DCONFIG_VFIO_DEVICE_CDEV=1"
kmake=()
vfio_kos=
rebuild_vfio() {
	local src=$kdir/src dir hash
	[ -e "$src/.ready" ] || skip "no linux-source-6.12 in $kdir/src: run scripts/deps.sh"
	hash=$( (echo "$K $rebuild_flags"; declare -f rebuild_vfio) | sha256sum | cut -c1-16)
	dir=$lane/$kernel_sel/rebuild-$hash
	if [ ! -e "$dir/.built" ]; then
		log "rebuilding iommufd, vfio and vfio_iommu_type1 for $K"
		rm -rf "$lane/$kernel_sel"/rebuild-*
		mkdir -p "$dir/iommu/iommufd" "$dir/vfio"
		cp "$src"/drivers/iommu/*.h "$dir/iommu/"	# ../iommu-priv.h
		cp "$src"/drivers/iommu/iommufd/*.[ch] "$dir/iommu/iommufd/"
		rm "$dir/iommu/iommufd/selftest.c"
		# The span iterators are off in vmlinux; the rest of
		# lib/interval_tree.c is there already (and exported).
		{ echo '#include <linux/interval_tree.h>'
		  awk '/^#ifdef CONFIG_INTERVAL_TREE_SPAN_ITER/ { f = 1; next }
		       f && /^#endif/ { f = 0 } f && !/EXPORT_SYMBOL/' \
			"$src/lib/interval_tree.c"; } > "$dir/iommu/iommufd/span.c"
		cat > "$dir/iommu/iommufd/Kbuild" <<-EOF
		obj-m := iommufd.o
		iommufd-y := device.o fault.o hw_pagetable.o io_pagetable.o ioas.o main.o \
			pages.o vfio_compat.o iova_bitmap.o span.o
		EOF
		cp "$src"/drivers/vfio/*.[ch] "$dir/vfio/"
		cat > "$dir/vfio/Kbuild" <<-EOF
		obj-m := vfio.o vfio_iommu_type1.o
		vfio-y := vfio_main.o device_cdev.o group.o iommufd.o container.o virqfd.o
		EOF
		make -s -C "$headers" M="$dir/iommu/iommufd" CONFIG_DEBUG_INFO_BTF_MODULES= \
			KCFLAGS="$rebuild_flags" modules >&2 &&
		make -s -C "$headers" M="$dir/vfio" CONFIG_DEBUG_INFO_BTF_MODULES= \
			KCFLAGS="$rebuild_flags" \
			KBUILD_EXTRA_SYMBOLS="$dir/iommu/iommufd/Module.symvers" modules >&2 ||
			die "rebuilding iommufd and vfio for $K failed"
		touch "$dir/.built"
	fi
	kmake=(KCFLAGS="$rebuild_flags"
	       KBUILD_EXTRA_SYMBOLS="$dir/iommu/iommufd/Module.symvers $dir/vfio/Module.symvers")
	vfio_kos="$dir/iommu/iommufd/iommufd.ko $dir/vfio/vfio.ko $dir/vfio/vfio_iommu_type1.ko"
}
[ "$kernel_sel" = 6.12-iommufd ] && rebuild_vfio
ko=$(build_module vfio_migtest "$here/migtest/vfio_migtest.c" "$here/migtest/Makefile")
# Upstream's migratable sample driver, straight from linux-source (6.12 only).
mtty_ko=
mtty_src=$kdir/src/samples/vfio-mdev/mtty.c
[ -e "$mtty_src" ] && mtty_ko=$(build_module mtty "$mtty_src")
flock -u 8

# Each run gets its own directory; failed runs are kept for an hour.
find "$lane" -maxdepth 1 -name 'run.*' -mmin +60 -exec rm -rf {} +
run=$(mktemp -d "$lane/run.XXXXXX")
out=$run/out
mkdir "$out"

# ---- initramfs: busybox + the modules needed to reach the 9p root ----
initdir=$run/initramfs
mkdir -p "$initdir"/{bin,mods,proc,sys,dev,newroot}
cp /bin/busybox "$initdir/bin/busybox"	# busybox-static: the guest has no libc yet
for c in sh mount umount insmod mkdir cat echo poweroff chroot sync grep switch_root; do
	ln -s busybox "$initdir/bin/$c"
done
# What reaches the 9p root, in load order (busybox insmod resolves nothing);
# built-in on one kernel, a module on the other.
modprobe -d "$kdir/root" -S "$K" -a --show-depends virtio_pci 9pnet_virtio 9p overlay |
	awk '$1 == "insmod" && !seen[$2]++ { print $2 }' > "$run/initmods"
while read -r f; do
	cp "$f" "$initdir/mods/"
	basename "$f" >> "$initdir/mods/order"
done < "$run/initmods"
[ -s "$initdir/mods/order" ] || die "no 9p modules in linux-image-$K"
cp "$here/lane-init.sh" "$initdir/init"
chmod +x "$initdir/init"
(cd "$initdir" && find . | cpio -o -H newc --quiet | gzip -1) > "$run/initramfs.cpio.gz"

# ---- the command the guest runs ----
if [ -x "$script" ]; then
	set -- "$script" "$@"
else
	set -- /bin/sh "$script" "$@"
fi
quoted=$(printf ' %q' "$@")
cat > "$out/cmd.sh" <<EOF
# generated by run-lane.sh
export MIGTEST_KERNEL=$kernel_sel
export MIGTEST_KO=$(printf %q "$ko")
export MTTY_KO=$(printf %q "$mtty_ko")
export LANE_VFIO_KOS=$(printf %q "$vfio_kos")
export MTTY_PARENT=/sys/class/mdev_bus/mtty
export MIGTEST_LIB=$(printf %q "$here/lane-lib.sh")
export MIGTEST_BUILDDIR=$(printf %q "$builddir")
export MIGTEST_OUT=/tmp/out
export MIGTEST_PARENT=/sys/class/mdev_bus/vfio_migtest
export MIGTEST_TYPE=/sys/class/mdev_bus/vfio_migtest/mdev_supported_types/vfio_migtest-1
. "\$MIGTEST_LIB"
lane_setup || exit 125
cd $(printf %q "$PWD") 2>/dev/null || cd /
$quoted
rc=\$?
lane_teardown || { [ \$rc != 0 ] || rc=1; }
exit \$rc
EOF

# LANE_SYSTEMD=1: systemd as PID 1 runs the command (lane-init.sh).
sd_args=
if [ "${LANE_SYSTEMD:-0}" = 1 ]; then
	[ -x /lib/systemd/systemd ] || skip "LANE_SYSTEMD=1: no /lib/systemd/systemd on this machine"
	sd_args=" lane.systemd"
fi
log "booting $(basename "$kernel")"
timeout_s=${LANE_TIMEOUT:-300}
qrc=0
# loglevel=5 puts WARNING splats (KERN_WARNING) on the console as well.
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
	-machine q35,accel=tcg -cpu max -smp 2 -m "${LANE_MEM:-1024}" \
	-display none -monitor none -serial stdio -no-reboot -nic none \
	-kernel "$kernel" -initrd "$run/initramfs.cpio.gz" \
	-append "console=ttyS0 rdinit=/init panic=-1 loglevel=5 tsc=reliable$sd_args" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$out",mount_tag=out,security_model=none \
	-virtfs local,path="$kdir/root/lib/modules",mount_tag=mods,security_model=none,readonly=on \
	</dev/null >"$out/console.log" 2>&1 &
qpid=$!
# A guest that oopses usually hangs: stop QEMU at the first BUG/Oops/WARNING
# rather than at the timeout.
(grep -a -m1 -E 'BUG:|Oops|WARNING:' > "$run/oops" \
	< <(tail -n +1 -s 0.2 --pid=$qpid -F "$out/console.log" 2>/dev/null) &&
	kill $qpid 2>/dev/null) &
wpid=$!
wait $qpid || qrc=$?
wait $wpid || true
log "guest done (qemu exit $qrc)"
if [ -s "$run/oops" ]; then
	echo "lane: ---- console log ----" >&2
	cat "$out/console.log" >&2
	die "the guest kernel said '$(cat "$run/oops")'; QEMU stopped; console log in $out"
fi
grep -a '^lane-init:' "$out/console.log" >&2 || true

if [ -e "$out/cmd.out" ]; then
	cat "$out/cmd.out"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "lane: FAILURE: guest timed out after ${timeout_s}s" >&2
fi
if [ ! -s "$out/cmd.rc" ]; then
	echo "lane: ---- console log ----" >&2
	cat "$out/console.log" >&2
	die "no exit status from the guest (hang, panic or init failure); output in $run"
fi
rc=$(cat "$out/cmd.rc")
if [ "$rc" != 0 ]; then
	echo "lane: ---- console log ----" >&2
	cat "$out/console.log" >&2
	echo "lane: guest script failed with status $rc; output in $run" >&2
else
	rm -rf "$run"
fi
exit "$rc"
