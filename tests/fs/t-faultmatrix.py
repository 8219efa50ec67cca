#!/usr/bin/env python3
# The fault matrix: every (from, to) pair of states on a sim device of
# every feature set, with a failure injected through sim/fail at each arc
# of the path, through a real mount.  The expected paths come from the
# kernel's table below, not from our migstate.c, so a wrong next-step
# table in the daemon fails here.  Environment as lib.sh: MIGFSD, and
# MIGFS_VALGRIND=1 to run the daemon under valgrind.
import errno, glob, os, re, shutil, signal, subprocess, sys, tempfile, time

# vfio_from_fsm_table of drivers/vfio/vfio_main.c (6.2+): row = current
# state, column = requested state, cell = the next direct arc; error in a
# cell means blocked.
KERNEL_TABLE = """
cur          stop        running      pre_copy     pre_copy_p2p stop_copy    resuming     running_p2p
stop         stop        running_p2p  running_p2p  running_p2p  stop_copy    resuming     running_p2p
running      running_p2p running      pre_copy     running_p2p  running_p2p  running_p2p  running_p2p
pre_copy     running     running      pre_copy     pre_copy_p2p pre_copy_p2p running      running
pre_copy_p2p running_p2p running_p2p  pre_copy     pre_copy_p2p stop_copy    running_p2p  running_p2p
stop_copy    stop        stop         error        error        stop_copy    stop         stop
resuming     stop        stop         stop         stop         stop         resuming     stop
running_p2p  stop        running      running      pre_copy_p2p stop         stop         running_p2p
"""
_rows = [line.split() for line in KERNEL_TABLE.strip().splitlines()]
STATES = _rows[0][1:]
NEXT = {row[0]: dict(zip(STATES, row[1:])) for row in _rows[1:]}

# The kernel's state_flags_table: the features a state needs beyond stop_copy.
NEEDS = {"running_p2p": {"p2p"}, "pre_copy": {"pre_copy"},
         "pre_copy_p2p": {"p2p", "pre_copy"}}

# The flag sets the kernel allows, each with and without the dirty log
# (which must not change the state machine).
FEATURE_SETS = [f + d for d in ("", "+dirty")
                for f in ("stop_copy", "stop_copy+p2p", "stop_copy+pre_copy",
                          "stop_copy+p2p+pre_copy")]

# Injected errnos, taken in turn: the writer always sees EIO (ABI 3.2),
# last_error names the one the device gave.
INJECT = ["EIO", "ENOMEM", "EBUSY", "ETIMEDOUT", "EPROTO", "ENODEV"]


def has(feats, state):
    return NEEDS.get(state, set()) <= set(feats.split("+"))


def states_line(feats, cur):
    """What `states` shows (ABI 3.4): the set in its order, cur bracketed."""
    order = ["running", "stop", "stop_copy", "resuming", "running_p2p",
             "pre_copy", "pre_copy_p2p"]
    words = [f"[{s}]" if s == cur else s for s in order if has(feats, s)]
    return " ".join(words + (["[error]"] if cur == "error" else [])) + "\n"


def kernel_path(feats, cur, new):
    """vfio_mig_get_next_state() applied until new: the list of states
    from cur to new, or None when the kernel refuses the request."""
    if not has(feats, cur) or not has(feats, new):
        return None
    path = [cur]
    while cur != new:
        nxt = NEXT[cur][new]
        while nxt != "error" and not has(feats, nxt):
            nxt = NEXT[nxt][new]
        if nxt == "error":
            return None
        path.append(nxt)
        cur = nxt
    return path


PASSED = FAILED = 0


def ok():
    global PASSED
    PASSED += 1


def fail(msg):
    global FAILED
    FAILED += 1
    print("FAIL: " + msg, file=sys.stderr)


def eq(what, got, want):
    if got == want:
        ok()
    else:
        fail(f"{what}: got {got!r}, want {want!r}")


def werr(path, text):
    """Write text as `echo` does: "ok", or the errno's name."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    except OSError as e:
        return ename(e.errno)
    try:
        os.write(fd, text.encode() + b"\n")
        return "ok"
    except OSError as e:
        return ename(e.errno)
    finally:
        os.close(fd)


def ename(err):
    """The name the daemon uses (EOPNOTSUPP and ENOTSUP are one value)."""
    return "EOPNOTSUPP" if err == errno.EOPNOTSUPP else errno.errorcode[err]


def cat(path):
    with open(path) as f:
        return f.read()


def status(d, key):
    m = re.search(rf"^{key}: (.*)$", cat(f"{d}/status"), re.M)
    return m.group(1) if m else None


def log_tail(d, n):
    """The last n events of `log`, without their timestamps."""
    return [l.split(" ", 1)[1] for l in cat(f"{d}/log").splitlines()[-n:]]


class Daemon:
    def __init__(self, tmp, feats):
        self.dir = os.path.join(tmp, feats)
        os.mkdir(self.dir)
        self.errlog = os.path.join(tmp, feats + ".log")
        self.vglog = os.path.join(tmp, "valgrind." + feats + ".%p")
        cmd = [os.environ["MIGFSD"], "-f", f"sim:fm,size=4K,features={feats}",
               self.dir]
        if os.environ.get("MIGFS_VALGRIND") == "1":
            cmd = ["valgrind", "--quiet", "--error-exitcode=99",
                   "--leak-check=full", "--errors-for-leak-kinds=definite",
                   "--log-file=" + self.vglog] + cmd
        with open(self.errlog, "w") as err:
            self.proc = subprocess.Popen(cmd, stderr=err)
        deadline = time.monotonic() + 30
        while not os.path.exists(f"{self.dir}/state"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.stderr.write(cat(self.errlog))
                raise SystemExit(f"FAIL: daemon did not mount {self.dir}")
            time.sleep(0.1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait()
        eq(f"{self.dir}: daemon exit status after SIGTERM", rc, 0)
        if rc == 99:
            for f in glob.glob(self.vglog.replace("%p", "*")):
                sys.stderr.write(cat(f))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["umount", "-l", self.dir], stderr=subprocess.DEVNULL)


def save_stream(d):
    """A whole stop_copy stream of this device, for leaving resuming."""
    eq(f"{d}: reset", werr(f"{d}/reset", "1"), "ok")
    eq(f"{d}: to stop_copy", werr(f"{d}/state", "stop_copy"), "ok")
    try:
        with open(f"{d}/data", "rb") as f:
            stream = f.read()
    except OSError as e:
        fail(f"{d}: reading the stream: {e}")
        return b""
    eq(f"{d}: stream length", str(len(stream)), cat(f"{d}/data_size").strip())
    return stream


def enter(d, state, stream):
    """Reset, disarm, and move to state (loading stream in resuming, so
    that resuming -> stop can succeed).  False if that failed."""
    if werr(f"{d}/sim/fail", "none") != "ok" or werr(f"{d}/reset", "1") != "ok":
        return False
    if werr(f"{d}/state", state) != "ok":
        return False
    if state == "resuming":
        with open(f"{d}/data", "wb") as f:
            f.write(stream)
    return cat(f"{d}/state") == state + "\n"


def check_ok(d, feats, frm, to, path, stream):
    name = f"[{feats}] {frm} -> {to}"
    if not enter(d, frm, stream):
        return fail(f"{name}: could not enter {frm}")
    eq(f"{name}: write", werr(f"{d}/state", to), "ok")
    eq(f"{name}: state", cat(f"{d}/state"), to + "\n")
    eq(f"{name}: states", cat(f"{d}/states"), states_line(feats, to))
    want = f"transition {frm} -> {to}: {len(path) - 1} arcs, "
    got = log_tail(d, 1)[0]
    if got.startswith(want) and got.endswith(", ok"):
        ok()
    else:
        fail(f"{name}: log says {got!r}, want {want}..., ok")


def check_fault(d, feats, frm, to, path, arc, inject, stream):
    """Fail the arc path[arc-1] -> path[arc]; the device is left in error."""
    src, dst = path[arc - 1], path[arc]
    name = f"[{feats}] {frm} -> {to}, {src} -> {dst} fails with {inject}"
    if not enter(d, frm, stream):
        return fail(f"{name}: could not enter {frm}")
    eq(f"{name}: arm", werr(f"{d}/sim/fail", f"{dst} {inject}"), "ok")
    eq(f"{name}: write", werr(f"{d}/state", to), "EIO")
    eq(f"{name}: state", cat(f"{d}/state"), "error\n")
    eq(f"{name}: states", cat(f"{d}/states"), states_line(feats, "error"))
    eq(f"{name}: session ended", status(d, "session"), "none")
    eq(f"{name}: injection consumed", cat(f"{d}/sim/fail"), "none\n")
    why = (f"{src} -> {dst} failed, device is in error: "
           f"{os.strerror(getattr(errno, inject))} ({inject})")
    eq(f"{name}: last_error", status(d, "last_error"), why)
    got = status(d, "last_transition")
    if re.fullmatch(rf"{frm} -> {to}, {arc - 1} arcs, \d+ us, EIO", got or ""):
        ok()
    else:
        fail(f"{name}: last_transition: {got!r}")
    want = [f"error: {why}", f"transition {frm} -> {to}: {arc - 1} arcs, "]
    got = log_tail(d, 2)
    if got[0] == want[0] and got[1].startswith(want[1]) and got[1].endswith(", EIO"):
        ok()
    else:
        fail(f"{name}: log ends {got}, want {want[0]!r}, {want[1]!r}..., EIO")
    # In error every request is refused, and the cause is kept.
    eq(f"{name}: request in error", werr(f"{d}/state", to), "EINVAL")
    eq(f"{name}: still error", cat(f"{d}/state"), "error\n")
    eq(f"{name}: cause kept", status(d, "last_error"), why)
    # Reset recovers, and the same request then succeeds.
    eq(f"{name}: reset", werr(f"{d}/reset", "1"), "ok")
    eq(f"{name}: after reset", cat(f"{d}/state"), "running\n")
    eq(f"{name}: log of reset", log_tail(d, 1), ["reset: the device is in running"])
    eq(f"{name}: request after reset", werr(f"{d}/state", to), "ok")
    eq(f"{name}: state after reset", cat(f"{d}/state"), to + "\n")


def check_refused(d, feats, frm, to, stream):
    name = f"[{feats}] {frm} -> {to} (refused)"
    if not enter(d, frm, stream):
        return fail(f"{name}: could not enter {frm}")
    if to == "error":
        want, why = "EINVAL", "error cannot be requested"
    elif not has(feats, to):
        want, why = "EOPNOTSUPP", f"device has no {to} state"
    else:
        want, why = "EINVAL", f"{frm} -> {to} is not a valid arc"
    why += f": {os.strerror(getattr(errno, want))} ({want})"
    transitions = status(d, "transitions")
    eq(f"{name}: write", werr(f"{d}/state", to), want)
    eq(f"{name}: state unchanged", cat(f"{d}/state"), frm + "\n")
    eq(f"{name}: states unchanged", cat(f"{d}/states"), states_line(feats, frm))
    eq(f"{name}: last_error", status(d, "last_error"), why)
    eq(f"{name}: log", log_tail(d, 1), [f"error: {why}"])
    eq(f"{name}: transitions", status(d, "transitions"), transitions)


def run(d, feats):
    stream = save_stream(d)
    k = 0
    for frm in (s for s in STATES if has(feats, s)):
        for to in STATES + ["error"]:
            path = kernel_path(feats, frm, to) if to != "error" else None
            if path is None:
                case(check_refused, d, feats, frm, to, stream)
                continue
            case(check_ok, d, feats, frm, to, path, stream)
            for arc in range(1, len(path)):
                case(check_fault, d, feats, frm, to, path, arc,
                     INJECT[k % len(INJECT)], stream)
                k += 1


def case(check, d, feats, frm, to, *args):
    """One case; a file that cannot be read or written fails only it."""
    try:
        check(d, feats, frm, to, *args)
    except OSError as e:
        fail(f"[{feats}] {frm} -> {to}: {check.__name__}: {e}")


def main():
    if os.geteuid() != 0:
        print("SKIP: faultmatrix: needs root (it mounts and unmounts)")
        sys.exit(77)
    if not os.path.exists("/dev/fuse"):
        print("no /dev/fuse: cannot mount")
        sys.exit(77)
    if os.environ.get("MIGFS_VALGRIND") == "1" and not shutil.which("valgrind"):
        print("SKIP: faultmatrix: valgrind is not installed")
        sys.exit(77)
    # meson's timeout sends SIGTERM: clean up on it as on any exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    tmp = tempfile.mkdtemp(prefix="migfs-faultmatrix.")
    os.chmod(tmp, 0o755)
    daemons = []
    try:
        for feats in FEATURE_SETS:
            dm = Daemon(tmp, feats)
            daemons.append(dm)
            run(dm.dir, feats)
            dm.stop()
    finally:
        for dm in daemons:
            dm.kill()
        if FAILED:
            for f in glob.glob(tmp + "/*.log"):
                sys.stderr.write(cat(f))
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
