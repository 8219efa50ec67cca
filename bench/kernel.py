#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The kernel lane's benchmark: what the mounts cost a real migration.

kernel.py RUNS RUN_LANE [RUN_LANE ARGS...]

Runs the guest script tests/kernel/guest-bench-migrate.sh through
run-lane.sh (the arguments after RUNS are its command line, RUNS goes last):
in one boot, RUNS interleaved pairs of migrations of a vfio_migtest device
with a 64 MiB state, one with raw ioctls in one program (migbench-direct:
what a VMM does) and one with `vfio-migctl migrate` through vfio-migfsd's
mounts.  Under TCG the times mean nothing alone; the table keeps their
ratios, in run.py's line format, and the target: the mount costs at most
1.2 x the direct path in downtime.  The two migrations of a pair run
seconds apart, so a host busy with other work slows both alike; the ratio
of each pair is a sample, and the spread of those samples (min, median,
max) is printed with the load average, the median judged against the
target.  Exits with run-lane.sh's status when that is not 0: 77 when the
lane is not there.
"""

import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (run.py's line format and verdicts)

DOWNTIME_TARGET = 1.2


def samples_of(output):
    """{name: [seconds]} from the guest's "direct ..." and "mounts ..." lines."""
    samples = {}
    for text in output.splitlines():
        words = text.split()
        if len(words) != 3 or words[0] not in ('direct', 'mounts'):
            continue
        total, downtime = float(words[1]), float(words[2])
        if words[0] == 'mounts':
            downtime /= 1e3     # vfio-migctl says milliseconds
        side = 'direct' if words[0] == 'direct' else 'migrate'
        samples.setdefault(f'kernel_{side}_total', []).append(total)
        samples.setdefault(f'kernel_{side}_downtime', []).append(downtime)
    return samples


def spread(samples, name, base):
    """The per-pair ratios of name to base: min, median, max, and the load."""
    ratios = sorted(a / b for a, b in zip(samples[name], samples[base]))
    return (f'# {name} / {base} per pair: min {ratios[0]:.3g}, '
            f'median {statistics.median(ratios):.3g}, max {ratios[-1]:.3g} '
            f'({len(ratios)} pairs, load {os.getloadavg()[0]:.1f})')


def main():
    if len(sys.argv) < 3:
        print('usage: kernel.py RUNS RUN_LANE [ARGS...]', file=sys.stderr)
        return 2
    runs = int(sys.argv[1])
    r = subprocess.run(sys.argv[2:] + [str(runs)], stdout=subprocess.PIPE, text=True)
    sys.stderr.write(r.stdout)
    if r.returncode:
        return r.returncode
    samples = samples_of(r.stdout)
    if any(len(samples.get(f'kernel_{s}_{w}', [])) != runs
           for s in ('direct', 'migrate') for w in ('total', 'downtime')):
        print(f'kernel.py: the guest did not report {runs} runs of each', file=sys.stderr)
        return 1
    lines = [run.line(samples, 'kernel_direct_total', 's'),
             run.line(samples, 'kernel_migrate_total', 's', 'kernel_direct_total'),
             run.line(samples, 'kernel_direct_downtime', 'ms'),
             run.line(samples, 'kernel_migrate_downtime', 'ms', 'kernel_direct_downtime')]
    ratio = run.parse_table(lines)['kernel_migrate_downtime'][1]['kernel_direct_downtime']
    print('\n'.join(lines))
    print(spread(samples, 'kernel_migrate_downtime', 'kernel_direct_downtime'))
    print(run.verdict(f'kernel_migrate_downtime <= {DOWNTIME_TARGET:.2f} x '
                      f'kernel_direct_downtime, got {ratio:.3g}', ratio <= DOWNTIME_TARGET))
    return 0


if __name__ == '__main__':
    sys.exit(main())
