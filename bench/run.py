#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vfio-migfs benchmarks.

run.py [--tiny] [--runs N] [--size BYTES] [GROUP...]

Every figure is measured through vfio-migfsd's mounts and, in the same
run, against its baselines (the device layer in process, a minimal FUSE
filesystem, one device instead of many...): the runs are interleaved
(A, B, C, A, B, C, ...), each value is the median over the runs and each
ratio the median of the per-run ratios, so that a machine busy with other
work slows the figure and its baseline alike.  Prints one line per figure,
"name: value unit (ratio x baseline, ...)", then the ratios against the
targets of docs/performance.md as comments.  --tiny runs each group once at
a tiny size and checks only that every figure came out, parseable and
above zero.  Needs root (FUSE mounts).

Environment: MIGFSD and MIGCTL (the daemon and the tool), MIGBENCH_DIR
(where migbench-inproc, -ceiling, -rw and -storm were built).
"""

import argparse
import dataclasses
import math
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BUF = 1 << 20           # the daemon's st_blksize: what cat and cp read at once
THREADS = 4             # the daemon's default pool, given to both filesystems
PAGE = 4096             # dirty log page size (the default)
UNITS = {'GiB/s': 1 << 30, 'MiB/s': 1 << 20, '/s': 1, 's': 1, 'ms': 1e-3,
         'KiB': 1024}


@dataclasses.dataclass
class Sizes:
    stream: int             # bytes of state of a streamed or migrated device
    transitions: int        # state writes per run (even: ends where it began)
    dirty_range: int        # bytes of IOVA whose bitmap is read
    dirty_dma: int          # bytes the device DMA-writes before each read
    dirty_big: int          # bytes of IOVA of the large tracked range
    dirty_repeat: int       # reads of the dirty group summed into one run
    devices: int            # devices of the scale group
    concurrent: int         # devices streamed at once
    concurrent_size: int    # bytes of state of each of them
    dirty_rate: int         # work items per second of a migrated device
    set_size: int           # bytes of state of each device of a migrated set
    owner_size: int         # bytes of state of the device another user storms
    owner_ops: int          # the owner's transitions per figure of that group
    runs: int
    warmup: int             # unrecorded runs first


FULL = Sizes(stream=1 << 30, transitions=2000, dirty_range=1 << 40,
             dirty_dma=1 << 30, dirty_big=4 << 40, dirty_repeat=5, devices=256,
             concurrent=8, concurrent_size=256 << 20, dirty_rate=1000,
             set_size=64 << 20, owner_size=64 << 20, owner_ops=200, runs=7, warmup=1)
TINY = Sizes(stream=4 << 20, transitions=20, dirty_range=1 << 30,
             dirty_dma=1 << 20, dirty_big=2 << 30, dirty_repeat=1, devices=8,
             concurrent=8, concurrent_size=1 << 20, dirty_rate=1000,
             set_size=1 << 20, owner_size=1 << 20, owner_ops=20, runs=1, warmup=0)


class BenchError(Exception):
    pass


def say(msg):
    print(f'migbench: {msg}', file=sys.stderr, flush=True)


def write_file(path, text):
    with open(path, 'w') as f:
        f.write(text + '\n')


def read_file(path):
    with open(path) as f:
        return f.read()


def parse_result(text, what):
    """The "AMOUNT SECONDS" answer of migbench-rw and migbench-inproc."""
    try:
        amount, seconds = text.split()
        return int(amount), float(seconds)
    except ValueError:
        raise BenchError(f'{what}: unexpected answer {text!r}') from None


def vm_rss(pid):
    for line in read_file(f'/proc/{pid}/status').splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
    raise BenchError(f'no VmRSS for pid {pid}')


class Daemon:
    """vfio-migfsd serving DEVICE MOUNTPOINT pairs, run as its systemd unit
    runs it: in the foreground, its log on stderr (here a file: the journal
    too takes one write per line), READY=1 on NOTIFY_SOCKET once every
    mount serves.  start_s: until then."""

    def __init__(self, session, pairs, options=()):
        self.mounts = [m for _, m in pairs]
        home = tempfile.mkdtemp(prefix='migfsd.', dir=session.tmp)
        self.log, path = os.path.join(home, 'log'), os.path.join(home, 'notify')
        argv = [session.migfsd, '-f', '-t', str(THREADS), *options] + [x for p in pairs for x in p]
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(path)
        t = time.monotonic()
        with open(self.log, 'w') as log:
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log,
                                         env=dict(os.environ, NOTIFY_SOCKET=path))
        session.daemons.append(self)    # stopped even if interrupted here
        self.pid = self.proc.pid
        try:
            self.wait_ready(notify)
        finally:
            notify.close()
            os.unlink(path)
        self.start_s = time.monotonic() - t

    def wait_ready(self, notify):
        deadline = time.monotonic() + 60
        notify.settimeout(0.1)
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if 'READY=1' in notify.recv(4096).decode(errors='replace').split('\n'):
                    return
            except socket.timeout:
                pass
        with open(self.log) as f:
            tail = f.read()[-2000:]
        raise BenchError(f'vfio-migfsd did not become ready: {tail}')

    def stop(self):
        """SIGTERM unmounts everything and ends it; SIGKILL if it will not."""
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 2)):
            if self.proc.poll() is not None:
                return
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass


class Inproc:
    """migbench-inproc on one device, answering one command at a time."""

    def __init__(self, session, spec):
        self.spec = spec
        self.p = subprocess.Popen([session.prog('inproc'), spec], text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        session.procs.append(self.p)

    def ask(self, *cmd):
        self.p.stdin.write(' '.join(map(str, cmd)) + '\n')
        self.p.stdin.flush()
        return parse_result(self.p.stdout.readline(), f'inproc {self.spec} {cmd[0]}')

    def close(self):
        self.p.stdin.close()
        if self.p.wait(timeout=60):
            raise BenchError(f'inproc {self.spec}: exit status {self.p.returncode}')


class Session:
    """What a group starts, all of it stopped and removed at its end."""

    def __init__(self, sizes):
        self.sizes = sizes
        try:
            self.migfsd = os.environ['MIGFSD']
            self.migctl = os.environ['MIGCTL']
            self.bindir = os.environ['MIGBENCH_DIR']
        except KeyError as e:
            raise BenchError(f'{e} is not set (meson test sets it)') from None
        self.tmp = tempfile.mkdtemp(prefix='migbench.')
        self.shm = tempfile.mkdtemp(prefix='migbench.', dir='/dev/shm')
        self.daemons, self.procs = [], []

    def prog(self, name):
        return os.path.join(self.bindir, 'migbench-' + name)

    def mountpoint(self, name):
        return tempfile.mkdtemp(prefix=name + '.', dir=self.tmp)

    def daemon(self, *devices, options=()):
        """devices: (NAME, SPEC) pairs, each mounted on a directory NAME."""
        return Daemon(self, [(spec, self.mountpoint(name)) for name, spec in devices],
                      options)

    def ceiling(self, size):
        mnt = self.mountpoint('ceiling')
        self.procs.append(subprocess.Popen(
            [self.prog('ceiling'), str(THREADS), str(size), mnt]))
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(mnt, 'source')):
            if time.monotonic() > deadline or self.procs[-1].poll() is not None:
                raise BenchError('the ceiling filesystem did not mount')
            time.sleep(0.01)
        return mnt

    def rw(self, *args):
        r = subprocess.run([self.prog('rw')] + [str(a) for a in args], check=True,
                           stdout=subprocess.PIPE, text=True)
        return parse_result(r.stdout, f'rw {args[0]}')

    def paired(self, name, base, n, path, base_path):
        """Held writes of stop and running to path and base_path in turns:
        {name: rate, base: rate}, both of the same moments."""
        r = subprocess.run([self.prog('rw'), 'paired', str(n), path, base_path, 'stop',
                            'running'], check=True, stdout=subprocess.PIPE, text=True)
        try:
            amount, seconds, base_seconds = r.stdout.split()
            return {name: int(amount) / float(seconds), base: int(amount) / float(base_seconds)}
        except ValueError:
            raise BenchError(f'rw paired: unexpected answer {r.stdout!r}') from None

    def our_mounts(self):
        with open('/proc/self/mountinfo') as f:
            points = [line.split()[4] for line in f]
        return [p for p in points if p.startswith(self.tmp + '/')]

    def close(self):
        for d in self.daemons:
            d.stop()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        for m in self.our_mounts():
            subprocess.run(['umount', '-l', m], check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.shm, ignore_errors=True)


# --- measurement ---

def interleave(sizes, steps):
    """Run every step once per run, in turn; steps return {name: value}."""
    samples = {}
    for run in range(sizes.warmup + sizes.runs):
        for step in steps:
            values = step()
            if run < sizes.warmup:
                continue
            for name, v in values.items():
                samples.setdefault(name, []).append(v)
    return samples


def line(samples, name, unit, *baselines):
    say(f'{name} runs: ' + ' '.join(f'{v / UNITS[unit]:.4g}' for v in samples[name]))
    value = statistics.median(samples[name]) / UNITS[unit]
    text = f'{name}: {value:.4g} {unit}' if value < 1000 else f'{name}: {value:.0f} {unit}'
    ratios = [f'{statistics.median(a / b for a, b in zip(samples[name], samples[base])):.3g}'
              f' x {base}' for base in baselines]
    return text + (f' ({", ".join(ratios)})' if ratios else '')


def rate(result):
    amount, seconds = result
    return amount / seconds


def expect(what, got, want):
    if got != want:
        raise BenchError(f'{what}: {got} bytes, expected {want}')


# --- groups: each returns its table lines ---

def data_size(mnt):
    return int(read_file(os.path.join(mnt, 'data_size')))


def save_streams(s, *mounts):
    """The STOP_COPY streams of mounted devices, read through `data` at once."""
    for m in mounts:
        write_file(f'{m}/state', 'stop_copy')
    r = s.rw('read', BUF, *[f'{m}/data' for m in mounts])
    for m in mounts:
        write_file(f'{m}/state', 'stop')
    expect(' '.join(mounts), r[0], sum(map(data_size, mounts)))
    return r


def saved_stream(s, mnt):
    """The stream of a device, saved once with cat, to be written back."""
    path = os.path.join(s.shm, 'stream')
    write_file(f'{mnt}/state', 'stop_copy')
    with open(path, 'wb') as out:
        subprocess.run(['cat', f'{mnt}/data'], stdout=out, check=True)
    write_file(f'{mnt}/state', 'stop')
    expect(path, os.path.getsize(path), data_size(mnt))
    return path


def group_streams(s):
    spec = f'size={s.sizes.stream},features=p2p'
    inproc = Inproc(s, f'sim:b,{spec}')     # faults in while the daemon does
    d = s.daemon(('a', f'sim:a,{spec}'), ('b', f'sim:b,{spec}'))
    a, b = d.mounts
    stream = saved_stream(s, a)
    ceil = s.ceiling(data_size(a))

    def resume():
        write_file(f'{b}/state', 'resuming')
        r = s.rw('write', BUF, f'{b}/data', stream)
        write_file(f'{b}/state', 'stop')     # EIO here if the stream was bad
        return r

    samples = interleave(s.sizes, [
        lambda: {'save_stream': rate(save_streams(s, a))},
        lambda: {'inproc_save': rate(inproc.ask('save', BUF))},
        lambda: {'ceiling_read': rate(s.rw('read', BUF, f'{ceil}/source'))},
        lambda: {'resume_stream': rate(resume())},
        lambda: {'inproc_resume': rate(inproc.ask('resume', stream, BUF))},
        lambda: {'ceiling_write': rate(s.rw('write', BUF, f'{ceil}/sink', stream))},
    ])
    inproc.close()
    return [line(samples, 'ceiling_read', 'GiB/s'),
            line(samples, 'inproc_save', 'GiB/s'),
            line(samples, 'save_stream', 'GiB/s', 'ceiling_read', 'inproc_save'),
            line(samples, 'ceiling_write', 'GiB/s'),
            line(samples, 'inproc_resume', 'GiB/s'),
            line(samples, 'resume_stream', 'GiB/s', 'ceiling_write', 'inproc_resume')]


def group_transition(s):
    n = s.sizes.transitions
    inproc = Inproc(s, 'sim:t')
    (t,) = s.daemon(('t', 'sim:t')).mounts
    ceil = s.ceiling(0)
    samples = interleave(s.sizes, [
        lambda: {'transition': rate(s.rw('toggle', n, f'{t}/state', 'stop', 'running'))},
        lambda: {'inproc_transition': rate(inproc.ask('transitions', n))},
        lambda: {'null_round_trips': rate(s.rw('toggle', n, f'{ceil}/sink', 'stop', 'running'))},
        lambda: s.paired('transition_held', 'null_writes', n, f'{t}/state', f'{ceil}/sink'),
    ])
    inproc.close()
    return [line(samples, 'null_round_trips', '/s'),
            line(samples, 'null_writes', '/s'),
            line(samples, 'inproc_transition', '/s'),
            line(samples, 'transition', '/s', 'null_round_trips', 'inproc_transition'),
            line(samples, 'transition_held', '/s', 'null_writes', 'transition')]


def size_name(n):
    """4T for 4 TiB, 2G for 2 GiB: a size in a figure's name."""
    for unit, shift in (('T', 40), ('G', 30), ('M', 20)):
        if n >= 1 << shift:
            return f'{n >> shift}{unit}'
    return str(n)


def tracked(mnt, length):
    """Track [0, length) of a mounted device: the path of its bitmap."""
    write_file(f'{mnt}/dirty/ranges', f'0 {length}')
    write_file(f'{mnt}/dirty/tracking', '1')
    return f'{mnt}/dirty/{0:08x}-{length:08x}'


def read_bitmap(s, mnt, length, dma):
    """The device DMA-writes [0, dma) (nothing if 0), then its bitmap is read."""
    if dma:
        write_file(f'{mnt}/sim/dma', f'0 {dma}')
    bitmap = f'{mnt}/dirty/{0:08x}-{length:08x}'
    r = s.rw('read', BUF, bitmap)
    expect(bitmap, r[0], length // PAGE // 8)
    return r


def timed_write(path, text):
    """Seconds of an open, write and close, as `echo text > path`."""
    t = time.monotonic()
    write_file(path, text)
    return time.monotonic() - t


def freeze(s, mnt, length, dma):
    """tracking 0 after a DMA of [0, dma): seconds; then the frozen log is
    read and tracking restarts, untimed."""
    write_file(f'{mnt}/sim/dma', f'0 {dma}')
    t = timed_write(f'{mnt}/dirty/tracking', '0')
    read_bitmap(s, mnt, length, 0)
    tracked(mnt, length)
    return t


def repeated(n, step):
    """step() n times: the sum of its (amount, seconds)."""
    results = [step() for _ in range(n)]
    return sum(a for a, _ in results), sum(t for _, t in results)


def group_dirty(s):
    length, dma, big = s.sizes.dirty_range, s.sizes.dirty_dma, s.sizes.dirty_big
    n = s.sizes.dirty_repeat       # a 32 MiB read takes 5 to 10 ms: sum a few
    spec, big_spec = f'sim:d,guest_mem={length}', f'sim:e,guest_mem={big}'
    inproc, inproc_big = Inproc(s, spec), Inproc(s, big_spec)
    d, e = s.daemon(('d', spec), ('e', big_spec)).mounts
    ceil = s.ceiling(length // PAGE // 8)
    tracked(d, length)
    tracked(e, big)
    name = size_name(big)

    def big_range():
        # The read after the first one since the start: the first faults
        # in the sim's fresh bitmap (both sides alike), precopy is the rest.
        read_bitmap(s, e, big, dma)
        return {f'dirty_read_{name}': read_bitmap(s, e, big, dma)[1],
                f'dirty_freeze_{name}': freeze(s, e, big, dma)}

    def big_inproc():
        inproc_big.ask('dirty', big, dma, BUF)
        return {f'inproc_dirty_read_{name}': inproc_big.ask('dirty', big, dma, BUF)[1],
                f'inproc_dirty_freeze_{name}': inproc_big.ask('freeze', big, dma)[1]}

    samples = interleave(s.sizes, [
        lambda: {'ceiling_bitmap_read':
                 rate(repeated(n, lambda: s.rw('read', BUF, f'{ceil}/source')))},
        lambda: {'dirty_read': rate(repeated(n, lambda: read_bitmap(s, d, length, dma)))},
        lambda: {'inproc_dirty_read':
                 rate(repeated(n, lambda: inproc.ask('dirty', length, dma, BUF)))},
        lambda: {'dirty_read_clean': rate(repeated(n, lambda: read_bitmap(s, d, length, 0)))},
        lambda: {'inproc_dirty_read_clean':
                 rate(repeated(n, lambda: inproc.ask('dirty', length, 0, BUF)))},
        big_range,
        big_inproc,
        lambda: {'null_write': timed_write(f'{ceil}/sink', '0')},
    ])
    inproc.close()
    inproc_big.close()
    return [line(samples, 'ceiling_bitmap_read', 'MiB/s'),
            line(samples, 'inproc_dirty_read', 'MiB/s'),
            line(samples, 'dirty_read', 'MiB/s', 'ceiling_bitmap_read', 'inproc_dirty_read'),
            line(samples, 'inproc_dirty_read_clean', 'MiB/s'),
            line(samples, 'dirty_read_clean', 'MiB/s', 'ceiling_bitmap_read',
                 'inproc_dirty_read_clean'),
            line(samples, f'inproc_dirty_read_{name}', 's'),
            line(samples, f'dirty_read_{name}', 's', f'inproc_dirty_read_{name}'),
            line(samples, 'null_write', 'ms'),
            line(samples, f'inproc_dirty_freeze_{name}', 'ms'),
            line(samples, f'dirty_freeze_{name}', 'ms', 'null_write',
                 f'inproc_dirty_freeze_{name}')]


def use_once(mnt):
    """What a user does first: a transition and a look at status."""
    write_file(f'{mnt}/state', 'stop')
    write_file(f'{mnt}/state', 'running')
    read_file(f'{mnt}/status')


def daemon_rss(s, n):
    """A daemon of n devices, each used once: (seconds to mount, VmRSS)."""
    d = s.daemon(*[(f'd{i}', f'sim:d{i}') for i in range(n)])
    for m in d.mounts:
        use_once(m)
    result = d.start_s, vm_rss(d.pid)
    d.stop()
    return result


def inproc_rss(s, n):
    """n devices opened and used in process: (seconds of the opens, VmRSS added)."""
    inproc = Inproc(s, 'sim:x')
    inproc.ask('open', 0)                  # the first device is open
    before = vm_rss(inproc.p.pid)
    _, seconds = inproc.ask('open', n)
    added = vm_rss(inproc.p.pid) - before
    inproc.close()
    return seconds, added


def group_scale(s):
    n = s.sizes.devices

    def daemons():
        (t, rss_n), (_, rss_1) = daemon_rss(s, n), daemon_rss(s, 1)
        return {f'mount_{n}': t, 'rss_per_device': (rss_n - rss_1) / (n - 1)}

    def inproc():
        t, added = inproc_rss(s, n)
        return {f'inproc_open_{n}': t, 'inproc_rss_per_device': added / n}

    samples = interleave(s.sizes, [daemons, inproc])
    return [line(samples, f'inproc_open_{n}', 's'),
            line(samples, f'mount_{n}', 's', f'inproc_open_{n}'),
            line(samples, 'inproc_rss_per_device', 'KiB'),
            line(samples, 'rss_per_device', 'KiB', 'inproc_rss_per_device')]


def group_concurrent(s):
    k = s.sizes.concurrent
    d = s.daemon(*[(f'c{i}', f'sim:c{i},size={s.sizes.concurrent_size},features=p2p')
                   for i in range(k)])

    def one_at_a_time():
        results = [save_streams(s, m) for m in d.mounts]
        return {'stream_1': sum(b for b, _ in results) / sum(t for _, t in results)}

    samples = interleave(s.sizes, [
        one_at_a_time,
        lambda: {f'streams_{k}': rate(save_streams(s, *d.mounts))},
    ])
    return [line(samples, 'stream_1', 'GiB/s'),
            line(samples, f'streams_{k}', 'GiB/s', 'stream_1')]


MIGRATED = re.compile(r'^migrated .*, ([0-9.]+) s, downtime ([0-9.]+) ms$')


def migrate(s, src, dst, first_state):
    """vfio-migctl migrate from src in first_state: (total s, downtime s)."""
    write_file(f'{src}/state', first_state)
    r = subprocess.run([s.migctl, 'migrate', src, dst], capture_output=True, text=True)
    m = MIGRATED.match(r.stdout.strip())
    if r.returncode or not m:
        raise BenchError(f'vfio-migctl migrate: status {r.returncode}: {r.stdout}{r.stderr}')
    write_file(f'{src}/state', 'running')
    return float(m[1]), float(m[2]) / 1e3


def group_migrate(s):
    size, dirty_rate = s.sizes.stream, s.sizes.dirty_rate
    src, dst = s.daemon(('m1', f'sim:m1,size={size},dirty_rate={dirty_rate}'),
                        ('m2', f'sim:m2,size={size}')).mounts

    def precopy():
        total, downtime = migrate(s, src, dst, 'running')
        return {'migrate_total': total, 'migrate_downtime': downtime}

    samples = interleave(s.sizes, [
        precopy,
        # From stop there is nothing to pre-copy: all of it is downtime.
        lambda: {'migrate_stopcopy': migrate(s, src, dst, 'stop')[0]},
    ])
    return [line(samples, 'migrate_stopcopy', 's'),
            line(samples, 'migrate_total', 's', 'migrate_stopcopy'),
            line(samples, 'migrate_downtime', 'ms', 'migrate_stopcopy')]


SET_MIGRATED = re.compile(r'^migrated a set of \d+ devices: \d+ bytes, ([0-9.]+) s, '
                          r'downtime ([0-9.]+) ms, P2P barrier kept$', re.M)


def group_set(s):
    """k devices that DMA into each other in couples: as a set, and one pair at a time."""
    k, size, rate = s.sizes.concurrent, s.sizes.set_size, s.sizes.dirty_rate // 10
    d = s.daemon(*[(f's{i}', f'sim:s{i},size={size},dirty_rate={rate},peer=s{i ^ 1},'
                            f'peer_rate={rate}') for i in range(k)],
                 *[(f'd{i}', f'sim:d{i},size={size}') for i in range(k)])
    srcs, dsts = d.mounts[:k], d.mounts[k:]

    def as_set():
        t0 = time.monotonic()
        r = subprocess.run([s.migctl, 'migrate'] + [f'{a}={b}' for a, b in zip(srcs, dsts)],
                           capture_output=True, text=True)
        wall = time.monotonic() - t0
        m = SET_MIGRATED.search(r.stdout)
        if r.returncode or not m:
            raise BenchError(f'vfio-migctl migrate (a set): status {r.returncode}: '
                             f'{r.stdout}{r.stderr}')
        for src in srcs:
            write_file(f'{src}/state', 'running')
        return {f'set{k}_total': wall, f'set{k}_downtime': float(m[2]) / 1e3}

    def pairs():
        t0 = time.monotonic()
        downtimes = [migrate(s, a, b, 'running')[1] for a, b in zip(srcs, dsts)]
        return {f'pairs{k}_total': time.monotonic() - t0, 'pair_downtime_max': max(downtimes)}

    samples = interleave(s.sizes, [as_set, pairs])
    return [line(samples, f'pairs{k}_total', 's'),
            line(samples, f'set{k}_total', 's', f'pairs{k}_total'),
            line(samples, 'pair_downtime_max', 'ms'),
            line(samples, f'set{k}_downtime', 'ms', 'pair_downtime_max')]


STORM_THREADS = 4       # as many as the daemon's workers
NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']


class Storm:
    """migbench-storm as nobody: stats FILE from STORM_THREADS threads,
    holding HOLD open as many times as it is let, until stopped."""

    def __init__(self, session, path, hold=None):
        def more_files():     # the daemon's bound on open files must come first
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

        self.p = subprocess.Popen(NOBODY + [session.prog('storm'), str(STORM_THREADS), path]
                                  + ([hold] if hold else []), text=True, preexec_fn=more_files,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        session.procs.append(self.p)
        ready = self.p.stdout.readline().split()
        if ready[:1] != ['ready']:
            raise BenchError(f'migbench-storm {path}: not ready')
        self.held = int(ready[1])

    def stop(self):
        self.p.stdin.close()
        stats = parse_result(self.p.stdout.readline(), 'storm')
        if self.p.wait(timeout=60):
            raise BenchError(f'migbench-storm: exit status {self.p.returncode}')
        return stats


def group_owner(s):
    """The owner's transitions (open, write, close of state) while another
    user storms the mount (-o allow_other): stats of sim/digest of a large
    device (issue 19, item 2), or 1024 files of status held open and stats
    of log (item 4); each against the owner's transitions idle."""
    n = s.sizes.owner_ops
    os.chmod(s.tmp, 0o755)      # nobody must reach the mounts
    d = s.daemon(('a', f'sim:a,size={s.sizes.owner_size}'), ('b', 'sim:b'),
                 options=('-o', 'allow_other'))
    a, b = d.mounts
    read_file(f'{a}/sim/digest')

    def latency(mnt):
        count, seconds = s.rw('toggle', n, f'{mnt}/state', 'stop', 'running')
        return seconds / count

    def stormed(path, hold, figures):
        storm = Storm(s, path, hold)
        values = {name: latency(mnt) for name, mnt in figures}
        storm.stop()
        return values

    samples = interleave(s.sizes, [
        lambda: {'owner_idle': latency(b), 'owner_idle_same': latency(a)},
        lambda: stormed(f'{a}/sim/digest', None, [('owner_stat_storm', b)]),
        lambda: stormed(f'{a}/log', f'{a}/status',
                        [('owner_log_storm', b), ('owner_log_storm_same', a)]),
    ])
    return [line(samples, 'owner_idle', 'ms'),
            line(samples, 'owner_stat_storm', 'ms', 'owner_idle'),
            line(samples, 'owner_log_storm', 'ms', 'owner_idle'),
            line(samples, 'owner_idle_same', 'ms'),
            line(samples, 'owner_log_storm_same', 'ms', 'owner_idle_same')]


GROUPS = {'streams': group_streams, 'transition': group_transition,
          'dirty': group_dirty, 'scale': group_scale,
          'concurrent': group_concurrent, 'migrate': group_migrate, 'set': group_set,
          'owner': group_owner}


# --- the table ---

TARGETS = [  # figure, baseline, the lowest ratio wanted
    ('save_stream', 'ceiling_read', 0.9),
    ('save_stream', 'inproc_save', 0.5),
    ('resume_stream', 'ceiling_write', 0.9),
    ('resume_stream', 'inproc_resume', 0.5),
    ('transition', 'null_round_trips', 1 / 1.3),   # its time <= 1.3 x theirs
    ('transition_held', 'null_writes', 1 / 1.3),
    ('dirty_read', 'ceiling_bitmap_read', 0.8),       # issue 23
    ('dirty_read', 'inproc_dirty_read', 0.5),
    ('dirty_read_clean', 'ceiling_bitmap_read', 0.8),
    ('dirty_read_clean', 'inproc_dirty_read_clean', 0.5),
    (f'streams_{FULL.concurrent}', 'stream_1', 1.6),
]
TARGETS_AT_MOST = [  # figure, baseline, the highest ratio wanted (times)
    (f'set{FULL.concurrent}_total', f'pairs{FULL.concurrent}_total', 1 / 1.6),
    (f'set{FULL.concurrent}_downtime', 'pair_downtime_max', 1.2),
    ('owner_stat_storm', 'owner_idle', 3),     # issue 19: within 3 x of idle
    ('owner_log_storm', 'owner_idle', 3),
    ('owner_log_storm_same', 'owner_idle_same', 3),
]
RSS_BUDGET = 1024   # KiB resident per device beyond the device's own state

NUMBER = r'([0-9.]+(?:e[+-][0-9]+)?)'
LINE = re.compile(rf'^(\S+): {NUMBER} (\S+)(?: \((.*)\))?$')
RATIO = re.compile(rf'^{NUMBER} x (\S+)$')


def parse_table(lines):
    """{name: (value, {baseline: ratio})}; raises on anything insane."""
    table = {}
    for text in lines:
        m = LINE.match(text)
        if not m or m[3] not in UNITS:
            raise BenchError(f'unparseable line: {text!r}')
        ratios = {}
        for part in m[4].split(', ') if m[4] else []:
            r = RATIO.match(part)
            if not r or r[2] not in table:
                raise BenchError(f'bad ratio {part!r} in {text!r}')
            ratios[r[2]] = float(r[1])
        values = [float(m[2])] + list(ratios.values())
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise BenchError(f'not a positive figure: {text!r}')
        table[m[1]] = (float(m[2]), ratios)
    return table


def verdict(text, ok):
    return f'# target {text}: {"met" if ok else "MISSED"}'


def target_lines(table):
    out = [verdict(f'{name} >= {want:.2f} x {base}, got {table[name][1][base]:.3g}',
                   table[name][1][base] >= want)
           for name, base, want in TARGETS if name in table]
    out += [verdict(f'{name} <= {want:.3g} x {base}, got {table[name][1][base]:.3g}',
                    table[name][1][base] <= want)
            for name, base, want in TARGETS_AT_MOST if name in table]
    if 'rss_per_device' in table:
        beyond = table['rss_per_device'][0] - table['inproc_rss_per_device'][0]
        out.append(verdict(f'rss_per_device - inproc_rss_per_device <= {RSS_BUDGET} KiB, '
                           f'got {beyond:.0f} KiB', beyond <= RSS_BUDGET))
    return out


def header(sizes, groups):
    return (f'# vfio-migfs benchmarks {time.strftime("%Y-%m-%d %H:%M")}: {", ".join(groups)}; '
            f'median of {sizes.runs} interleaved runs; {os.cpu_count()} CPUs, '
            f'Linux {os.uname().release}, load {os.getloadavg()[0]:.1f}')


def main():
    ap = argparse.ArgumentParser(description='vfio-migfs benchmarks (needs root)')
    ap.add_argument('--tiny', action='store_true', help='once, tiny sizes: a sanity check')
    ap.add_argument('--runs', type=int, help=f'runs per figure (default {FULL.runs})')
    ap.add_argument('--size', type=int, help='bytes of a streamed device (default 1 GiB)')
    ap.add_argument('groups', nargs='*', metavar='GROUP',
                    help=f'some of {", ".join(GROUPS)} (default: all)')
    args = ap.parse_args()
    for g in set(args.groups) - GROUPS.keys():
        ap.error(f'unknown group {g}')
    sizes = dataclasses.replace(TINY if args.tiny else FULL)
    sizes.runs = args.runs or sizes.runs
    sizes.stream = args.size or sizes.stream
    if os.geteuid() != 0:
        print('benchmarks need root (FUSE mounts): skipped', file=sys.stderr)
        return 77
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    groups = args.groups or list(GROUPS)
    print(header(sizes, groups), flush=True)    # with the load before the runs
    lines = []
    for g in groups:
        say(f'{g}...')
        session = Session(sizes)
        try:
            new = GROUPS[g](session)
        finally:
            session.close()
        print('\n'.join(new), flush=True)     # a long run shows what it has
        lines += new
    table = parse_table(lines)
    if not args.tiny:   # tiny sizes say nothing about speed
        print('\n'.join(target_lines(table)))
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (BenchError, subprocess.CalledProcessError, OSError) as e:
        print(f'migbench: {e}', file=sys.stderr)
        sys.exit(1)
