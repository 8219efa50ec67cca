#!/bin/bash
# package-test.sh: the Debian package as a packager and an administrator
# meet it.  Builds the .deb with dpkg-buildpackage (without rerunning the
# test suite: nocheck), fails on any lintian error, installs it with
# dpkg -i, checks what it installed (man pages, unit, config, completion)
# and runs the demo on the installed programs.  As root: exits 77 (SKIP)
# with the reason where it cannot run.  Removes the package again unless
# it was installed before.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
skip() { echo "SKIP: package: $*"; exit 77; }
fail() { echo "FAIL: package: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (dpkg -i)"
[ -c /dev/fuse ] || skip "no /dev/fuse (the demo mounts)"
for t in dpkg-buildpackage dh lintian lowdown; do
	command -v $t >/dev/null || skip "$t is missing (scripts/deps.sh installs it)"
done
if ! unmet=$(cd "$src" && dpkg-checkbuilddeps -B 2>&1); then
	skip "build dependencies missing (scripts/deps.sh installs them): ${unmet##*: }"
fi

work=$(mktemp -d /tmp/migfs-package.XXXXXX)
installed_before=$(dpkg-query -W -f='${Status}' vfio-migfs 2>/dev/null | grep -c 'ok installed' || true)
cleanup() {
	[ "$installed_before" = 1 ] || dpkg -P vfio-migfs >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# dpkg-buildpackage writes next to the source tree: build a copy.
mkdir "$work/vfio-migfs"
(cd "$src" && git ls-files -z -co --exclude-standard | tar --null -T - --ignore-failed-read -cf -) |
	tar -xf - -C "$work/vfio-migfs"

t0=$EPOCHREALTIME
(cd "$work/vfio-migfs" &&
 DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
	>"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; fail "dpkg-buildpackage failed"; }
t1=$EPOCHREALTIME
deb=$(ls "$work"/vfio-migfs_*.deb)
echo "built $(basename "$deb") in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

lintian --fail-on error --suppress-tags-from-file /dev/null "$deb" ||
	fail "lintian reports errors"
t2=$EPOCHREALTIME
echo "lintian: no errors ($(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }') s)"

dpkg -i "$deb" >/dev/null || fail "dpkg -i failed"
for f in /usr/sbin/vfio-migfsd /usr/bin/vfio-migctl \
	 /lib/systemd/system/vfio-migfsd@.service /etc/vfio-migfs/example.conf \
	 /usr/share/bash-completion/completions/vfio-migfsd \
	 /usr/share/bash-completion/completions/vfio-migctl; do
	[ -e "$f" ] || fail "$f is not installed"
done
for page in vfio-migfsd.8 vfio-migctl.1 vfio-migfs.7 vfio-migfs-stream.5; do
	man -w "${page%.*}" "${page##*.}" >/dev/null 2>&1 ||
		[ -e "/usr/share/man/man${page##*.}/$page.gz" ] || fail "man page $page is not installed"
done
# Completion as bash-completion loads it on demand.
words=$(bash -c '. /usr/share/bash-completion/bash_completion
	_completion_loader vfio-migctl
	COMP_WORDS=(vfio-migctl st); COMP_CWORD=1; COMP_LINE="vfio-migctl st"
	COMP_POINT=${#COMP_LINE}; $(complete -p vfio-migctl | sed "s/.*-F \([^ ]*\).*/\1/")
	echo "${COMPREPLY[*]}"' 2>&1)
[ "$words" = status ] || fail "bash completion of 'vfio-migctl st' gave '$words'"
mapfile -t installed < <(dpkg -L vfio-migfs)
"$src/tests/docs/t-install.sh" / "${installed[@]}" ||
	fail "the installed pages name files the package does not install"
grep -q '^/etc/vfio-migfs/example.conf$' /var/lib/dpkg/info/vfio-migfs.conffiles ||
	fail "example.conf is not a conffile"
if command -v systemd-analyze >/dev/null; then
	# An instance of the template, as systemctl enable would make it.
	mkdir -p "$work/units"
	cp /lib/systemd/system/vfio-migfsd@.service "$work/units/vfio-migfsd@example.service"
	systemd-analyze verify "$work/units/vfio-migfsd@example.service" ||
		fail "systemd-analyze verify reports problems in vfio-migfsd@.service"
	echo "systemd-analyze verify: clean"
	# No more exposed than vfio-migfsd(8) says (2.9).
	systemd-analyze security --offline=true --threshold=29 \
		"$work/units/vfio-migfsd@example.service" >"$work/security.log" 2>&1 ||
		{ cat "$work/security.log" >&2; fail "systemd-analyze security: exposure above 2.9"; }
	tail -1 "$work/security.log"
fi
"$src/scripts/demo.sh" --installed >"$work/demo.log" 2>&1 ||
	{ cat "$work/demo.log" >&2; fail "the demo failed on the installed programs"; }
tail -1 "$work/demo.log"
echo "package: built, lintian clean, installed, demo passed"
