#!/bin/bash
# Install the Debian packages vfio-migfs builds, tests and packages with,
# and fetch the kernel lane's kernels (as root).  The tests themselves
# never install anything: what is missing makes them skip.
set -eu
pkgs=(gcc libc6-dev pkg-config meson ninja-build libfuse3-dev fuse3
      libcmocka-dev libnl-genl-3-dev libmount-dev libisal-dev libxxhash-dev
      valgrind procps util-linux python3
      libsystemd-dev lowdown bash-completion
      dpkg-dev debhelper lintian
      clang libclang-rt-14-dev)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps.sh: missing packages (${missing[*]}); run as root to install them" >&2
		exit 1
	fi
	echo "deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The kernel lane's tools and kernels (downloaded once, then cached).
exec "$(dirname "$0")/../tests/kernel/lane-fetch.sh"
