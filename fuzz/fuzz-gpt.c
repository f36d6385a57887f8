/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The partition table as cvm-growroot plans from it: libfdisk reads the
 * GPT or DOS table of a disk image, then part_plan_table()
 * (growroot/growroot-table.c) checks and bounds it and computes the new
 * end of the partition.
 *
 * The input is the whole disk image (512-byte sectors). It goes into a
 * memfd, which libfdisk reads like a disk through its fd, twice: as it is
 * (a disk the image fills) and with the same bytes at the start of a disk
 * twice as large (the first boot after the disk was grown: the backup GPT
 * is no longer at the end). Partitions 1..4 are planned on each. Before
 * that, the GPT header reader (growroot/gpt-header.c) reads both copies
 * the way cvm-growroot's quick no-op check does, CRCs verified. */
#include <sys/mman.h>
#include <unistd.h>

#include "fdisk-util.h"
#include "file-util.h"
#include "fuzz.h"
#include "gpt-header.h"
#include "growroot.h"
#include "log.h"

/* The header at @lba and its entries, as the quick no-op check reads a
 * copy. Accepted: an entry array inside the disk, after the MBR and the
 * primary header, as big as its header says. */
static void read_copy(int fd, uint64_t nsect, uint64_t lba) {
        _cleanup_free_ uint8_t *entries = NULL;
        GptHeader h;

        if (gpt_header_read(fd, 512, lba, /* verify= */ true, &h) < 0)
                return;
        FUZZ_CHECK(h.n_entries >= 1 && h.n_entries <= 4096);
        FUZZ_CHECK(h.entry_size >= 128 && h.entry_size <= 4096 && h.entry_size % 8 == 0);
        FUZZ_CHECK(h.entries_sectors * 512 >= (uint64_t) h.n_entries * h.entry_size);
        if (gpt_entries_read(fd, 512, nsect, &h, /* verify= */ true, &entries) < 0)
                return;
        FUZZ_CHECK(h.entries_lba >= 2 && h.entries_lba + h.entries_sectors <= nsect);
        FUZZ_CHECK(gpt_crc32(entries, (size_t) h.n_entries * h.entry_size) == h.entries_crc);
}

static void plan_all(int fd, uint64_t disk_bytes) {
        _cleanup_(fdisk_unref_contextp) struct fdisk_context *c = NULL;
        _cleanup_free_ char *corrupt = NULL;
        char disk[] = "/dev/fuzz";

        read_copy(fd, disk_bytes / 512, 1);
        read_copy(fd, disk_bytes / 512, disk_bytes / 512 - 1);
        if (fdisk_open_fd(fd, disk, /* readonly= */ true, &corrupt, &c) < 0)
                return;
        for (unsigned partno = 1; partno <= 4; partno++) {
                BlockStack s = { .disk = disk, .partno = partno };
                PartPlan p;

                if (part_plan_table(c, fd, &s, corrupt, &p) < 0)
                        continue;
                /* An accepted plan stays inside the disk and never shrinks. */
                FUZZ_CHECK(p.sector_size == 512);
                FUZZ_CHECK(p.start <= p.old_end);
                FUZZ_CHECK(p.old_end <= p.new_end);
                FUZZ_CHECK((p.new_end + 1) * p.sector_size <= disk_bytes);
                FUZZ_CHECK(p.label && (strcmp(p.label, "gpt") == 0 || strcmp(p.label, "dos") == 0));
                FUZZ_CHECK(!p.relocate_backup || strcmp(p.label, "gpt") == 0);
                if (strcmp(p.label, "dos") == 0)
                        FUZZ_CHECK(p.new_end < UINT32_MAX);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_close_ int mfd = -EBADF;
        uint64_t bytes;

        /* Keep runs fast: a GPT with its entries fits in 34 sectors, and
         * the images in the corpus are 1 MiB at most. */
        if (size > 4 << 20)
                return 0;
        if (getenv("FUZZ_DEBUG") == NULL)
                log_set_max_level(LOG_EMERG);

        mfd = memfd_create("fuzz-gpt", MFD_CLOEXEC);
        FUZZ_CHECK(mfd >= 0);
        FUZZ_CHECK(loop_write(mfd, data, size) >= 0);
        bytes = (size + 511) / 512 * 512;
        FUZZ_CHECK(ftruncate(mfd, (off_t) bytes) == 0);
        plan_all(mfd, bytes);

        FUZZ_CHECK(ftruncate(mfd, (off_t) (2 * bytes)) == 0);
        plan_all(mfd, 2 * bytes);
        return 0;
}
