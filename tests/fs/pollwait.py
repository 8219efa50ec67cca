#!/usr/bin/env python3
# pollwait.py [--epoll] FILE TIMEOUT_MS [now|later CMD...]: open FILE, read
# it once (as a watcher does), run CMD before polling (now) or 0.2 s into
# the poll (later), then poll(2) for POLLPRI|POLLIN and print what came
# back: "PRI IN", or "none" on timeout.  --epoll: through epoll(7).
import os, select, subprocess, sys, threading

args = sys.argv[1:]
use_epoll = args[0] == "--epoll"
if use_epoll:
    args = args[1:]
path, timeout = args[0], int(args[1])
fd = os.open(path, os.O_RDONLY)
os.pread(fd, 65536, 0)
if args[2:] and args[2] == "now":
    subprocess.run(args[3:], check=False)
elif args[2:]:
    threading.Timer(0.2, subprocess.run, [args[3:]]).start()
if use_epoll:
    ep = select.epoll()
    ep.register(fd, select.EPOLLPRI | select.EPOLLIN)
    got = ep.poll(timeout / 1000)
    bits = got[0][1] if got else 0
    pri, inn = select.EPOLLPRI, select.EPOLLIN
else:
    p = select.poll()
    p.register(fd, select.POLLPRI | select.POLLIN)
    got = p.poll(timeout)
    bits = got[0][1] if got else 0
    pri, inn = select.POLLPRI, select.POLLIN
names = [n for n, b in (("PRI", pri), ("IN", inn)) if bits & b]
print(" ".join(names) if names else "none")
# Reading from offset 0 re-arms: a second poll waits again (once the
# change, which may move a counter more than once, is over).
if names:
    threading.Event().wait(0.2)
    os.pread(fd, 65536, 0)
    p2 = select.poll()
    p2.register(fd, select.POLLPRI | select.POLLIN)
    print("re-armed" if not p2.poll(50) else "still ready")
