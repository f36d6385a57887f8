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

#define PCR_VALUE_SIZE 32U /* sha256 */

/* "IDX=HEX[,IDX=HEX…]" (IDX a number or a systemd PCR name, HEX 64 hex
 * digits, optionally 0x-prefixed): sets *@ret_mask and @ret_values[IDX]
 * (an array of PCR_INDEX_MAX + 1 values) for each. -EINVAL for anything
 * else, a PCR given twice included. */
int pcr_values_from_string(const char *s, uint32_t *ret_mask, uint8_t ret_values[][PCR_VALUE_SIZE]);
