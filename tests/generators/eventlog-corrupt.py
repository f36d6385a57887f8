#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile TPM event logs for tests/unit/test-pe-eventlog.sh.

    eventlog-corrupt.py GOOD.bin OUTDIR

GOOD is a real crypto-agile event log (captured from OVMF in the vm tier,
fuzz/corpus/fuzz-eventlog/ovmf-uki.bin). Each case is one reviewable
mutation, written from the TCG PC Client PFP layout (not from the parser
under test): OUTDIR/NNN.bin and OUTDIR/cases.tsv ("NNN<TAB>name"). Every
case must be refused with a reason."""
import os
import struct
import sys

good = bytearray(open(sys.argv[1], "rb").read())
outdir = sys.argv[2]

# First event (SHA-1 layout): pcr, type, sha1[20], size, data.
spec_size = struct.unpack_from("<I", good, 28)[0]
spec = 32  # start of the Spec ID event's data
n_algs = struct.unpack_from("<I", good, spec + 24)[0]
algs = [struct.unpack_from("<HH", good, spec + 28 + 4 * i) for i in range(n_algs)]
first = 32 + spec_size  # the first TCG_PCR_EVENT2
sizes = dict(algs)


def event_end(off):
    n = struct.unpack_from("<I", good, off + 8)[0]
    p = off + 12
    for _ in range(n):
        alg = struct.unpack_from("<H", good, p)[0]
        p += 2 + sizes[alg]
    return p + 4 + struct.unpack_from("<I", good, p)[0], p


cases = []


def case(name, data):
    cases.append((name, bytes(data)))


def mutate(name, off, fmt, value):
    d = bytearray(good)
    struct.pack_into(fmt, d, off, value)
    case(name, d)


second_end, second_size_off = event_end(first)
case("empty", b"")
case("truncated in the first header", good[:20])
case("truncated in the Spec ID event", good[: spec + 10])
mutate("Spec ID signature wrong", spec, "<16s", b"Spec ID Event99\0")
mutate("TPM 1.2 (SHA-1 only) log", spec, "<16s", b"Spec ID Event00\0")
mutate("first event not EV_NO_ACTION", 4, "<I", 1)
mutate("zero algorithms", spec + 24, "<I", 0)
mutate("a million algorithms", spec + 24, "<I", 1000000)
mutate("sha256 declared with 20 bytes", spec + 28 + 4 * [a for a, _ in algs].index(0x000B) + 2, "<H", 20)
mutate("Spec ID event size too small", 28, "<I", spec_size - 1)
mutate("event PCR index 24", first, "<I", 24)
mutate("event digest count differs", first + 8, "<I", n_algs + 1)
mutate("event digest of an undeclared algorithm", first + 12, "<H", 0x0012)
mutate("event data size beyond the log", second_size_off, "<I", 0x7FFFFFFF)
mutate("event data size 4 GiB - 1", second_size_off, "<I", 0xFFFFFFFF)
case("truncated inside the first event's digests", good[: first + 20])
case("truncated inside an event's data", good[: second_end - 1])
case("trailing garbage after the last event", good + b"\x01\x02\x03")

# A log without a sha256 bank: only sha1 declared and used.
if 0x0004 in sizes:
    d = bytearray(good[:spec + 24])
    d += struct.pack("<IHH", 1, 0x0004, 20) + good[spec + 28 + 4 * n_algs:first]
    struct.pack_into("<I", d, 28, len(d) - 32)
    case("no sha256 bank", d)

os.makedirs(outdir, exist_ok=True)
with open(os.path.join(outdir, "cases.tsv"), "w") as tsv:
    for i, (name, data) in enumerate(cases):
        open(os.path.join(outdir, "%03d.bin" % i), "wb").write(data)
        tsv.write("%03d\t%s\n" % (i, name))
