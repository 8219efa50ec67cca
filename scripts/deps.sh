#!/bin/bash
# Install the Debian packages vfio-migfs builds, tests and packages with,
# and prepare the kernel lane (as root).  The tests themselves never
# install anything: what is missing makes them skip.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
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
if [ "$(id -u)" != 0 ]; then
	[ ${#missing[@]} -eq 0 ] && exit 0
	echo "deps.sh: missing packages (${missing[*]}); run as root to install them" >&2
	exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$here/../tests/kernel/run-lane.sh" --prepare
