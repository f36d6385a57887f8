/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "openssl-util.h"
#include "pe-authenticode.h"

#define DOS_LFANEW_OFFSET 0x3cU
#define COFF_HEADER_SIZE 20U
#define OPT_MAGIC_PE32 0x10bU
#define OPT_MAGIC_PE32PLUS 0x20bU
#define OPT_SIZE_OF_HEADERS 60U
#define OPT_CHECKSUM 64U
#define SECTION_HEADER_SIZE 40U
#define DIR_SECURITY 4U
#define DIR_ENTRY_SIZE 8U

static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

#define FAIL(s)                                                                                           \
        do {                                                                                              \
                if (ret_reason)                                                                           \
                        *ret_reason = (s);                                                                \
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "PE image rejected: %s.", (s));          \
        } while (0)

int pe_parse(const uint8_t *data, size_t size, PeFile *ret, const char **ret_reason) {
        size_t pe, opt, dirs_off, sect_off;
        uint32_t n_dirs, dirs_at;
        uint16_t n_sections, opt_size, magic;

        if (!data || size < 64 || data[0] != 'M' || data[1] != 'Z')
                FAIL("no DOS header (\"MZ\")");
        if (size > UINT32_MAX)
                FAIL("larger than 4 GiB");
        pe = le32(data + DOS_LFANEW_OFFSET);
        if (pe > size || size - pe < 4 + COFF_HEADER_SIZE || memcmp(data + pe, "PE\0\0", 4) != 0)
                FAIL("no PE signature where the DOS header points");
        n_sections = le16(data + pe + 4 + 2);
        opt_size = le16(data + pe + 4 + 16);
        opt = pe + 4 + COFF_HEADER_SIZE;
        if (n_sections == 0 || n_sections > PE_SECTIONS_MAX)
                FAIL("no sections, or more than 96");
        if (opt_size < 2 || size - opt < opt_size)
                FAIL("the optional header is truncated");
        magic = le16(data + opt);
        if (magic == OPT_MAGIC_PE32)
                dirs_at = 92;
        else if (magic == OPT_MAGIC_PE32PLUS)
                dirs_at = 108;
        else
                FAIL("unknown optional header magic (neither PE32 nor PE32+)");
        if (opt_size < dirs_at + 4)
                FAIL("the optional header is too short for its format");
        n_dirs = le32(data + opt + dirs_at);
        if (n_dirs > 16 || (size_t) dirs_at + 4 + (size_t) n_dirs * DIR_ENTRY_SIZE > opt_size)
                FAIL("the data directories do not fit the optional header");
        dirs_off = opt + dirs_at + 4;
        sect_off = opt + opt_size;
        if ((size - sect_off) / SECTION_HEADER_SIZE < n_sections)
                FAIL("the section table is truncated");

        *ret = (PeFile) {
                .data = data,
                .size = size,
                .pe32plus = magic == OPT_MAGIC_PE32PLUS,
                .checksum_offset = opt + OPT_CHECKSUM,
                .size_of_headers = le32(data + opt + OPT_SIZE_OF_HEADERS),
                .n_sections = n_sections,
        };
        /* SizeOfHeaders is what the digest covers first: it must hold every
         * header (so the fields left out lie inside it) and fit the file. */
        if (ret->size_of_headers > size || ret->size_of_headers < sect_off + (size_t) n_sections * SECTION_HEADER_SIZE)
                FAIL("SizeOfHeaders does not cover the headers or exceeds the file");
        if (n_dirs > DIR_SECURITY) {
                ret->certdir_offset = dirs_off + DIR_SECURITY * DIR_ENTRY_SIZE;
                ret->cert_offset = le32(data + ret->certdir_offset);
                ret->cert_size = le32(data + ret->certdir_offset + 4);
                if (ret->cert_size > 0 &&
                    (ret->cert_offset < ret->size_of_headers || ret->cert_offset > size ||
                     size - ret->cert_offset < ret->cert_size))
                        FAIL("the certificate table lies outside the file");
        }

        for (size_t i = 0; i < n_sections; i++) {
                const uint8_t *h = data + sect_off + i * SECTION_HEADER_SIZE;
                PeSection *s = &ret->sections[i];

                memcpy(s->name, h, 8);
                s->name[8] = 0;
                s->virtual_size = le32(h + 8);
                s->virtual_address = le32(h + 12);
                s->raw_size = le32(h + 16);
                s->raw_offset = le32(h + 20);
                if (s->raw_size > 0 && (s->raw_offset > size || size - s->raw_offset < s->raw_size))
                        FAIL("a section's raw data lies outside the file");
                /* Real images never do this; one that did would have the
                 * fields Authenticode leaves out hashed after all. */
                if (s->raw_size > 0 && s->raw_offset < ret->size_of_headers)
                        FAIL("a section's raw data overlaps the headers");
                if (s->virtual_size > 1024U * 1024U * 1024U)
                        FAIL("a section's VirtualSize is larger than 1 GiB");
        }
        if (ret_reason)
                *ret_reason = NULL;
        return 0;
}

const PeSection *pe_find_section(const PeFile *pe, const char *name) {
        if (strlen(name) > 8)
                return NULL;
        for (size_t i = 0; i < pe->n_sections; i++)
                if (strncmp(pe->sections[i].name, name, 8) == 0)
                        return &pe->sections[i];
        return NULL;
}

static int update(EVP_MD_CTX *ctx, const PeFile *pe, size_t from, size_t to) {
        if (from > to || to > pe->size)
                return -EBADMSG;
        return EVP_DigestUpdate(ctx, pe->data + from, to - from) > 0 ? 0 : -EIO;
}

int pe_authenticode_sha256(const PeFile *pe, uint8_t ret[PE_SHA256_SIZE]) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        const PeSection *order[PE_SECTIONS_MAX];
        size_t n = 0, hashed;
        unsigned len = 0;
        int r;

        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) <= 0)
                return -EIO;

        r = update(ctx, pe, 0, pe->checksum_offset);
        if (r < 0)
                return r;
        if (pe->certdir_offset == 0)
                r = update(ctx, pe, pe->checksum_offset + 4, pe->size_of_headers);
        else {
                r = update(ctx, pe, pe->checksum_offset + 4, pe->certdir_offset);
                if (r >= 0)
                        r = update(ctx, pe, pe->certdir_offset + DIR_ENTRY_SIZE, pe->size_of_headers);
        }
        if (r < 0)
                return r;
        hashed = pe->size_of_headers;

        /* Insertion sort by PointerToRawData, stable as EDK2's. */
        for (size_t i = 0; i < pe->n_sections; i++) {
                size_t j = n;
                if (pe->sections[i].raw_size == 0)
                        continue;
                while (j > 0 && order[j - 1]->raw_offset > pe->sections[i].raw_offset) {
                        order[j] = order[j - 1];
                        j--;
                }
                order[j] = &pe->sections[i];
                n++;
        }
        for (size_t i = 0; i < n; i++) {
                r = update(ctx, pe, order[i]->raw_offset, (size_t) order[i]->raw_offset + order[i]->raw_size);
                if (r < 0)
                        return r;
                hashed += order[i]->raw_size;
        }

        if (pe->size > hashed) {
                if (pe->size - hashed < pe->cert_size)
                        return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG),
                                               "PE image: sections and certificate table overlap.");
                r = update(ctx, pe, hashed, pe->size - pe->cert_size);
                if (r < 0)
                        return r;
        }

        if (EVP_DigestFinal_ex(ctx, ret, &len) <= 0 || len != PE_SHA256_SIZE)
                return -EIO;
        return 0;
}

int pe_section_sha256(const PeFile *pe, const PeSection *s, uint8_t ret[PE_SHA256_SIZE]) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        static const uint8_t zeros[4096];
        size_t from_file = MIN(s->virtual_size, s->raw_size), pad = s->virtual_size - from_file;
        unsigned len = 0;

        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) <= 0 ||
            EVP_DigestUpdate(ctx, pe->data + s->raw_offset, from_file) <= 0)
                return -EIO;
        while (pad > 0) {
                size_t k = MIN(pad, sizeof zeros);
                if (EVP_DigestUpdate(ctx, zeros, k) <= 0)
                        return -EIO;
                pad -= k;
        }
        if (EVP_DigestFinal_ex(ctx, ret, &len) <= 0 || len != PE_SHA256_SIZE)
                return -EIO;
        return 0;
}
