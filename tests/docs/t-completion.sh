#!/bin/bash
# The bash completions of dist/completion, as bash-completion runs them:
# what they offer, and no variable of theirs left behind in the user's
# shell (words, cword, cur, prev: _init_completion sets them in the
# caller's scope, which must have made them local).
#   t-completion.sh COMPLETION_DIR
dir=$1
lib=/usr/share/bash-completion/bash_completion
[ -r "$lib" ] || { echo "SKIP: bash-completion is not installed"; exit 77; }
. "$lib"
. "$dir/vfio-migfsd"
. "$dir/vfio-migctl"
scratch=$(mktemp -d) && cd "$scratch" && mkdir mnt && touch vm1.conf || exit 1
trap 'rm -rf "$scratch"' EXIT
failed=0

# offers WANT WORD...: completing the last WORD (as bash splits the line:
# ':' and '=' are words of their own) offers WANT, and leaves nothing.
offers() {
	local want=$1 v
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	# (compopt works only when bash itself completes: its complaint aside)
	"$(complete -p "$1" | sed 's/.*-F \([^ ]*\).*/\1/')" 2>/dev/null
	if [ "${COMPREPLY[*]}" != "$want" ]; then
		echo "FAIL: '$COMP_LINE': offers '${COMPREPLY[*]}', want '$want'"
		failed=1
	fi
	for v in words cword cur prev; do
		if declare -p "$v" >/dev/null 2>&1; then
			echo "FAIL: '$COMP_LINE': left \$$v behind"
			failed=1
			unset "$v"
		fi
	done
}

offers "vfio: fd: sim:" vfio-migfsd ""
offers "mnt" vfio-migfsd sim : a ""
offers "vfio: fd: sim:" vfio-migfsd sim : a mnt ""
offers "vm1.conf mnt" vfio-migfsd --config ""
offers "allow_other" vfio-migfsd -o a
offers "status" vfio-migctl st
offers "--json" vfio-migctl status --js
[ "$failed" = 0 ] && echo "every completion as wanted, nothing left behind"
exit $failed
