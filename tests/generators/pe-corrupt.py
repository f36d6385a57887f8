#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile PE/COFF images for tests/unit/test-pe-eventlog.sh.

    pe-corrupt.py GOOD.efi OUTDIR

GOOD is a real EFI application (systemd-boot, signed). Each case is one
reviewable mutation of it; writes OUTDIR/NNN.efi and OUTDIR/cases.tsv
("NNN<TAB>name"). Every case must be refused by lib/pe-authenticode.c with
a reason, and nothing may be read out of bounds (the fuzz target checks
the latter under ASan)."""
import os
import struct
import sys

good = bytearray(open(sys.argv[1], "rb").read())
outdir = sys.argv[2]
pe = struct.unpack_from("<I", good, 0x3C)[0]
opt = pe + 24
opt_size = struct.unpack_from("<H", good, pe + 20)[0]
magic = struct.unpack_from("<H", good, opt)[0]
dirs = opt + (112 if magic == 0x20B else 96)
sect = opt + opt_size
cases = []


def case(name, data):
    cases.append((name, bytes(data)))


def mutate(name, fn):
    d = bytearray(good)
    fn(d)
    case(name, d)


def put32(off, v):
    return lambda d: struct.pack_into("<I", d, off, v)


def put16(off, v):
    return lambda d: struct.pack_into("<H", d, off, v)


case("empty file", b"")
case("DOS header only", good[:64])
mutate("no MZ magic", lambda d: d.__setitem__(slice(0, 2), b"ZM"))
mutate("e_lfanew beyond the file", put32(0x3C, len(good) + 16))
mutate("e_lfanew at the last bytes", put32(0x3C, len(good) - 6))
mutate("no PE signature", lambda d: d.__setitem__(slice(pe, pe + 4), b"PX\0\0"))
mutate("zero sections", put16(pe + 6, 0))
mutate("65535 sections", put16(pe + 6, 0xFFFF))
mutate("optional header size 0", put16(pe + 20, 0))
mutate("optional header beyond the file", put16(pe + 20, 0xFFFF))
mutate("unknown optional header magic", put16(opt, 0x107))
mutate("NumberOfRvaAndSizes 0x10000", put32(dirs - 4, 0x10000))
mutate("SizeOfHeaders beyond the file", put32(opt + 60, len(good) + 4096))
mutate("SizeOfHeaders smaller than the section table", put32(opt + 60, sect))
mutate("certificate table beyond the file", put32(dirs + 4 * 8 + 4, len(good)))
mutate("certificate table offset beyond the file", put32(dirs + 4 * 8, 0xFFFFFFF0))
mutate("first section's raw data beyond the file", put32(sect + 20, len(good)))
mutate("first section's raw size beyond the file", put32(sect + 16, 0x7FFFFFFF))
mutate("first section's raw size wraps", lambda d: (put32(sect + 20, 0xFFFFF000)(d), put32(sect + 16, 0x2000)(d)))
mutate("VirtualSize 4 GiB", put32(sect + 8, 0xFFFFFFFF))
mutate("first section's raw data overlaps the headers", put32(sect + 20, 0))
case("truncated inside the section table", good[: sect + 20])
case("truncated inside the first section", good[: struct.unpack_from("<I", good, sect + 20)[0] + 8])

os.makedirs(outdir, exist_ok=True)
with open(os.path.join(outdir, "cases.tsv"), "w") as tsv:
    for i, (name, data) in enumerate(cases):
        open(os.path.join(outdir, "%03d.efi" % i), "wb").write(data)
        tsv.write("%03d\t%s\n" % (i, name))
