/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define GPT_SIGNATURE "EFI PART"

/* The fields of a GPT header cvm-growroot uses, bounded. Every byte comes
 * from the disk, i.e. from the host: hostile input (fuzz/fuzz-gpt.c). */
typedef struct GptHeader {
        uint64_t alternate;       /* LBA of the other copy's header */
        uint64_t entries_lba;     /* first sector of the entry array */
        uint64_t entries_sectors; /* sectors the entry array spans */
        uint32_t n_entries, entry_size, entries_crc;
} GptHeader;

/* CRC-32 (IEEE 802.3, reflected), as the UEFI spec uses for GPT. */
uint32_t gpt_crc32(const uint8_t *p, size_t n);

/* Read the header at @lba of a disk with @ss-byte sectors: its signature
 * and the entry array's geometry, bounded. With @verify, also what the
 * UEFI spec asks before trusting a copy: header size, header CRC, MyLBA ==
 * @lba, an entry size that is a multiple of 8. 0, -EBADMSG when it is not
 * a (valid) header, -EIO or -errno when it cannot be read. */
int gpt_header_read(int fd, uint64_t ss, uint64_t lba, bool verify, GptHeader *ret);

/* Read the entry array of @h (on a disk of @nsect sectors) and, with
 * @verify, check its CRC: *ret is malloc()ed, n_entries * entry_size
 * bytes. (The CRC is most of a no-op run's own work under TCG: a caller
 * that compares a copy byte for byte with one already verified needs no
 * second CRC.) */
int gpt_entries_read(int fd, uint64_t ss, uint64_t nsect, const GptHeader *h, bool verify, uint8_t **ret);
