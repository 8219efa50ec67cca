# shellcheck shell=bash
# Sourced by the example scripts beside it.  They drive devices through
# the files of their vfio-migfsd mounts and nothing else (docs/ABI.md),
# with echo, cat and test, and sleep, od and dd where they need them.

# The devices a failed migration must put back, added by a script as it
# first changes them: the sources run again, the destinations (which may
# hold part of a state) are reset.
SOURCES=()
DESTS=()

# die MESSAGE: one line on stderr, exit 1.
die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

# usage ARGS: the command line was wrong: exit 2.
usage() {
	echo "usage: ${0##*/} $*" >&2
	exit 2
}

# put FILE VALUE: write VALUE to FILE with echo.  On failure WHY is the
# error in words (what the shell would have printed after the last ': ').
put() {
	WHY=$( { echo "$2" >"$1"; } 2>&1) && return 0
	WHY=${WHY##*: }
	return 1
}

# copy FROM TO [MIBS]: FROM's bytes into TO, to the end (a 0-byte read),
# or MIBS MiB at most.  WHY on failure, as for put.
copy() {
	if [ $# = 3 ]; then
		WHY=$(dd if="$1" of="$2" bs=1M count="$3" iflag=fullblock conv=notrunc \
			status=none 2>&1)
	else
		WHY=$(cat "$1" 2>&1 >"$2")
	fi && return 0
	WHY=${WHY##*: }
	return 1
}

# state DIR: the device's state, or die.
state() {
	cat "$1/state" 2>/dev/null || die "$1: not a vfio-migfs mount"
}

# idle DIR STATE...: DIR must be in one of STATEs (nothing is changed yet).
idle() {
	dir=$1
	now=$(state "$dir") || exit 1
	shift
	need=
	for want in "$@"; do
		[ "$now" = "$want" ] && return 0
		need="${need:+$need or }$want"
	done
	die "$dir is in $now; this needs $need (nothing was changed)"
}

# fail MESSAGE: a migration failed: put SOURCES and DESTS back, say so in
# one line, exit 1.
fail() {
	msg=$*
	for dir in "${DESTS[@]}"; do
		put "$dir/reset" 1
		msg="$msg; $dir was reset"
	done
	for dir in "${SOURCES[@]}"; do
		# From error only a reset leaves (ABI 3.1).
		put "$dir/state" running || put "$dir/reset" 1
		msg="$msg; $dir is in $(cat "$dir/state" 2>/dev/null || echo '(unknown)')"
	done
	die "$msg"
}

# enter DIR STATE: the write returns once DIR is in STATE (ABI 3.2).
enter() {
	put "$1/state" "$2" || fail "$1: $2: $WHY"
}

# resume DST: the destination takes the state it was given at resuming
# -> stop (EIO there: an incomplete or damaged stream), then runs.
resume() {
	put "$1/state" stop || fail "$1 refused the state: $WHY"
	enter "$1" running
}
