/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Growing the partition: libfdisk writes the table (it also moves the GPT
 * backup header to the end of a grown disk), BLKPG_RESIZE_PARTITION tells
 * the running kernel, all under a BSD lock on the whole disk as udev and
 * systemd-repart take it. */
#include <fcntl.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/ioctl.h>

#include "fdisk-util.h"
#include "file-util.h"
#include "gpt-header.h"
#include "growroot.h"
#include "log.h"
#include "test-hook.h"

static int read_u64_file(const char *path, uint64_t *ret) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        unsigned long long v;

        if (!f)
                return negative_errno();
        if (fscanf(f, "%llu", &v) != 1)
                return -EIO;
        *ret = v;
        return 0;
}

/* The kernel's idea of the partition, from sysfs (512-byte units). */
static int kernel_part_size(const BlockStack *s, uint64_t ss, uint64_t *ret_sectors) {
        _cleanup_free_ char *p = NULL;
        uint64_t v;
        int r;

        if (asprintf(&p, "/sys/class/block/%s/size", strrchr(s->part_device, '/') + 1) < 0)
                return -ENOMEM;
        r = read_u64_file(p, &v);
        if (r < 0)
                return r;
        *ret_sectors = v * 512 / ss;
        return 0;
}

/* @corrupt: libfdisk's complaint about the table, if it had one. */
static int plan_on(struct fdisk_context *c, int fd, const BlockStack *s, const char *corrupt, PartPlan *ret) {
        PartPlan p;
        int r;

        r = part_plan_table(c, fd, s, corrupt, &p);
        if (r < 0)
                return r;
        r = kernel_part_size(s, p.sector_size, &p.kernel_size);
        if (r < 0)
                return log_debug_errno(r, "Cannot read the kernel's size of '%s': %m", s->part_device);

        *ret = p;
        return p.new_end > p.old_end || p.relocate_backup || p.kernel_size != p.new_end - p.start + 1;
}

static uint64_t get_le64(const uint8_t *p) {
        uint64_t v;
        memcpy(&v, p, 8);
        return le64toh(v);
}

/* One GPT copy: its header and entry array, read and checked as the UEFI
 * spec says (gpt-header.c). 0 valid, <0 anything else. */
typedef struct GptCopy {
        GptHeader header;
        uint8_t *entries;
} GptCopy;

static int gpt_copy_read(int fd, uint64_t ss, uint64_t nsect, uint64_t lba, bool verify_entries, GptCopy *g) {
        int r;

        r = gpt_header_read(fd, ss, lba, /* verify= */ true, &g->header);
        if (r < 0)
                return r;
        return gpt_entries_read(fd, ss, nsect, &g->header, verify_entries, &g->entries);
}

/* Partition @partno (1-based) of an intact copy's entry array: used, and
 * no used entry starts after it (part_plan() refuses to grow a partition
 * that another follows). */
static bool gpt_partition_is_last(const GptCopy *g, uint32_t partno, uint64_t *ret_start, uint64_t *ret_end) {
        static const uint8_t unused[16] = {};
        const uint8_t *ours;
        uint64_t start;

        if (partno == 0 || partno > g->header.n_entries)
                return false;
        ours = g->entries + (size_t) (partno - 1) * g->header.entry_size;
        if (memcmp(ours, unused, 16) == 0)
                return false;
        start = get_le64(ours + 32);
        for (uint32_t i = 0; i < g->header.n_entries; i++) {
                const uint8_t *e = g->entries + (size_t) i * g->header.entry_size;

                if (i != partno - 1 && memcmp(e, unused, 16) != 0 && get_le64(e + 32) > start)
                        return false;
        }
        *ret_start = start;
        *ret_end = get_le64(ours + 40);
        return *ret_end >= start;
}

static uint64_t sysfs_u64_or_zero(const char *fmt, const char *name) {
        _cleanup_free_ char *p = NULL;
        uint64_t v = 0;

        if (asprintf(&p, fmt, name) < 0 || read_u64_file(p, &v) < 0)
                return 0;
        return v;
}

enum {
        QUICK_UNSURE = 0, /* libfdisk decides, read-only first */
        QUICK_NOOP = 1,   /* nothing to grow: the plan is filled in */
        QUICK_GROWN = 2,  /* the disk grew under an intact GPT: a write follows */
};

/* The no-op check of every boot but the first, without libfdisk:
 * QUICK_NOOP when the disk surely has nothing to grow (the plan filled in
 * as part_plan() would fill it), QUICK_UNSURE when anything differs or is
 * not certain — a DOS label, a GPT copy that is not intact and where it
 * belongs, an unusual I/O topology — and then part_plan() decides and
 * refuses bad input as always. Intact means what libfdisk checks: both
 * headers' CRCs and MyLBAs, both entry arrays' CRCs, the backup in the
 * last sector. QUICK_GROWN: the first boot on a bigger disk — the primary
 * copy intact, its backup before the disk's last sector, our partition the
 * last one: libfdisk will relocate the backup, so a read-only libfdisk
 * plan before the one under the write lock would only probe the disk a
 * second time (a libfdisk context, its blkid probe and topology ioctls:
 * tens of ms under TCG, bench/growroot BENCH_TRACE=1). */
static int part_quick_noop(const BlockStack *s, PartPlan *ret) {
        _cleanup_close_ int fd = -EBADF;
        GptCopy primary = {}, backup = {};
        uint64_t size, nsect, start = 0, end = 0, last_usable, grain, kernel;
        unsigned io_min = 0, io_opt = 0;
        const char *disk = strrchr(s->disk, '/') + 1;
        int ss = 0, align = 0, r = QUICK_UNSURE;

        fd = open(s->disk, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return 0;
        if (ioctl(fd, BLKSSZGET, &ss) < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0 || ioctl(fd, BLKIOMIN, &io_min) < 0 ||
            ioctl(fd, BLKIOOPT, &io_opt) < 0 || ioctl(fd, BLKALIGNOFF, &align) < 0)
                return 0;
        /* libfdisk's grain is 1 MiB unless the device asks for more, or is
         * too small for it (a few MiB): then stay out. */
        if (ss < 512 || ss > 65536 || io_min > 1048576 || io_opt > 1048576 || align != 0 ||
            size < UINT64_C(64) * 1048576)
                return 0;
        nsect = size / (uint64_t) ss;
        if (has_protective_mbr(fd) <= 0)
                return 0;
        if (gpt_copy_read(fd, ss, nsect, 1, true, &primary) < 0)
                goto out;
        if (primary.header.alternate < nsect - 1) {
                if (gpt_partition_is_last(&primary, s->partno, &start, &end))
                        r = QUICK_GROWN;
                goto out;
        }
        /* The backup's entry array is checked against the primary's, byte
         * for byte, and its header's CRC of it against the primary's: its
         * own CRC then follows without computing it a second time. */
        if (primary.header.alternate != nsect - 1 ||
            gpt_copy_read(fd, ss, nsect, nsect - 1, false, &backup) < 0 || backup.header.alternate != 1 ||
            backup.header.n_entries != primary.header.n_entries ||
            backup.header.entry_size != primary.header.entry_size ||
            backup.header.entries_crc != primary.header.entries_crc ||
            memcmp(primary.entries, backup.entries, (size_t) primary.header.n_entries * primary.header.entry_size) !=
                    0)
                goto out;

        if (!gpt_partition_is_last(&primary, s->partno, &start, &end))
                goto out;

        /* Where part_plan() would end it: the last usable sector, down to
         * a grain boundary. Nothing to do only if it ends there already
         * and the kernel agrees. */
        last_usable = nsect - 2 - primary.header.entries_sectors;
        grain = MAX(UINT64_C(1048576) / (uint64_t) ss, 1);
        if (end > last_usable || (last_usable + 1) / grain * grain - 1 > end)
                goto out;
        kernel = sysfs_u64_or_zero("/sys/class/block/%s/size", strrchr(s->part_device, '/') + 1) * 512 / (uint64_t) ss;
        if (kernel != end - start + 1 ||
            sysfs_u64_or_zero("/sys/class/block/%s/size", disk) * 512 != size)
                goto out;

        *ret = (PartPlan) {
                .label = "gpt",
                .sector_size = (uint64_t) ss,
                .start = start,
                .old_end = end,
                .new_end = end,
                .kernel_size = kernel,
        };
        r = QUICK_NOOP;
out:
        free(primary.entries);
        free(backup.entries);
        return r;
}

static int open_disk(const char *disk, bool write, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open(disk, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return errno == EROFS || errno == EACCES ? -EROFS : negative_errno();
        if (write) {
                r = fd_is_read_only_blockdev(fd);
                if (r < 0)
                        return r;
                if (r > 0)
                        return -EROFS;
                /* Exclusive BSD lock: udev skips probing a locked disk and
                 * other partitioners (systemd-repart, sfdisk) wait. */
                if (flock(fd, LOCK_EX) < 0)
                        return negative_errno();
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The plan libfdisk makes on the disk opened read-only. */
static int part_plan_readonly(const BlockStack *s, PartPlan *ret) {
        _cleanup_(fdisk_unref_contextp) struct fdisk_context *c = NULL;
        _cleanup_free_ char *corrupt = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = open_disk(s->disk, false, &fd);
        if (r < 0)
                return log_debug_errno(r, "Failed to open '%s': %m", s->disk);
        r = fdisk_open_fd(fd, s->disk, true, &corrupt, &c);
        if (r < 0)
                return r;
        return plan_on(c, fd, s, corrupt, ret);
}

static int quick_check(const BlockStack *s, PartPlan *ret) {
        int r = part_quick_noop(s, ret);

        if (r == QUICK_NOOP)
                log_debug("Partition %u of '%s' ends where it can end (GPT, sysfs): nothing to do.", s->partno,
                          s->disk);
        return r;
}

int part_plan(const BlockStack *s, PartPlan *ret) {
        if (quick_check(s, ret) == QUICK_NOOP)
                return 0;
        return part_plan_readonly(s, ret);
}

static int tell_kernel(int fd, const BlockStack *s, const PartPlan *p) {
        struct blkpg_partition bp = {
                .start = (long long) (p->start * p->sector_size),
                .length = (long long) ((p->new_end - p->start + 1) * p->sector_size),
                .pno = (int) s->partno,
        };
        struct blkpg_ioctl_arg arg = {
                .op = BLKPG_RESIZE_PARTITION,
                .datalen = sizeof bp,
                .data = &bp,
        };

        if (ioctl(fd, BLKPG, &arg) < 0)
                return log_debug_errno(errno, "BLKPG_RESIZE_PARTITION of '%s' failed: %m", s->part_device);
        return 0;
}

int part_apply(const BlockStack *s, PartPlan *ret) {
        _cleanup_(fdisk_unref_contextp) struct fdisk_context *c = NULL;
        _cleanup_(fdisk_unref_partitionp) struct fdisk_partition *pa = NULL;
        _cleanup_free_ char *corrupt = NULL;
        _cleanup_close_ int fd = -EBADF;
        bool table_done;
        PartPlan p;
        int r;

        /* Plan read-only first: at every boot but the ones after a disk
         * growth there is nothing to do, and then the disk is neither locked
         * nor opened for writing (closing a disk opened for writing makes
         * udev re-probe it). When the quick check saw the disk grown under
         * an intact GPT, a write follows: straight to the plan under the
         * lock, which checks everything again. */
        r = quick_check(s, &p);
        if (r == QUICK_NOOP) {
                *ret = p;
                return 0;
        }
        if (r != QUICK_GROWN) {
                r = part_plan_readonly(s, &p);
                if (r <= 0) {
                        if (r == 0)
                                *ret = p;
                        return r;
                }
        }

        r = open_disk(s->disk, true, &fd);
        if (r == -EROFS)
                /* A read-only disk is bad input only when there is something
                 * to write: a rerun with nothing to grow returned above. */
                return log_refusal_errno(SYNTHETIC_ERRNO(EROFS),
                                         "'%s' is read-only; cannot grow partition %u to the end of the disk.",
                                         s->disk, s->partno);
        if (r < 0)
                return log_debug_errno(r, "Failed to open '%s' for writing: %m", s->disk);
        r = fdisk_open_fd(fd, s->disk, false, &corrupt, &c);
        if (r < 0)
                return r;
        /* Plan again under the lock: the table may have changed since. */
        r = plan_on(c, fd, s, corrupt, &p);
        if (r <= 0) {
                if (r == 0)
                        *ret = p;
                return r;
        }

        table_done = p.new_end == p.old_end && !p.relocate_backup;
        if (!table_done) {
                pa = fdisk_new_partition();
                if (!pa)
                        return -ENOMEM;
                r = fdisk_partition_set_size(pa, p.new_end - p.start + 1);
                if (r < 0)
                        return r;
                r = fdisk_set_partition(c, s->partno - 1, pa);
                if (r < 0)
                        return log_debug_errno(r, "libfdisk refused to grow partition %u: %m", s->partno);
                r = fdisk_write_disklabel(c);
                if (r < 0)
                        return log_debug_errno(r, "Failed to write the partition table of '%s': %m", s->disk);
                if (fsync(fd) < 0)
                        return negative_errno();
                test_hook("part:table-written");
        }

        if (p.kernel_size != p.new_end - p.start + 1) {
                r = tell_kernel(fd, s, &p);
                if (r < 0)
                        return r;
                test_hook("part:kernel-told");
        }
        *ret = p;
        return 1;
}
