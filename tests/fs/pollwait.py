#!/usr/bin/env python3
# pollwait.py [--epoll|--select] [--in] FILE TIMEOUT_MS [now|later CMD...]:
# open FILE, read it once (as a watcher does), run CMD before waiting (now)
# or 0.2 s into the wait (later), then wait for POLLPRI, as on a sysfs
# attribute (with --in: for POLLIN, as select/epoll before a read, pv and
# asyncio do), through poll(2), epoll(7) or select(2) (readable for
# POLLIN, exceptional for POLLPRI), and print what came back: some of
# "PRI ERR IN", or "none" on timeout.
import os, select, subprocess, sys, threading

args = sys.argv[1:]
how = "poll"
if args[0] in ("--epoll", "--select"):
    how, args = args[0][2:], args[1:]
want_in = args[0] == "--in"
if want_in:
    args = args[1:]
path, timeout = args[0], int(args[1])
fd = os.open(path, os.O_RDONLY)
os.pread(fd, 65536, 0)
if args[2:] and args[2] == "now":
    subprocess.run(args[3:], check=False)
elif args[2:]:
    threading.Timer(0.2, subprocess.run, [args[3:]]).start()


def wait(fd, want_in, timeout_ms):
    """The bits that came back, as (PRI, ERR, IN) booleans."""
    if how == "select":
        r, _, x = select.select([fd] if want_in else [], [], [fd], timeout_ms / 1000)
        return bool(x), False, bool(r)
    if how == "epoll":
        ep = select.epoll()
        ep.register(fd, select.EPOLLIN if want_in else select.EPOLLPRI)
        got = ep.poll(timeout_ms / 1000)
        bits = got[0][1] if got else 0
        return bits & select.EPOLLPRI, bits & select.EPOLLERR, bits & select.EPOLLIN
    p = select.poll()
    p.register(fd, select.POLLIN if want_in else select.POLLPRI)
    got = p.poll(timeout_ms)
    bits = got[0][1] if got else 0
    return bits & select.POLLPRI, bits & select.POLLERR, bits & select.POLLIN


names = [n for n, b in zip(("PRI", "ERR", "IN"), wait(fd, want_in, timeout)) if b]
print(" ".join(names) if names else "none")
# Reading from offset 0 re-arms: a second wait for POLLPRI sleeps again
# (once the change, which may move a counter more than once, is over).
if "PRI" in names:
    threading.Event().wait(0.2)
    os.pread(fd, 65536, 0)
    print("still changed" if any(wait(fd, False, 50)[:2]) else "re-armed")
