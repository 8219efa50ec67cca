#!/bin/sh
# md2man.sh IN.md OUT NAME SECTION VERSION DESCRIPTION DOCDIR: a man page
# from one of the docs, which stay the source of truth.  The document's
# title gives way to NAME, its "##" sections become the page's sections,
# and docs/X.md, a file of the source tree, becomes DOCDIR/X.md.
set -eu
in=$1 out=$2 name=$3 section=$4 version=$5 desc=$6 docdir=$7
upper=$(echo "$name" | tr a-z A-Z)
{
	# Names like running_p2p stay whole: no hyphenation (HY: the man
	# macros' own setting, which each paragraph and table cell restores).
	printf '.nr HY 0\n'
	printf '.TH %s %s "" "vfio-migfs %s" "vfio-migfs"\n' "$upper" "$section" "$version"
	printf '.nh\n'
	printf '.SH NAME\n%s \\- %s\n' "$name" "$desc"
	printf '.SH DESCRIPTION\n'
	sed -e '1{/^# /d}' -e 's/^## /# /' -e 's/^### /## /' \
	    -e "s|docs/\([a-z-]*\.md\)|$docdir/\1|g" "$in" | lowdown -Tman --parse-no-intraemph
} >"$out"
