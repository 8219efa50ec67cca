#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The cost of `vfio-migctl check` (docs/conformance.md).

check.py [SIZE]

Mounts two sims of SIZE bytes (default 64 MiB), one the other's peer, and
times one `vfio-migctl check --peer` at its default settings (5 runs of
every arc and of the load).  Prints "check-64MiB: T s (target < 30 s)".
A benchmark line, not a timed test: the time is reported, never judged;
the status is 1 only when the check itself does not pass on the sane sim.
Needs root (FUSE mounts).  Environment: MIGFSD and MIGCTL.
"""

import os
import subprocess
import sys
import tempfile
import time

TARGET_S = 30


def main():
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 64 << 20
    with tempfile.TemporaryDirectory(prefix='migbench-check.') as tmp:
        a, b = os.path.join(tmp, 'a'), os.path.join(tmp, 'b')
        os.mkdir(a)
        os.mkdir(b)
        # Without -f the daemon returns once both are mounted.
        subprocess.run([os.environ['MIGFSD'], f'sim:bca,size={size}', a,
                        f'sim:bcb,size={size}', b], check=True)
        try:
            t0 = time.monotonic()
            r = subprocess.run([os.environ['MIGCTL'], 'check', '--peer', b, a],
                               stdout=subprocess.PIPE, text=True)
            took = time.monotonic() - t0
        finally:
            for m in (a, b):
                subprocess.run(['umount', m], check=False)
        print(r.stdout, end='')
        print(f'check-{size >> 20}MiB: {took:.2f} s (target < {TARGET_S} s)')
        return 0 if r.returncode == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
