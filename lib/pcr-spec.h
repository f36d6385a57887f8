/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* PCR selections in systemd's syntax: "7", "4+7", "4,7", "" (none), and
 * the PCR names systemd-cryptenroll documents ("secure-boot-policy" …). */

#include <stdint.h>

#define PCR_INDEX_MAX 23U /* sha256 bank of a PC client TPM: PCR 0–23 */

int pcr_mask_from_string(const char *s, uint32_t *ret_mask);
/* "4+7", or "" for an empty mask. */
int pcr_mask_to_string(uint32_t mask, char **ret);
int pcr_mask_count(uint32_t mask);
