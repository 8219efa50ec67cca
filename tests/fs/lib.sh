# Shared helpers for the filesystem tests: start daemons on scratch
# mountpoints, check results, and always clean up.  Sourced by t-*.sh.
# Environment: MIGFSD (the daemon), MIGFS_VALGRIND=1 to run it under
# valgrind (errors fail the test when the daemon exits).
set -u

# On a packager's build machine the tests that mount skip (77) instead of
# failing.  A test that mounts nothing sets NO_MOUNTS=1 before sourcing.
if [ "${MIGFS_VALGRIND:-0}${MIGCTL_VALGRIND:-0}" != 00 ] && ! command -v valgrind >/dev/null; then
	echo "SKIP: $(basename "$0"): valgrind is not installed"
	exit 77
fi
if [ -z "${NO_MOUNTS:-}" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: $(basename "$0"): needs root (it mounts and unmounts)"
		exit 77
	fi
	if ! { : <>/dev/fuse; } 2>/dev/null; then
		echo "SKIP: $(basename "$0"): /dev/fuse cannot be opened"
		exit 77
	fi
fi

T=$(mktemp -d /tmp/migfs-test.XXXXXX)
chmod 755 "$T"	# other users must reach the mounts
PIDS=""
FAILED=0
PASSED=0

fail() {
	echo "FAIL: $*" >&2
	FAILED=$((FAILED + 1))
}

ok() {
	PASSED=$((PASSED + 1))
}

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
	local what=$1
	shift
	if "$@"; then ok; else fail "$what"; fi
}

# eq DESCRIPTION GOT WANT
eq() {
	if [ "$2" = "$3" ]; then ok; else fail "$1: got '$2', want '$3'"; fi
}

# Whether this is the test's own shell ($$).  bash 5.2 runs the EXIT trap
# also in a forked child that a signal reaches before it execs (`cmd &
# kill $!`, a daemon stopped at start-up): such a child must leave $T and
# the mounts alone.  Its $BASHPID may still be the parent's then (bash
# sets it after the fork): the kernel says which process this is.
main_shell() {
	local pid
	read -r pid _ < /proc/self/stat
	[ "$pid" = $$ ]
}

cleanup() {
	main_shell || return 0
	if [ "$FAILED" != 0 ] && [ -s "$T/daemon.log" ]; then
		echo "--- daemon log:" >&2
		cat "$T/daemon.log" >&2
	fi
	# Whatever is still mounted below $T ($(mnt x) runs in a subshell,
	# so the mounts cannot be listed as they are made).
	# (/proc/self/mounts escapes a space, a tab or a backslash as \ooo.)
	awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/self/mounts |
		while read -r m; do umount -l "$(printf '%b' "$m")" 2>/dev/null; done
	for p in $PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

# as_nobody PROGRAM [ARGS...]: PROGRAM as user nobody, also from a checkout
# in a private directory (mktemp -d, /root), which that user cannot enter:
# a PROGRAM it cannot reach runs from a copy in $T, and ThreadSanitizer's
# suppressions and reports (TSAN_OPTIONS, as scripts/test.sh sets them)
# move to $T/nobody, whose reports are shown on stderr.  Killed after
# 120 s (status 124).
as_nobody() {
	local prog o opts=() rc=0
	prog=$(command -v "$1") || { echo "as_nobody: no program $1" >&2; return 127; }
	shift
	install -d -m 755 "$T/nobody"
	install -d -m 700 -o nobody -g nogroup "$T/nobody/tsan"
	if ! setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$prog"; then
		install -m 755 "$prog" "$T/nobody/"
		prog=$T/nobody/${prog##*/}
	fi
	IFS=' :' read -ra opts <<< "${TSAN_OPTIONS-}"
	for o in "${!opts[@]}"; do
		case ${opts[o]} in
		suppressions=*)
			install -m 644 "${opts[o]#*=}" "$T/nobody/tsan.supp"
			opts[o]=suppressions=$T/nobody/tsan.supp ;;
		log_path=*) opts[o]=log_path=$T/nobody/tsan/report ;;
		esac
	done
	TSAN_OPTIONS=${opts[*]} timeout -k 5 120 \
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$prog" "$@" || rc=$?
	if [ -n "$(ls "$T/nobody/tsan")" ]; then
		cat "$T/nobody/tsan"/* >&2
		rm -f "$T/nobody/tsan"/*
	fi
	return $rc
}

# daemon_cmd: the daemon, wrapped in valgrind when asked.
daemon_cmd() {
	if [ "${MIGFS_VALGRIND:-0}" = 1 ]; then
		echo valgrind --quiet --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite --log-file="$T/valgrind.%p" \
			"$MIGFSD"
	else
		echo "$MIGFSD"
	fi
}

# mnt NAME: a fresh mountpoint path.
mnt() {
	mkdir -p "$T/$1"
	echo "$T/$1"
}

# start DEVICE DIR [DEVICE DIR ...]: a foreground daemon in the
# background, waited for until every mount answers.  Sets DPID.
start() {
	$(daemon_cmd) -f "$@" 2>"$T/daemon.log" &
	DPID=$!
	PIDS="$PIDS $DPID"
	local dir
	for dir in "$@"; do
		case $dir in "$T"/*) wait_mounted "$dir" "$DPID" "$T/daemon.log" ;; esac
	done
}

# wait_mounted DIR PID LOG: until DIR answers, for up to 30 s, while PID
# (the daemon, or what runs it) lives; else show LOG and give up.
wait_mounted() {
	local i=0
	until [ -e "$1/state" ]; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$2" 2>/dev/null; then
			cat "$3" >&2
			echo "FAIL: daemon did not mount $1" >&2
			exit 1
		fi
		sleep 0.1
	done
}

# stop_daemon: unmount everything it serves and collect its status.
stop_daemon() {
	kill -TERM "$DPID"
	local rc=0
	wait "$DPID" || rc=$?
	eq "daemon exit status after SIGTERM" "$rc" 0
	if [ "$rc" = 99 ]; then
		cat "$T"/valgrind.* >&2
	fi
}

# werr FILE TEXT: write TEXT with the shell's echo; print the error text
# (strerror) or "ok".
werr() {
	local out
	if out=$( { echo "$2" > "$1"; } 2>&1 ); then
		echo ok
	else
		echo "${out##*: }"
	fi
}

# rerr FILE: read FILE with cat; print the error text or "ok".
rerr() {
	local out
	if out=$(cat "$1" 2>&1 >/dev/null); then
		echo ok
	else
		echo "${out##*: }"
	fi
}

# finish: the closing line, and the exit status.
finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
}
