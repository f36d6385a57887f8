/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Planning the partition step from the partition table alone: every byte
 * of it comes from the disk, i.e. from the host, so this is the parser of
 * hostile input that fuzz/fuzz-gpt.c runs on in-memory images. */
#include <inttypes.h>
#include <unistd.h>

#include "fdisk-util.h"
#include "gpt-header.h"
#include "growroot.h"
#include "log.h"

/* Does sector 0 hold a protective MBR (an entry of type 0xEE)? Then the
 * disk is GPT, whatever libfdisk made of it: when neither GPT header is
 * usable (primary corrupt and the backup not at the end of a grown disk,
 * or a disk smaller than its GPT) libfdisk falls back to reading the
 * protective MBR as a DOS table whose partition 1 is the 0xEE entry, and
 * growing that would mean writing a DOS table over a GPT disk. */
int has_protective_mbr(int fd) {
        uint8_t mbr[512];
        ssize_t k;

        k = pread(fd, mbr, sizeof mbr, 0);
        if (k != (ssize_t) sizeof mbr)
                return k < 0 ? negative_errno() : -EIO;
        if (mbr[510] != 0x55 || mbr[511] != 0xAA)
                return 0;
        for (size_t i = 0; i < 4; i++)
                if (mbr[446 + 16 * i + 4] == 0xEE)
                        return 1;
        return 0;
}

/* Explain a protective MBR without a GPT libfdisk could use: a disk
 * smaller than its primary header says, or a corrupt primary GPT whose
 * backup is not where the disk ends. Never repaired: which copy is right
 * is not ours to guess. */
static int refuse_unusable_gpt(int fd, const BlockStack *s, uint64_t ss, uint64_t nsect) {
        GptHeader h;

        if (gpt_header_read(fd, ss, 1, /* verify= */ false, &h) >= 0 && h.alternate > nsect - 1)
                return log_refusal_errno(SYNTHETIC_ERRNO(EUCLEAN),
                                         "'%s' is smaller than its GPT says (backup header at LBA %" PRIu64
                                         ", disk has %" PRIu64 " sectors); not growing.", s->disk, h.alternate, nsect);
        return log_refusal_errno(SYNTHETIC_ERRNO(EUCLEAN),
                                 "'%s' has a protective MBR but no valid GPT: the primary GPT is corrupt and no "
                                 "backup GPT is at the end of the disk; not growing, not repairing.", s->disk);
}

/* Is the partition the last one before free space? Any other partition
 * starting after it blocks growth. */
static int check_last(struct fdisk_context *c, size_t partno0, uint64_t start) {
        _cleanup_(fdisk_unref_tablep) struct fdisk_table *tb = NULL;
        struct fdisk_partition *pa;
        struct fdisk_iter *it;
        int r;

        r = fdisk_get_partitions(c, &tb);
        if (r < 0)
                return r;
        it = fdisk_new_iter(FDISK_ITER_FORWARD);
        if (!it)
                return -ENOMEM;
        while (fdisk_table_next_partition(tb, it, &pa) == 0) {
                if (fdisk_partition_get_partno(pa) == partno0 || !fdisk_partition_has_start(pa))
                        continue;
                if (fdisk_partition_get_start(pa) > start) {
                        size_t next = fdisk_partition_get_partno(pa) + 1;
                        fdisk_free_iter(it);
                        return log_refusal_errno(SYNTHETIC_ERRNO(ENOTEMPTY),
                                                 "Partition %zu follows partition %zu on '%s'; only the last "
                                                 "partition grows.", next, partno0 + 1, fdisk_get_devname(c));
                }
        }
        fdisk_free_iter(it);
        return 0;
}

int part_plan_table(struct fdisk_context *c, int fd, const BlockStack *s, const char *corrupt, PartPlan *ret) {
        _cleanup_(fdisk_unref_partitionp) struct fdisk_partition *pa = NULL;
        uint64_t ss = fdisk_get_sector_size(c), nsect = fdisk_get_nsectors(c), grain, last_usable;
        size_t partno0 = s->partno - 1;
        PartPlan p = { .sector_size = ss };
        int r;

        if (!fdisk_is_label(c, GPT)) {
                r = has_protective_mbr(fd);
                if (r < 0)
                        return log_debug_errno(r, "Cannot read the MBR of '%s': %m", s->disk);
                if (r > 0)
                        return refuse_unusable_gpt(fd, s, ss, nsect);
        }
        if (!fdisk_has_label(c))
                return log_refusal_errno(SYNTHETIC_ERRNO(ENOMEDIUM), "'%s' has no partition table.", s->disk);
        /* libfdisk would "correct" it from the other copy on write; we
         * don't: which copy is right is not ours to guess. */
        if (corrupt)
                return log_refusal_errno(SYNTHETIC_ERRNO(EUCLEAN),
                                         "Partition table of '%s' is damaged (libfdisk: \"%s\"); not growing, not "
                                         "repairing.", s->disk, corrupt);

        if (fdisk_is_label(c, GPT)) {
                GptHeader h;
                p.label = "gpt";
                /* Fields libfdisk does not give; it validated the CRCs when
                 * it loaded the table. */
                r = gpt_header_read(fd, ss, 1, /* verify= */ false, &h);
                if (r < 0)
                        return log_refusal_errno(SYNTHETIC_ERRNO(EUCLEAN), "Primary GPT header of '%s' unreadable.",
                                                 s->disk);
                if (h.alternate > nsect - 1)
                        return log_refusal_errno(SYNTHETIC_ERRNO(EUCLEAN),
                                                 "'%s' is smaller than its GPT says (backup header at LBA %" PRIu64
                                                 ", disk has %" PRIu64 " sectors); not growing.", s->disk, h.alternate,
                                                 nsect);
                p.relocate_backup = h.alternate != nsect - 1;
                last_usable = nsect - 2 - h.entries_sectors;
        } else if (fdisk_is_label(c, DOS)) {
                p.label = "dos";
                if (s->partno > 4)
                        return log_refusal_errno(SYNTHETIC_ERRNO(EOPNOTSUPP),
                                                 "Partition %u of '%s' is a logical DOS partition; only primary "
                                                 "partitions grow.", s->partno, s->disk);
                /* MBR fields are 32-bit sector counts. */
                last_usable = MIN(nsect - 1, (uint64_t) UINT32_MAX - 1);
        } else
                return log_refusal_errno(SYNTHETIC_ERRNO(EOPNOTSUPP),
                                         "'%s' has a %s partition table; only GPT and DOS tables grow.", s->disk,
                                         fdisk_label_get_name(fdisk_get_label(c, NULL)));

        r = fdisk_get_partition(c, partno0, &pa);
        if (r < 0 || !fdisk_partition_is_used(pa))
                return log_debug_errno(SYNTHETIC_ERRNO(ENXIO), "Partition %u not found on '%s'.", s->partno, s->disk);
        p.start = fdisk_partition_get_start(pa);
        p.old_end = fdisk_partition_get_end(pa);
        if (p.old_end > last_usable)
                return log_refusal_errno(SYNTHETIC_ERRNO(EUCLEAN),
                                         "Partition %u ends beyond the end of '%s' (sector %" PRIu64 ", last usable %"
                                         PRIu64 "): the disk is smaller than the table claims; not growing.",
                                         s->partno, s->disk, p.old_end, last_usable);
        r = check_last(c, partno0, p.start);
        if (r < 0)
                return r;

        /* End on a grain boundary (1 MiB unless the disk says otherwise),
         * so what follows a later growth stays aligned. Never shrink. */
        grain = MAX(fdisk_get_grain_size(c) / ss, 1);
        p.new_end = (last_usable + 1) / grain * grain - 1;
        if (p.new_end < p.old_end)
                p.new_end = p.old_end;

        *ret = p;
        return 0;
}

