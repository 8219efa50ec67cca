# Host-side helpers shared by lane-fetch.sh (which fills the kernel cache)
# and run-lane.sh (which only reads it). Sourced by bash.

# The kernels the lane knows, by selector, and the Debian metapackage each
# one follows (its Depends names the image of the current ABI).
# 6.12-iommufd is Debian's 6.12 with iommufd, vfio and vfio_iommu_type1
# rebuilt from its linux-source with CONFIG_IOMMUFD, CONFIG_IOMMUFD_DRIVER
# and CONFIG_VFIO_DEVICE_CDEV (test-only; run-lane.sh builds them).
lane_kernels="6.1 6.12"
lane_meta() {
	case $1 in
	6.1)	echo linux-image-amd64 ;;
	6.12)	echo linux-image-6.12-amd64 ;;
	*)	return 1 ;;
	esac
}
lane_base() {
	case $1 in
	6.12-iommufd)	echo 6.12 ;;
	*)		echo "$1" ;;
	esac
}

# The cache of extracted kernels: $LANE_CACHE, else /var/cache when it is
# writable, else the user's cache. $cache/SELECTOR links to $cache/$K, which
# holds root/ (image, headers and kbuild unpacked), vmlinux and src/. Its
# own kernels/ directory: the lane's earlier runner, still on branches,
# re-extracts $K directly under vfio-migfs-lane/ on its own terms.
lane_cache_dir() {
	local c=${LANE_CACHE:-/var/cache/vfio-migfs-lane/kernels}
	if mkdir -p "$c" 2>/dev/null && [ -w "$c" ]; then
		echo "$c"
	else
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/vfio-migfs-lane/kernels"
	fi
}

# Host tools the runner needs; lane-fetch.sh installs their packages.
lane_host_tools="qemu-system-x86_64:qemu-system-x86
	/bin/busybox:busybox-static depmod:kmod cpio:cpio xz:xz-utils zstd:zstd make:make gcc:gcc
	flock:util-linux"
