#!/bin/bash
# Fetch everything the kernel lane needs before any test runs (scripts/deps.sh
# calls this; run-lane.sh never touches apt):
# - the host tools, with apt-get install;
# - per kernel selector, Debian's image, headers and kbuild of the ABI its
#   metapackage points at, with apt-get download and dpkg-deb -x into the
#   lane's cache (never installed: linux-image-* pulls in initramfs-tools and
#   costs minutes), the modules the guest loads decompressed, and the ELF
#   vmlinux for a PVH boot;
# - for 6.12, from linux-source-6.12 of the same version: samples/vfio-mdev/
#   mtty.c (upstream's migratable sample driver; Debian builds no samples),
#   and what the 6.12-iommufd rebuild compiles (drivers/iommu, drivers/vfio,
#   lib/interval_tree.c).
# A warm cache costs one apt-cache query per kernel and no download.
#
#   lane-fetch.sh [SELECTOR...]	(default: every kernel the lane knows)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lane-host.sh"

log() { echo "lane-fetch: $*" >&2; }
die() { log "$*"; exit 1; }

apt_updated=
apt_update() {
	[ -n "$apt_updated" ] || [ "$(id -u)" != 0 ] && return 0
	apt_updated=1
	log "apt-get update"
	apt-get update -qq >&2 || true
}

install_tools() {
	local t need=()
	for t in $lane_host_tools; do
		command -v "${t%%:*}" >/dev/null || need+=("${t#*:}")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		log "missing ${need[*]}: run as root to install them (the kernel lane skips meanwhile)"
		exit 0
	fi
	apt_update
	log "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${need[@]}" >/dev/null
}

# The ABI (e.g. 6.12.117+deb12-amd64) the metapackage depends on.
image_abi() {
	apt-cache depends "$1" 2>/dev/null |
		awk '/Depends: linux-image-/ { sub("linux-image-", "", $2);
			sub("-unsigned$", "", $2); print $2; exit }'
}

# The modules the guest loads (lane-init.sh, lane_setup) and what they need.
guest_modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
	virtio_pci netfs fscache 9pnet 9pnet_virtio 9p overlay
	vfio vfio_iommu_type1 mdev fuse"

# Debian 6.12 ships .ko.xz: modprobe of those takes 5-10 s each under TCG,
# against 0.3 s for a plain .ko.
decompress_modules() {
	local root=$1 K=$2 ko
	depmod -b "$root" "$K"
	for ko in $(modprobe -d "$root" -S "$K" -a --show-depends $guest_modules |
		    awk '$1 == "insmod" && $2 ~ /\.ko\.xz$/ { print $2 }' | sort -u); do
		xz -d "$ko"
	done
	depmod -b "$root" "$K"
}

# The ELF vmlinux out of the bzImage (xz on 6.1, zstd on 6.12): QEMU boots it
# through PVH and skips SeaBIOS and the decompression, ~3 s a boot.
extract_vmlinux() {
	local image=$1 out=$2 off
	for magic in '\xfd7zXZ\x00:xz' '\x28\xb5\x2f\xfd:zstd'; do
		off=$(LC_ALL=C grep -obUaP "${magic%%:*}" "$image" | head -1 | cut -d: -f1 || true)
		[ -n "$off" ] || continue
		# The payload is followed by other data: stop at the end of the
		# first stream and judge the output, not the exit status.
		{ tail -c +$((off + 1)) "$image" || true; } |
			"${magic#*:}" -dc 2>/dev/null > "$out.tmp" || true
		if [ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
			mv "$out.tmp" "$out"
			return 0
		fi
	done
	rm -f "$out.tmp"
	log "no vmlinux in $image; the lane boots the bzImage"
}

# linux-source's tarball is 147 MB of xz: one pass takes out what the lane
# builds at test time.
fetch_source() {
	local ver=$2 dir=$3 top=linux-source-$1
	log "fetching $top=$ver"
	rm -rf "$dir"
	mkdir -p "$dir/dl"
	chmod 777 "$dir/dl"
	(cd "$dir/dl" && apt-get download -qq "$top=$ver" >&2) ||
		die "apt-get download $top=$ver failed"
	dpkg-deb --fsys-tarfile "$dir"/dl/"$top"_*.deb |
		tar -xO "./usr/src/$top.tar.xz" | xz -dc |
		tar -x -C "$dir" --strip-components=1 "$top/samples/vfio-mdev/mtty.c" \
			"$top/drivers/iommu" "$top/drivers/vfio" "$top/lib/interval_tree.c"
	rm -rf "$dir/dl"
	touch "$dir/.ready"
}

unpack_kernel() {
	local sel=$1 K=$2 dir=$3 dl ver pkgs
	log "fetching Linux $K for the $sel lane"
	rm -rf "$dir"
	dl=$dir/dl
	mkdir -p "$dl" "$dir/root"
	chmod 777 "$dl"		# apt-get download drops privileges to _apt
	pkgs=("linux-image-$K" "linux-headers-$K"
	      $(apt-cache depends "linux-headers-$K" |
		awk '/Depends: linux-(headers|kbuild)-/ { print $2 }'))
	(cd "$dl" && apt-get download -qq "${pkgs[@]}" >&2) ||
		die "apt-get download ${pkgs[*]} failed"
	ver=$(dpkg-deb -f "$dl"/linux-headers-"$K"_*.deb Version)
	for deb in "$dl"/*.deb; do
		dpkg-deb -x "$deb" "$dir/root"
	done
	rm -rf "$dl"
	# The headers' Makefile includes the -common one by an absolute path.
	sed -i "s|^include /usr/src/|include $dir/root/usr/src/|" \
		"$dir/root/usr/src/linux-headers-$K/Makefile"
	decompress_modules "$dir/root" "$K"
	extract_vmlinux "$dir/root/boot/vmlinuz-$K" "$dir/vmlinux"
	echo "$ver" > "$dir/version"
	touch "$dir/.ready"
}

fetch_kernel() {
	local sel=$1 meta K
	meta=$(lane_meta "$sel") || die "unknown kernel '$sel' (known: $lane_kernels)"
	K=$(image_abi "$meta")
	# Refresh stale package lists before fetching a new ABI: they may name
	# an image the mirror no longer has.
	if [ -z "$K" ] || [ ! -e "$cache/$K/.ready" ]; then
		apt_update
		K=$(image_abi "$meta")
	fi
	[ -n "$K" ] || die "cannot find the image $meta depends on (apt-cache depends)"
	[ -e "$cache/$K/.ready" ] || unpack_kernel "$sel" "$K" "$cache/$K"
	if [ "$sel" = 6.12 ] && [ ! -e "$cache/$K/src/.ready" ]; then
		fetch_source "$sel" "$(cat "$cache/$K/version")" "$cache/$K/src"
	fi
	ln -sfn "$K" "$cache/$sel"
}

install_tools
cache=$(lane_cache_dir)
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
# shellcheck disable=SC2086
[ $# -gt 0 ] || set -- $lane_kernels
for sel in "$@"; do
	fetch_kernel "$sel"
done
# An ABI no selector points at any more is dead weight (hundreds of MB).
for d in "$cache"/*/; do
	d=$(basename "$d")
	[ -L "$cache/$d" ] && continue
	for sel in $lane_kernels; do
		[ "$(readlink "$cache/$sel" 2>/dev/null)" = "$d" ] && continue 2
	done
	log "removing $d (no lane kernel uses it)"
	rm -rf "${cache:?}/$d"
done
