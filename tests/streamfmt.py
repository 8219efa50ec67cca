#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The stream format of docs/stream-format.md (version 4), written from the
document alone, independently of tools/stream.c: the stream fuzzer's seeds
are made with it, so that the C decoder's verdict on them (and its
re-encoding, byte for byte) is checked against a second reading of the
format; the tools' tests splice streams with it.

  streamfmt.py seeds DIR        write the stream fuzzer's seed corpus
  streamfmt.py chunks FILE      one line per chunk: offset size type device number
  streamfmt.py splice A B N OUT A with its chunk N (from 1) taken from B
  streamfmt.py rename IN OUT NAME...  IN with its devices named NAME...
"""
import os
import struct
import sys

MAGIC = b"VFMIGSTR"
VERSION = 4
PRECOPY, STOPCOPY, END = 1, 2, 0x454E4421
CHUNK_HEADER = 36


def _crc_table():
    poly = 0x82F63B78  # 0x1EDC6F41 reflected
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def header(devices, created, sid, version=VERSION):
    """devices: (features, name) pairs."""
    h = MAGIC + struct.pack("<IIQQ", version, len(devices), created, sid)
    for features, name in devices:
        h += struct.pack("<II", features, len(name)) + name
    return h + struct.pack("<I", crc32c(h))


def chunk(sid, seq, dev, ctype, payload):
    h = struct.pack("<IIQQII", ctype, len(payload), seq, sid, dev, crc32c(payload))
    return h + struct.pack("<I", crc32c(h)) + payload


def stream(devices, chunks, created=1764000000, sid=0x0123456789ABCDEF, end_dev=0):
    """chunks: (device, type, payload) in stream order; the end chunk follows."""
    out = header(devices, created, sid)
    pre = stop = 0
    for seq, (dev, ctype, payload) in enumerate(chunks, 1):
        out += chunk(sid, seq, dev, ctype, payload)
        if ctype == PRECOPY:
            pre += len(payload)
        else:
            stop += len(payload)
    end = struct.pack("<QQQ", pre, stop, len(chunks))
    return out + chunk(sid, len(chunks) + 1, end_dev, END, end)


def chunks_of(data):
    """(offset, size, type, device, number) of each chunk of a well-framed stream."""
    count = struct.unpack_from("<I", data, 12)[0]
    off = 32
    for _ in range(count):
        off += 8 + struct.unpack_from("<I", data, off + 4)[0]
    off += 4
    out = []
    while off + CHUNK_HEADER <= len(data):
        ctype, length, seq, _, dev = struct.unpack_from("<IIQQI", data, off)
        out.append((off, CHUNK_HEADER + length, ctype, dev, seq))
        off += CHUNK_HEADER + length
    return out


def rename(data, names):
    """data with a header naming its devices names, its id and features kept."""
    count, created, sid = struct.unpack_from("<IQQ", data, 12)
    off, features = 32, []
    for _ in range(count):
        f, n = struct.unpack_from("<II", data, off)
        features.append(f)
        off += 8 + n
    devices = list(zip(features, (n.encode() for n in names)))
    return header(devices, created, sid) + data[off + 4:]


def splice(a, b, n):
    """a with its chunk n (from 1) replaced by b's chunk n."""
    off, size = chunks_of(a)[n - 1][:2]
    boff, bsize = chunks_of(b)[n - 1][:2]
    return a[:off] + b[boff:boff + bsize] + a[off + size:]


# The fuzzer reads its input's first byte as flags (tests/fuzz/fuzz_stream.c):
# bit 0 makes every CRC right (and every chunk's id the header's, unless bit 1).
AS_IS, FIX = b"\x00", b"\x01"


def seeds():
    one = [(5, b"sim:a,size=1M")]
    two = [(7, b"sim:s0,size=256K,peer=s1"), (7, b"sim:s1,size=256K,peer=s0")]
    three = [(1, b"vfio:0000:3b:00.1"), (3, b"fd:5"), (0, b"")]
    single = stream(one, [(0, PRECOPY, b"initial state"), (0, PRECOPY, b"dirty"),
                          (0, STOPCOPY, b"the rest of the device state")])
    pair = stream(two, [(0, PRECOPY, b"s0 pre"), (1, PRECOPY, b"s1 pre"),
                        (1, STOPCOPY, b"s1 stop"), (0, PRECOPY, b"s0 pre 2"),
                        (0, STOPCOPY, b"s0 stop")])
    trio = stream(three, [(2, STOPCOPY, b"c"), (0, STOPCOPY, b"aa"), (1, STOPCOPY, b"bbb")])
    other = stream(one, [(0, PRECOPY, b"initial state"), (0, PRECOPY, b"dirty"),
                         (0, STOPCOPY, b"the rest of the device state")],
                   sid=0x0123456789ABCDEE)
    v3 = bytearray(pair)
    struct.pack_into("<I", v3, 8, 3)
    return {
        "single": AS_IS + single,
        "single-fixed": FIX + single,
        "pair": AS_IS + pair,
        "pair-fixed": FIX + pair,
        "trio": AS_IS + trio,
        "stop-only": AS_IS + stream(one, [(0, STOPCOPY, b"x")]),
        "foreign-chunk": AS_IS + splice(single, other, 2),
        "end-of-device-1": FIX + stream(two, [(0, STOPCOPY, b"a"), (1, STOPCOPY, b"b")],
                                        end_dev=1),
        "version-3": FIX + bytes(v3),
    }


def main(argv):
    if len(argv) == 3 and argv[1] == "seeds":
        for name, data in seeds().items():
            with open(os.path.join(argv[2], name), "wb") as f:
                f.write(data)
    elif len(argv) == 3 and argv[1] == "chunks":
        with open(argv[2], "rb") as f:
            for c in chunks_of(f.read()):
                print(*c)
    elif len(argv) == 6 and argv[1] == "splice":
        with open(argv[2], "rb") as f:
            a = f.read()
        with open(argv[3], "rb") as f:
            b = f.read()
        with open(argv[5], "wb") as f:
            f.write(splice(a, b, int(argv[4])))
    elif len(argv) >= 4 and argv[1] == "rename":
        with open(argv[2], "rb") as f:
            data = f.read()
        with open(argv[3], "wb") as f:
            f.write(rename(data, argv[4:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
