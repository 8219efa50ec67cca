#!/bin/bash
# lib.sh's cleanup acts in the test's own shell only.  bash 5.2 runs the
# EXIT trap also in a forked child that a signal reaches before it execs
# (`cmd & kill $!`): such a child's cleanup removed $T, and unmounted
# and killed what it listed, under the living test (fs-daemon's "SIGTERM
# 0 s into start-up" lost its scratch directory that way).
NO_MOUNTS=1
. "$(dirname "$0")/lib.sh"

for _ in $(seq 300); do
	/bin/true &
	kill -TERM $! 2>/dev/null
	wait 2>/dev/null
	[ -d "$T" ] || break
done
check "\$T outlives 300 jobs signalled before they exec" test -d "$T"
finish
