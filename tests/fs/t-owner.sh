#!/bin/bash
# A user who is not the owner cannot stall the owner (issue 19, items 2
# and 4): with -o allow_other anyone may stat and list every file, but
# stat and readdir do no device work for a caller who may not read the
# file, requests piling up on one device leave workers to the others,
# another user has one request served at a time, and one user's open
# files are bounded.
. "$(dirname "$0")/lib.sh"

A=$(mnt a)
B=$(mnt b)
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
# A device that holds its lock for 3 s at each write of resume data.
start -o allow_other sim:a,size=64M,load_us=3000000 "$A" sim:b "$B"

# hold_lock: A's lock is held for 3 s from now (a write of resume data,
# which the device then refuses).
hold_lock() {
	echo 1 > "$A/reset"
	echo resuming > "$A/state"
	head -c 4096 /dev/zero > "$A/data" 2>/dev/null &
	HOLDER=$!
	sleep 0.3
}

# quick DESCRIPTION CMD...: in the background, the command must succeed
# within a second; done DESCRIPTION collects its verdict.
quick() {
	local what=$1
	shift
	timeout 1 "$@" > /dev/null 2>&1 &
	eval "Q_$((++NQ))=\$!"
	QWHAT[$NQ]=$what
}
NQ=0
declare -a QWHAT
collect() {
	for i in $(seq "$NQ"); do
		eval "local pid=\$Q_$i"
		if wait "$pid"; then ok; else fail "${QWHAT[$i]}"; fi
	done
	NQ=0
}

cat "$A/state" "$A/sim/digest" > /dev/null	# their lengths are known

# stat of a file its caller may not read answers without the device: not
# even while a load holds the device's lock.  (--cached=never: the kernel
# keeps an answer a second; statx(AT_STATX_FORCE_SYNC) always asks.)
hold_lock
quick "stat of state as nobody, device busy" $NOBODY stat --cached=never "$A/state"
quick "stat of sim/digest as nobody, device busy" $NOBODY stat --cached=never "$A/sim/digest"
quick "stat of data as nobody, device busy" $NOBODY stat --cached=never "$A/data"
quick "ls of the directory as nobody, device busy" $NOBODY ls "$A" "$A/sim"
quick "ls of the directory, device busy" ls "$A" "$A/sim" "$A/dirty"
collect
wait "$HOLDER"

# What nobody is told: the length of the value's last rendering, not
# rendered again for it; the owner's stat renders, and nobody's answer is
# kept by the kernel for no one.
SIZE="stat --cached=never -c %s"
echo 1 > "$A/reset"
echo stop > "$A/state"
eq "st_size of state to the owner" "$($SIZE "$A/state")" 5
echo 1 > "$A/reset"
eq "st_size of state to nobody: its last rendering" "$($NOBODY $SIZE "$A/state")" 5
eq "st_size of state to the owner after it" "$($SIZE "$A/state")" 8
eq "st_size of state to nobody, rendered since" "$($NOBODY $SIZE "$A/state")" 8
eq "st_size of sim/digest to nobody" "$($NOBODY $SIZE "$A/sim/digest")" 17
# Readers, the owner and anyone for 0444 files, get the value's length.
eq "st_size of status to nobody" "$($NOBODY $SIZE "$A/status")" "$(cat "$A/status" | wc -c)"

# Readers piling up on a busy device (8 readers of status, each waiting
# for the lock) leave a worker to the other device: the owner's
# transition there does not wait for the load.
hold_lock
readers=""
for _ in $(seq 8); do
	$NOBODY cat "$A/status" > /dev/null &
	readers="$readers $!"
done
sleep 0.3
quick "the owner's transition on B while A is jammed" sh -c "echo stop > $B/state"
quick "and B's status" cat "$B/status"
# ... and nobody has one request served at a time, so the owner's on A
# itself that need no device lock are served too.
quick "the owner's features of A while A is jammed" cat "$A/features"
quick "the owner's ls -l of A/dirty while A is jammed" ls -l "$A/dirty"
collect
wait $readers "$HOLDER"
eq "B's state" "$(cat "$B/state")" stop
echo running > "$B/state"

# item 4: stat of log with many open files of the mount is O(1), and one
# user's open files are bounded: EMFILE past 1024 on a mount, for anyone
# but the daemon's own user.
ulimit -n 8192	# the client's own limit must not come first
got=$($NOBODY /usr/bin/python3 - "$A/status" <<'PY'
import errno, os, sys
fds = []
try:
    for _ in range(5000):
        fds.append(os.open(sys.argv[1], os.O_RDONLY))
    print("no limit")
except OSError as e:
    print(len(fds), errno.errorcode[e.errno])
PY
)
eq "open files of one user" "$got" "1024 EMFILE"
eq "the owner is not bound" "$(python3 - "$A/status" <<'PY'
import os, sys
fds = [os.open(sys.argv[1], os.O_RDONLY) for _ in range(2000)]
print(len(fds))
PY
)" 2000
eq "nobody again, once closed" "$($NOBODY cat "$A/features")" "$(cat "$A/features")"

# stat of log is the longest view an open file has, now from a heap of
# the open files by origin: views opened, read from 0 (which moves their
# origin up), closed and left behind by floods, in a random order.
got=$(python3 - "$B/log" "$B/state" <<'PY'
import os, random, sys, time
log, state = sys.argv[1:]
def ask(f, *a):
    time.sleep(0.02)    # the kernel keeps an answer for the rest of a tick
    return f(*a)
def view_size(fd):
    return ask(os.lseek, fd, 0, os.SEEK_END)
def flood(n):
    fd = os.open(state, os.O_WRONLY)
    for i in range(n):
        os.pwrite(fd, b"stop\n" if i % 2 == 0 else b"running\n", 0)
    os.close(fd)
random.seed(19)
views, wrong = [], 0
for step in range(80):
    r = random.random()
    if r < 0.35 or not views:
        views.append(os.open(log, os.O_RDONLY))
    elif r < 0.55:
        os.close(views.pop(random.randrange(len(views))))
    elif r < 0.75:
        os.pread(random.choice(views), 160, 0)
    else:
        flood(random.randrange(200, 3000))
    fresh = os.open(log, os.O_RDONLY)
    want = max(view_size(v) for v in views + [fresh])
    os.close(fresh)
    got = ask(os.stat, log).st_size
    if got != want:
        wrong += 1
        print(f"step {step}: stat {got}, longest view {want}", file=sys.stderr)
print(wrong)
PY
)
eq "stat of log: the longest view, 80 random steps" "$got" 0

stop_daemon
finish
