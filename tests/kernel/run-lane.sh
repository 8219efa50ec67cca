#!/bin/bash
# Kernel lane: boot Debian's own kernel under QEMU (TCG) with the host root
# shared read-only, load vfio + the vfio_migtest test driver, and run a guest
# script there as root.
#
#   run-lane.sh BUILDDIR GUEST_SCRIPT [ARGS...]
#   run-lane.sh --prepare
#
# --prepare (scripts/deps.sh runs it as root) installs the packages and
# fetches the kernel the lane needs; nothing else ever runs apt-get, so
# under meson test whatever is missing is a SKIP.
# Exit status: the guest script's; 77 (SKIP) when QEMU, a package or the
# kernel is missing; 1 when
# the guest hangs, panics, leaves a kernel WARN/BUG, or the lane cannot be set
# up. Environment knobs: LANE_TIMEOUT (s, default 300), LANE_CACHE (kernel
# cache, default /var/cache/vfio-migfs-lane), LANE_MEM (MiB, default 1024).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
t0=$EPOCHREALTIME

log() { awk -v t="$EPOCHREALTIME" -v t0="$t0" -v m="$*" 'BEGIN { printf "lane: [%5.1fs] %s\n", t - t0, m }' >&2; }
die() { echo "lane: FAILURE: $*" >&2; exit 1; }
skip() { echo "SKIP: kernel lane: $*" >&2; exit 77; }

prepare=
if [ "${1:-}" = --prepare ]; then
	prepare=1
else
	[ $# -ge 2 ] || die "usage: run-lane.sh BUILDDIR GUEST_SCRIPT [ARGS...] | --prepare"
	builddir=$(realpath "$1")
	script=$(realpath "$2")
	shift 2
	[ -r "$script" ] || die "guest script $script not readable"
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

apt_updated=
apt_update() {
	[ -n "$prepare" ] || return 1
	[ -n "$apt_updated" ] && return 0
	apt_updated=1
	log "apt-get update"
	apt-get update -qq >&2
}

apt_install() {
	[ -n "$prepare" ] || skip "$* not installed (scripts/deps.sh installs it)"
	[ "$(id -u)" = 0 ] || return 1
	apt_update || return 1
	log "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# The kernel ABI that Debian's linux-image-amd64 currently points at.
kernel_abi() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-/ { sub("linux-image-", "", $2); print $2; exit }'
}

# ---- packages ----
if ! command -v qemu-system-x86_64 >/dev/null; then
	apt_install qemu-system-x86 || true
	command -v qemu-system-x86_64 >/dev/null ||
		skip "qemu-system-x86_64 is not installed and could not be installed"
fi

cache=${LANE_CACHE:-/var/cache/vfio-migfs-lane}
mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] ||
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/vfio-migfs-lane

# Refresh the package lists before fetching anything for a new ABI: stale
# lists may name an image the mirror no longer has.
K=$(kernel_abi)
if [ -z "$K" ] || ! installed "linux-headers-$K" || [ ! -e "$cache/$K/.extracted" ]; then
	apt_update || true
	K=$(kernel_abi)
fi
[ -n "$K" ] || [ -n "$prepare" ] || skip "no kernel ABI in the package lists (run scripts/deps.sh)"
[ -n "$K" ] || die "cannot find the kernel ABI linux-image-amd64 depends on (apt-cache depends)"

need=()
installed busybox-static || need+=(busybox-static)
installed kmod || need+=(kmod)
installed cpio || need+=(cpio)
installed "linux-headers-$K" || need+=("linux-headers-$K")
command -v make >/dev/null || need+=(make)
command -v xz >/dev/null || need+=(xz-utils)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
	apt_install "${need[@]}" || die "cannot install ${need[*]}"
fi
log "kernel $K, $(qemu-system-x86_64 --version | head -1)"

# ---- kernel image and modules, extracted (never installed) ----
# Installing linux-image-* pulls in initramfs-tools and costs minutes.
kdir=$cache/$K
mkdir -p "$kdir"
exec 9>"$kdir/.lock"
flock 9

if [ ! -e "$kdir/.extracted" ]; then
	[ -n "$prepare" ] || skip "linux-image-$K not fetched (scripts/deps.sh fetches it)"
	log "fetching linux-image-$K"
	rm -rf "$kdir/root" "$kdir/dl"
	mkdir -p "$kdir/dl"
	chmod 777 "$kdir/dl"	# apt-get download drops privileges to _apt
	(cd "$kdir/dl" && apt-get download -qq "linux-image-$K" >&2) ||
		die "apt-get download linux-image-$K failed"
	dpkg-deb -x "$kdir"/dl/linux-image-"$K"_*.deb "$kdir/root"
	rm -rf "$kdir/dl"
	depmod -b "$kdir/root" "$K"
	touch "$kdir/.extracted"
fi
modroot=$kdir/root/lib/modules/$K

# Debian's kernel has CONFIG_PVH, so QEMU can boot the bare ELF vmlinux and
# skip SeaBIOS and XZ decompression under TCG (about 3 s per boot).
kernel=$kdir/root/boot/vmlinuz-$K
if [ ! -e "$kdir/.vmlinux-tried" ]; then
	log "extracting vmlinux for PVH boot"
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$kernel" | head -1 | cut -d: -f1 || true)
	if [ -n "$off" ] &&
	   { tail -c +$((off + 1)) "$kernel" || true; } |	# xz stops early: SIGPIPE
	   xz -dc --single-stream > "$kdir/vmlinux.tmp" 2>/dev/null &&
	   [ "$(head -c 4 "$kdir/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
		mv "$kdir/vmlinux.tmp" "$kdir/vmlinux"
	else
		rm -f "$kdir/vmlinux.tmp"
		log "no vmlinux; booting the bzImage"
	fi
	touch "$kdir/.vmlinux-tried"
fi
[ -e "$kdir/vmlinux" ] && kernel=$kdir/vmlinux
flock -u 9
[ -z "$prepare" ] || exit 0

# ---- test driver, cached by content ----
lane=$builddir/kernel-lane
mkdir -p "$lane"
exec 8>"$lane/.lock"
flock 8
src=$here/migtest
hash=$( (echo "$K"; cat "$src/vfio_migtest.c" "$src/Makefile") | sha256sum | cut -c1-16)
ko=$lane/migtest-$hash/vfio_migtest.ko
if [ ! -e "$ko" ]; then
	log "building vfio_migtest.ko"
	rm -rf "$lane"/migtest-*
	mkdir -p "$lane/migtest-$hash"
	cp "$src/vfio_migtest.c" "$src/Makefile" "$lane/migtest-$hash/"
	make -s -C "/usr/src/linux-headers-$K" M="$lane/migtest-$hash" modules >&2 ||
		die "building vfio_migtest.ko failed"
fi
flock -u 8

# Each run gets its own directory; failed runs are kept for an hour.
find "$lane" -maxdepth 1 -name 'run.*' -mmin +60 -exec rm -rf {} +
run=$(mktemp -d "$lane/run.XXXXXX")
out=$run/out
mkdir "$out"

# ---- initramfs: busybox + the modules needed to reach the 9p root ----
initdir=$run/initramfs
mkdir -p "$initdir"/{bin,mods,proc,sys,dev,newroot}
cp /bin/busybox "$initdir/bin/busybox"
for c in sh mount umount insmod mkdir cat echo poweroff chroot sync grep; do
	ln -s busybox "$initdir/bin/$c"
done
# Order matters: busybox insmod does not resolve dependencies.
initmods="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
	netfs fscache 9pnet 9pnet_virtio 9p overlay"
for m in $initmods; do
	f=$(find "$modroot/kernel" -name "$m.ko" -print -quit)
	[ -n "$f" ] || die "module $m.ko missing from linux-image-$K"
	cp "$f" "$initdir/mods/"
done
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
export MIGTEST_KO=$(printf %q "$ko")
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

log "booting $(basename "$kernel")"
timeout_s=${LANE_TIMEOUT:-300}
qrc=0
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
	-machine q35,accel=tcg -cpu max -smp 2 -m "${LANE_MEM:-1024}" \
	-display none -monitor none -serial stdio -no-reboot -nic none \
	-kernel "$kernel" -initrd "$run/initramfs.cpio.gz" \
	-append "console=ttyS0 rdinit=/init panic=-1 loglevel=4 tsc=reliable" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$out",mount_tag=out,security_model=none \
	-virtfs local,path="$kdir/root/lib/modules",mount_tag=mods,security_model=none,readonly=on \
	</dev/null >"$out/console.log" 2>&1 || qrc=$?
log "guest done (qemu exit $qrc)"
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
