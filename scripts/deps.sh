#!/bin/bash
# Install the Debian packages vfio-migfs needs (as root).
#   deps.sh          what it builds, tests and packages with, and the
#                    kernel lane's kernels (scripts/test.sh);
#   deps.sh --demo   only what it builds and runs with (scripts/demo.sh).
# The tests themselves never install anything: what is missing makes
# them skip.
set -eu
build=(gcc libc6-dev pkg-config meson ninja-build libfuse3-dev fuse3
       libnl-genl-3-dev libmount-dev libsystemd-dev libisal-dev libxxhash-dev
       lowdown util-linux)
test=(libcmocka-dev valgrind procps python3 bash-completion groff-base bsdextrautils strace
      dpkg-dev debhelper lintian
      clang libclang-rt-14-dev)
pkgs=("${build[@]}")
[ "${1:-}" = --demo ] || pkgs+=("${test[@]}")
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
[ "${1:-}" = --demo ] && exit 0
# The kernel lane's tools and kernels (downloaded once, then cached).
exec "$(dirname "$0")/../tests/kernel/lane-fetch.sh"
