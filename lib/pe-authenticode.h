/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* PE/COFF images (EFI applications: shim, systemd-boot, a UKI): a
 * bounds-checked parse of the headers and the section table, the
 * Authenticode digest that UEFI firmware measures into PCR 4 for each boot
 * application it starts, and the in-memory contents of a section (what
 * systemd-stub measures into PCR 11).
 *
 * Authenticode (Microsoft "Windows Authenticode Portable Executable
 * Signature Format", "Calculating the PE Image Hash"), computed exactly as
 * EDK2's DxeTpm2MeasureBootLib does for the measurement:
 *   1. the headers up to SizeOfHeaders, leaving out the CheckSum field and
 *      the certificate table's data directory entry (index 4);
 *   2. each section's raw data (SizeOfRawData bytes at PointerToRawData),
 *      in ascending PointerToRawData order, empty sections skipped;
 *   3. whatever follows, up to the end of the file less the certificate
 *      table's size (the signature itself is not hashed). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PE_SHA256_SIZE 32U
#define PE_SECTIONS_MAX 96U /* the PE spec's limit for images */

typedef struct PeSection {
        char name[9]; /* NUL-terminated; 8 bytes in the header */
        uint32_t virtual_size;
        uint32_t virtual_address;
        uint32_t raw_size;
        uint32_t raw_offset;
} PeSection;

typedef struct PeFile {
        const uint8_t *data; /* the caller's buffer */
        size_t size;
        bool pe32plus;
        size_t checksum_offset;
        size_t certdir_offset; /* 0: the optional header has no entry for it */
        uint32_t size_of_headers;
        uint32_t cert_offset, cert_size;
        PeSection sections[PE_SECTIONS_MAX];
        size_t n_sections;
} PeFile;

/* Parse @data (which must outlive @ret). -EBADMSG with a static reason in
 * *@ret_reason (if given) for anything that is not a well-formed image:
 * bad magic, headers or sections beyond the file, a certificate table
 * that is not where the signature format puts it. */
int pe_parse(const uint8_t *data, size_t size, PeFile *ret, const char **ret_reason);

/* The Authenticode sha256 digest. -EBADMSG if the file is shorter than
 * its sections and certificate table claim. */
int pe_authenticode_sha256(const PeFile *pe, uint8_t ret[PE_SHA256_SIZE]);

/* The section named exactly @name, or NULL. */
const PeSection *pe_find_section(const PeFile *pe, const char *name);

/* sha256 of a section as the loader maps it: VirtualSize bytes, from the
 * raw data and zero-filled where VirtualSize exceeds SizeOfRawData. */
int pe_section_sha256(const PeFile *pe, const PeSection *s, uint8_t ret[PE_SHA256_SIZE]);
