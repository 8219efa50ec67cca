#!/bin/bash
# Every device option the parsers know (the spec_opt tables of backend/)
# is in vfio-migfsd --help and in vfio-migfsd(8): ",NAME=" (",NAME" for a
# flag such as cdev).
#   t-options.sh BACKEND_DIR VFIO_MIGFSD MANPAGE
set -u
backend=$1 migfsd=$2 page=$3
help=$("$migfsd" --help)
man=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$page")	# roff's escapes away
failed=0 n=0
while read -r name flag; do
	n=$((n + 1))
	want=",$name="
	[ "$flag" = 1 ] && want=",$name"
	[[ $help == *"$want"* ]] || { echo "FAIL: --help does not give $want"; failed=1; }
	[[ $man == *"$want"* ]] || { echo "FAIL: ${page##*/} does not give $want"; failed=1; }
done < <(grep -oh '{ "[a-z_]*", opt_[a-z_]*, [01] }' "$backend"/*.c |
	 sed 's/{ "\([a-z_]*\)", opt_[a-z_]*, \([01]\) }/\1 \2/' | sort -u)
[ "$n" -gt 0 ] || { echo "FAIL: no option tables in $backend"; exit 1; }
[ "$failed" = 0 ] && echo "$n options, each in --help and ${page##*/}"
exit $failed
