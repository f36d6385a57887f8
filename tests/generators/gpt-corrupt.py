#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hostile GPTs for tests/host/test-growroot-bad.sh, made in place on a disk
# so each corruption can be read here rather than hidden in a binary image.
#
#   gpt-corrupt.py PATH SECTOR_SIZE WHAT
#
# PATH is the loop device (write through it, not through its backing file,
# so the block device's page cache, which cvm-growroot reads, sees the
# change). WHAT:
#   primary-header   flip one byte of the primary header's DiskGUID (LBA 1,
#                    byte 56): signature and sizes stay plausible, only the
#                    header CRC32 gives it away.
#   backup-header    the same in the backup header, found where the primary
#                    says it is (AlternateLBA) -- the last sector of the disk
#                    as it was partitioned.
#   primary-entries  flip one byte of entry 1's name in the primary entry
#                    array: the header is intact, the array CRC32 is not.
# Prints what it changed.
import os
import struct
import sys


def flip(fd, off, what):
    old = os.pread(fd, 1, off)
    if len(old) != 1:
        raise SystemExit("cannot read offset %d" % off)
    new = bytes([old[0] ^ 0xFF])
    if os.pwrite(fd, new, off) != 1:
        raise SystemExit("cannot write offset %d" % off)
    os.fsync(fd)
    print("%s: byte %d: 0x%02x -> 0x%02x" % (what, off, old[0], new[0]))


def main():
    path, ss, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    fd = os.open(path, os.O_RDWR)
    primary = os.pread(fd, 92, ss)
    if primary[:8] != b"EFI PART":
        raise SystemExit("%s: no GPT header at LBA 1" % path)
    alternate, = struct.unpack_from("<Q", primary, 32)
    entries_lba, = struct.unpack_from("<Q", primary, 72)
    if what == "primary-header":
        flip(fd, ss + 56, what)
    elif what == "backup-header":
        if (alternate + 1) * ss > os.lseek(fd, 0, os.SEEK_END):
            raise SystemExit("%s: AlternateLBA %d beyond the disk" % (path, alternate))
        if os.pread(fd, 8, alternate * ss) != b"EFI PART":
            raise SystemExit("%s: no backup header at LBA %d" % (path, alternate))
        flip(fd, alternate * ss + 56, what)
    elif what == "primary-entries":
        flip(fd, entries_lba * ss + 56, what)  # entry 1, PartitionName
    else:
        raise SystemExit("unknown corruption '%s'" % what)


main()
