/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one reader of GPT headers in cvm-growroot: the quick no-op check
 * (growroot-part.c) reads both copies with it, CRCs included, before
 * libfdisk is loaded; the planner (growroot-table.c) reads the primary's
 * fields libfdisk does not give. The CRC-32 is ours, not zlib's: a table
 * of 256 words does not justify one more shared object at every exec. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpt-header.h"
#include "macro.h"

uint32_t gpt_crc32(const uint8_t *p, size_t n) {
        static uint32_t table[256];
        uint32_t crc = UINT32_MAX;

        if (table[1] == 0)
                for (uint32_t i = 0; i < 256; i++) {
                        uint32_t c = i;
                        for (unsigned k = 0; k < 8; k++)
                                c = c & 1 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
                        table[i] = c;
                }
        while (n-- > 0)
                crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
        return ~crc;
}

static uint64_t get_le64(const uint8_t *p) {
        uint64_t v;
        memcpy(&v, p, 8);
        return le64toh(v);
}

static uint32_t get_le32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, 4);
        return le32toh(v);
}

/* The header's own checks (UEFI spec 5.3.2): its CRC over HeaderSize
 * bytes with the CRC field zeroed, and MyLBA. */
static bool header_valid(const uint8_t h[static 512], uint64_t lba) {
        uint8_t copy[512];
        uint32_t header_size = get_le32(h + 12);

        if (header_size < 92 || header_size > sizeof copy)
                return false;
        memcpy(copy, h, header_size);
        memset(copy + 16, 0, 4);
        return gpt_crc32(copy, header_size) == get_le32(h + 16) && get_le64(h + 24) == lba;
}

int gpt_header_read(int fd, uint64_t ss, uint64_t lba, bool verify, GptHeader *ret) {
        uint8_t h[512];
        GptHeader g;
        ssize_t k;

        k = pread(fd, h, sizeof h, (off_t) (lba * ss));
        if (k != (ssize_t) sizeof h)
                return k < 0 ? -errno : -EIO;
        if (memcmp(h, GPT_SIGNATURE, 8) != 0)
                return -EBADMSG;
        if (verify && !header_valid(h, lba))
                return -EBADMSG;
        g = (GptHeader) {
                .alternate = get_le64(h + 32),
                .entries_lba = get_le64(h + 72),
                .n_entries = get_le32(h + 80),
                .entry_size = get_le32(h + 84),
                .entries_crc = get_le32(h + 88),
        };
        if (g.n_entries == 0 || g.n_entries > 4096 || g.entry_size < 128 || g.entry_size > 4096 ||
            (verify && g.entry_size % 8 != 0))
                return -EBADMSG;
        g.entries_sectors = ((uint64_t) g.n_entries * g.entry_size + ss - 1) / ss;
        *ret = g;
        return 0;
}

int gpt_entries_read(int fd, uint64_t ss, uint64_t nsect, const GptHeader *h, bool verify, uint8_t **ret) {
        size_t bytes = (size_t) h->n_entries * h->entry_size;
        _cleanup_free_ uint8_t *e = NULL;

        if (h->entries_lba < 2 || h->entries_lba >= nsect || nsect - h->entries_lba < h->entries_sectors)
                return -EBADMSG;
        e = malloc(bytes);
        if (!e)
                return -ENOMEM;
        if (pread(fd, e, bytes, (off_t) (h->entries_lba * ss)) != (ssize_t) bytes)
                return -EIO;
        if (verify && gpt_crc32(e, bytes) != h->entries_crc)
                return -EBADMSG;
        *ret = TAKE_PTR(e);
        return 0;
}
