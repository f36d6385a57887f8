#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Independent partition-table reader for the cvm-growroot tests: written
# from the UEFI specification (2.10, section 5: MBR, GPT header and entry
# array) and the classic MBR layout with struct and zlib, sharing no code
# with libfdisk or growroot/. It only reads.
#
#   ptable-inspect.py PATH SECTOR_SIZE
#
# PATH is an image file or a block device. Prints shell-evaluable KEY=VALUE
# lines:
#   sectors             size of PATH in logical sectors
#   label               gpt (protective MBR + valid primary header), dos, none
#   pmbr_size           GPT: the protective MBR entry's size field (sectors)
#   primary_valid       1 if LBA 1 holds a header whose own CRC32, MyLBA and
#                       entry-array CRC32 are right
#   alternate_lba       the primary header's AlternateLBA
#   first_usable, last_usable, entries_lba, entries, entry_size
#   backup_valid        1 if a valid header sits at AlternateLBA, names
#                       itself (MyLBA) there, points back to LBA 1 and its
#                       entry array equals the primary's
#   partN_start, partN_end   inclusive sectors of each used entry (N from 1;
#                       dos: primary entries 1-4 only)
import os
import struct
import sys
import zlib

HDR = struct.Struct("<8sIIIIQQQQ16sQIII")  # 92 bytes, UEFI 2.10 table 5.21


def read_at(fd, off, n):
    b = os.pread(fd, n, off)
    if len(b) != n:
        raise SystemExit("short read at %d" % off)
    return b


def header(fd, ss, lba, sectors):
    """The GPT header at @lba and its entry array, or None if invalid."""
    if lba >= sectors:
        return None
    raw = read_at(fd, lba * ss, ss)
    (sig, _rev, hsize, crc, _res, my, alt, first, last, _guid, elba, n, esize,
     ecrc) = HDR.unpack_from(raw)
    if sig != b"EFI PART" or hsize < HDR.size or hsize > ss:
        return None
    body = bytearray(raw[:hsize])
    body[16:20] = b"\0\0\0\0"
    if zlib.crc32(body) != crc or my != lba:
        return None
    if n == 0 or n > 4096 or esize < 128 or esize > 4096 or elba >= sectors:
        return None
    ents = read_at(fd, elba * ss, n * esize)
    if zlib.crc32(ents) != ecrc:
        return None
    return dict(alt=alt, first=first, last=last, elba=elba, n=n, esize=esize, ents=ents)


def main():
    path, ss = sys.argv[1], int(sys.argv[2])
    fd = os.open(path, os.O_RDONLY)
    size = os.lseek(fd, 0, os.SEEK_END)
    sectors = size // ss
    out = {"sectors": sectors}
    mbr = read_at(fd, 0, 512)
    parts = []
    mbr_ents = [struct.unpack_from("<B3xB3xII", mbr, 446 + 16 * i) for i in range(4)]
    if mbr[510:512] != b"\x55\xaa":
        out["label"] = "none"
    elif any(t == 0xEE for _, t, _, _ in mbr_ents):
        out["label"] = "gpt"
        out["pmbr_size"] = next(n for _, t, _, n in mbr_ents if t == 0xEE)
        p = header(fd, ss, 1, sectors)
        out["primary_valid"] = int(p is not None)
        if p is not None:
            out.update(alternate_lba=p["alt"], first_usable=p["first"], last_usable=p["last"],
                       entries_lba=p["elba"], entries=p["n"], entry_size=p["esize"])
            b = header(fd, ss, p["alt"], sectors)
            out["backup_valid"] = int(b is not None and b["alt"] == 1 and b["ents"] == p["ents"]
                                      and b["first"] == p["first"] and b["last"] == p["last"])
            for i in range(p["n"]):
                e = p["ents"][i * p["esize"]:(i + 1) * p["esize"]]
                if e[:16] != b"\0" * 16:
                    start, end = struct.unpack_from("<QQ", e, 32)
                    parts.append((i + 1, start, end))
    else:
        out["label"] = "dos"
        for i, (_, t, start, n) in enumerate(mbr_ents):
            if t != 0 and n != 0:
                parts.append((i + 1, start, start + n - 1))
    for i, start, end in parts:
        out["part%d_start" % i] = start
        out["part%d_end" % i] = end
    for k, v in out.items():
        print("%s=%s" % (k, v))


main()
