#!/usr/bin/env python3
# The daemon as a systemd service, without systemd as PID 1: --config,
# sd_notify (READY=1 only once every mount serves, STATUS= naming the
# devices and their states, STOPPING=1 at SIGTERM) through a NOTIFY_SOCKET
# this test reads, and the journal's structured fields through a socket
# this test binds at /run/systemd/journal/socket inside a private mount
# namespace.  Environment as lib.sh: MIGFSD, MIGFS_VALGRIND=1.
import ctypes, os, shutil, signal, socket, struct, subprocess, sys, tempfile, time

CLONE_NEWNS = 0x00020000
passed = failed = 0


def skip(why):
    print("SKIP: service: " + why)
    sys.exit(77)


def check(what, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}{': ' + str(detail) if detail else ''}", file=sys.stderr)


def private_run():
    """A mount namespace of our own with an empty /run for the sockets."""
    if os.geteuid() != 0:
        skip("needs root (mounts and a mount namespace)")
    if not os.path.exists("/dev/fuse"):
        skip("no /dev/fuse")
    if os.environ.get("MIGFS_VALGRIND") == "1" and not shutil.which("valgrind"):
        skip("valgrind is not installed")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS):
        skip("unshare(CLONE_NEWNS): " + os.strerror(ctypes.get_errno()))
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    os.makedirs("/run/systemd/journal")


def listen(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.2)
    return s


def journal_entry(d):
    """One datagram of the native journal protocol: KEY=VALUE lines, or
    KEY, a little-endian 64-bit size and the value, for binary values."""
    fields, i = {}, 0
    while i < len(d):
        nl = d.index(b"\n", i)
        line = d[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k, (size,) = line, struct.unpack("<Q", d[nl + 1:nl + 9])
            v = d[nl + 9:nl + 9 + size]
            i = nl + 9 + size + 1
        fields[k.decode()] = v.decode()
    return fields


def drain(sock, parse, until=None, timeout=10.0):
    """Messages until one satisfies until (or the timeout, or none left)."""
    got, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            got.append(parse(sock.recv(65536)))
        except socket.timeout:
            if until is None:
                break
            continue
        if until and until(got[-1]):
            break
    return got


def fill(sock):
    """Fill sock's queue, then make room for one datagram."""
    tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    tx.setblocking(False)
    try:
        while True:
            tx.sendto(b"FILLER=1", sock.getsockname())
    except BlockingIOError:
        pass
    tx.close()
    sock.recv(64)


def wait_for(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def notify_msg(d):
    return dict(line.split("=", 1) for line in d.decode().splitlines())


def write(path, text):
    try:
        with open(path, "w") as f:
            f.write(text + "\n")
        return 0
    except OSError as e:
        return e.errno


def read(path):
    with open(path) as f:
        return f.read().strip()


def run_daemon(args, env, stderr, cwd=None):
    cmd = [os.environ["MIGFSD"]]
    if os.environ.get("MIGFS_VALGRIND") == "1":
        cmd = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
               "--errors-for-leak-kinds=definite"] + cmd
    return subprocess.Popen(cmd + args, env=env, cwd=cwd,
                            stderr=stderr, stdout=subprocess.DEVNULL)


def service_mode(t, journal, notify):
    """-f with stderr the journal's stream, as the unit runs it."""
    a, b = f"{t}/svc/a", f"{t}/svc/b"
    os.mkdir(f"{t}/svc")
    conf = f"{t}/one.conf"
    with open(conf, "w") as f:
        f.write(f"# two devices\nmount sim:a {a}\n"
                f"mount sim:b,features=p2p svc/b  # no pre_copy\nthreads 2\n")
    err = open(f"{t}/stderr", "w")
    st = os.fstat(err.fileno())
    env = dict(os.environ, NOTIFY_SOCKET="/run/notify",
               JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
    # The notify queue full but for one message: the daemon's second
    # sd_notify() blocks until we read, so READY=1 (after STATUS=) cannot
    # be sent before we look.  Whatever it waits there for, the mounts
    # must already serve.
    fill(notify)
    # In $t, as the unit runs it in its runtime directory: svc/b is there.
    d = run_daemon(["-f", "--config", conf], env, err, cwd=t)
    served = wait_for(lambda: all(os.path.exists(f"{m}/state") for m in (a, b)))
    check("both mounts serve before READY=1 is sent", served)
    msgs = [m for m in drain(notify, notify_msg, lambda m: "READY" in m, 30)
            if "FILLER" not in m]
    check("READY=1 comes", msgs and msgs[-1].get("READY") == "1", msgs)
    check("mountpoints created from the config",
          os.path.isdir(a) and os.path.ismount(a) and os.path.ismount(b))
    status = [m["STATUS"] for m in msgs if "STATUS" in m]
    check("STATUS= names the devices and states before READY=1",
          status and status[-1] == "sim:a running, sim:b,features=p2p running",
          status)

    start = drain(journal, journal_entry)
    serving = {e.get("DEVICE"): e for e in start if "serving" in e["MESSAGE"]}
    check("one start-up line per device", sorted(serving) == ["sim:a", "sim:b,features=p2p"],
          start)
    e = serving.get("sim:a", {})
    check("start-up line fields", e.get("MOUNTPOINT") == a and
          e.get("SYSLOG_IDENTIFIER") == "vfio-migfsd" and e.get("PRIORITY") == "6"
          and "FROM" not in e and "ERRNO" not in e, e)

    check("stop accepted", write(f"{a}/state", "stop") == 0)
    ev = drain(journal, journal_entry, lambda e: "transition" in e["MESSAGE"])
    e = ev[-1] if ev else {}
    check("transition in the journal", e.get("MESSAGE", "").startswith(
        f"{a}: transition running -> stop: "), ev)
    check("transition fields", e.get("DEVICE") == "sim:a" and
          e.get("MOUNTPOINT") == a and e.get("FROM") == "running" and
          e.get("TO") == "stop" and e.get("STATE") == "stop" and
          "ERRNO" not in e, e)
    st_msgs = drain(notify, notify_msg, lambda m: "stop" in m.get("STATUS", ""))
    check("STATUS= follows the state", st_msgs and
          st_msgs[-1].get("STATUS") == "sim:a stop, sim:b,features=p2p running", st_msgs)

    check("pre_copy refused", write(f"{b}/state", "pre_copy") == 95)
    ev = drain(journal, journal_entry, lambda e: "error" in e["MESSAGE"])
    e = ev[-1] if ev else {}
    check("refusal fields", e.get("DEVICE") == "sim:b,features=p2p" and
          e.get("ERRNO") == "95" and e.get("PRIORITY") == "4" and
          "FROM" not in e and "TO" not in e and e.get("STATE") == "running", e)

    d.send_signal(signal.SIGTERM)
    msgs = drain(notify, notify_msg, lambda m: "STOPPING" in m)
    check("STOPPING=1 at SIGTERM", msgs and msgs[-1].get("STOPPING") == "1", msgs)
    check("exit status 0", d.wait(30) == 0)
    err.close()
    text = open(f"{t}/stderr").read()
    check("nothing on stderr when it is the journal's", "transition" not in text, text)


def daemonized(t, journal, notify):
    """Without -f the journal still gets the events, when it listens."""
    a = f"{t}/bg"
    os.mkdir(a)
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    d = run_daemon(["sim:c", a], env, subprocess.PIPE)
    check("daemonized start", d.wait(30) == 0)
    start = drain(journal, journal_entry, lambda e: "serving" in e["MESSAGE"])
    check("daemonized: start-up line in the journal",
          start and start[-1].get("DEVICE") == "sim:c" and
          start[-1].get("MOUNTPOINT") == a, start)
    subprocess.run(["umount", a], check=False)
    gone = drain(journal, journal_entry, lambda e: "unmounted" in e["MESSAGE"])
    check("daemonized: its end in the journal",
          gone and gone[-1]["MESSAGE"] == f"{a}: unmounted", gone)


def foreground(t, journal):
    """-f on a plain stderr: events there, nothing to the journal."""
    a = f"{t}/fg"
    os.mkdir(a)
    err = open(f"{t}/fg.err", "w")
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    d = run_daemon(["-f", "sim:d", a], env, err)
    for _ in range(300):
        if os.path.exists(f"{a}/state"):
            break
        time.sleep(0.1)
    write(f"{a}/state", "stop")
    d.send_signal(signal.SIGTERM)
    d.wait(30)
    text = open(f"{t}/fg.err").read()
    check("foreground: events on stderr",
          f"vfio-migfsd: {a}: transition running -> stop" in text, text)
    left = drain(journal, journal_entry)
    check("foreground: nothing in the journal", not left, left)


def private_dev():
    """A /dev of our own, for a /dev/log the test binds (the host may
    have none): the devices the daemon needs, bound from the real one."""
    os.mkdir("/run/hostdev")
    subprocess.run(["mount", "--bind", "/dev", "/run/hostdev"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/dev"], check=True)
    for name in ("null", "zero", "full", "random", "urandom", "fuse"):
        open(f"/dev/{name}", "w").close()
        subprocess.run(["mount", "--bind", f"/run/hostdev/{name}", f"/dev/{name}"],
                       check=True)
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{i}", f"/dev/{name}")
    os.symlink("/proc/self/fd", "/dev/fd")


def syslog_without_journal(t, journal):
    """Daemonized without a journal: syslog (facility daemon)."""
    os.unlink("/run/systemd/journal/socket")
    private_dev()
    log = listen("/dev/log")
    a = f"{t}/sl"
    os.mkdir(a)
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    d = run_daemon(["sim:e", a], env, subprocess.PIPE)
    check("syslog: daemonized start", d.wait(30) == 0)
    write(f"{a}/state", "stop")
    got = drain(log, lambda b: b.decode(), lambda m: "transition" in m)
    want = f"{a}: transition running -> stop: "
    check("syslog: start-up line and transition, facility daemon, info",
          any(m.startswith("<30>") and f"vfio-migfsd[" in m and
              m.split("]: ", 1)[-1] == f"{a}: serving sim:e, running" for m in got) and
          any(m.startswith("<30>") and want in m for m in got), got)
    subprocess.run(["umount", a], check=False)
    check("syslog: nothing in the journal", not drain(journal, journal_entry))


def refused(f, want, what=None):
    """vfio-migfsd --config f: exit 1 within 10 s, one line starting with want."""
    try:
        r = subprocess.run([os.environ["MIGFSD"], "-f", "--config", f],
                           capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        check(f"config error {what or want!r}", False, "no answer in 10 s")
        return
    lines = r.stderr.splitlines()
    check(f"config error {what or want!r}", r.returncode == 1 and len(lines) == 1 and
          lines[0].startswith("vfio-migfsd: " + want), r.stderr)


def config_errors(t):
    """A bad config is refused with one line naming the file and line,
    before anything is made."""
    f = f"{t}/bad.conf"
    for body, want in ((b"mount sim:a\n", "{f}:1: mount takes DEVICE MOUNTPOINT"),
                       (b"\nthreads 0\n", "{f}:2: --threads takes 1 to 64, not '0'"),
                       (b"# x\n\nfoo bar\n", "{f}:3: unknown statement 'foo'"),
                       (b"allow_other yes\n", "{f}:1: allow_other takes no value"),
                       (b"threads 2\0 junk\n", "{f}:1: a NUL byte"),
                       (b"# ok\nthreads 2\r\n", "{f}:2: a carriage return"),
                       (b"threads\t2\x0b\n", "{f}:1: a control character (0x0b)"),
                       (b"#" + b"x" * 9000 + b"\n", "{f}:1: a line longer than 8192 bytes"),
                       (b"# filler\n" * (2**20 // 9 + 1), "{f}: larger than 1048576 bytes"),
                       (b"mount sim:a,bogus=1 x\n", "{f}:1: sim:a: unknown option 'bogus'"),
                       (b"\nmount sim:a /nonexistent/x\n",
                        "{f}:2: /nonexistent/x: cannot create it: No such file")):
        with open(f, "wb") as fh:
            fh.write(body)
        refused(f, want.format(f=f))
    # A file that never ends, and one whose open never returns.
    refused("/dev/zero", "/dev/zero: not a regular file")
    os.mkfifo(f"{t}/fifo")
    refused(f"{t}/fifo", f"{t}/fifo: not a regular file")
    # Nothing is created for a file refused at a later line, nor left
    # behind by a start that fails after creating it.
    with open(f, "w") as fh:
        fh.write(f"mount sim:a {t}/new1\nmount sim:b {t}/new2\nbogus\n")
    refused(f, f"{f}:3: unknown statement 'bogus'")
    with open(f, "w") as fh:
        fh.write(f"mount sim:a {t}/new1\nmount sim:b,size=0 {t}/new2\n")
    refused(f, f"{f}:2: sim:b: size must be at least 1 byte")
    check("no mountpoint made by a refused config",
          not os.path.exists(f"{t}/new1") and not os.path.exists(f"{t}/new2"),
          os.listdir(t))


def main():
    private_run()
    t = tempfile.mkdtemp(prefix="migfs-service.")
    journal = listen("/run/systemd/journal/socket")
    notify = listen("/run/notify")
    try:
        service_mode(t, journal, notify)
        daemonized(t, journal, notify)
        foreground(t, journal)
        config_errors(t)
        syslog_without_journal(t, journal)
    finally:
        # The namespace, its mounts and $t go with us; daemons may not.
        subprocess.run(f"umount -l {t}/*/* {t}/* 2>/dev/null", shell=True)
        subprocess.run(["rm", "-rf", t])
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
