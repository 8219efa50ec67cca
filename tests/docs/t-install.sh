#!/bin/bash
# What is installed names what is installed: every path of vfio-migfs that
# the man pages, the example config, the systemd unit and --help give (a
# document, the config directory) is there after the install, for
# `meson install` under its prefix and for the Debian package.
#   t-install.sh BUILDDIR        meson install into a scratch DESTDIR
#   t-install.sh / FILE...       the installed FILEs (package-test.sh, dpkg -L)
set -u
if [ -d "${1:-}/meson-info" ]; then
	root=$(mktemp -d /tmp/migfs-install.XXXXXX)
	trap 'rm -rf "$root"' EXIT
	meson install -C "$1" --destdir "$root" --no-rebuild --quiet >/dev/null ||
		{ echo "FAIL: meson install"; exit 1; }
	mapfile -t files < <(cd "$root" && find . ! -type d | sed 's|^\.||')
else
	root=${1%/}
	shift
	files=("$@")
fi
failed=0

# The text a FILE shows its reader (man pages as man would: roff's \- is
# a '-', fonts are dropped), and --help of the installed daemon.
texts() {
	local f
	for f in "${files[@]}"; do
		case $f in
		*/man/man[1-8]/*|*/vfio-migfs/example.conf|*/vfio-migfsd@.service)
			zcat -f "$root$f" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' |
				sed "s|^|$f: |" ;;
		*/sbin/vfio-migfsd)
			"$root$f" --help | sed "s|^|$f --help: |" ;;
		esac
	done
}

while IFS=$'\t' read -r from path; do
	case $path in
	/run/*|/mnt/*|/srv/*) continue ;;	# made at run time, or the operator's
	esac
	if [ -e "$root$path" ]; then
		continue
	fi
	case $path in
	*.conf) [ -d "$root${path%/*}" ] && continue ;;	# a config the operator writes
	esac
	echo "FAIL: ${from%: } names $path, which is not installed"
	failed=1
done < <(texts | grep -oE "^[^:]*( --help)?: |(^|[[:space:](=\"'])/[^[:space:])\"',;:]*" |
	 awk '/: $/ { from = $0; next } /vfio-migfs/ { sub(/^[^\/]*/, ""); sub(/\.$/, "");
		print from "\t" $0 }' | sort -u)
[ "$failed" = 0 ] && echo "every path named is installed (${#files[@]} files)"
exit $failed
