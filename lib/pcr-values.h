/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Expected sha256 PCR values given by a user: "IDX=HEX,…" inline, or a
 * file with such items (commas, white space or new lines between them,
 * "#" comments, "IDX : 0xHEX" lines and a "sha256:" header as
 * tpm2_pcrread prints them), or JSON {"sha256": {"7": "HEX", …}} / a whole
 * evidence object (its "pcrs"). Shared by cvm-verify-host --expect-pcrs
 * and cvm-enroll seal-offline --pcr-values. */

#include <stdbool.h>
#include <stdint.h>

#include "pcr-spec.h"

#define PCR_VALUE_SIZE 32U
#define PCR_FILE_MAX (64U * 1024U)

typedef struct PcrValues {
        uint32_t mask; /* PCRs that have a value */
        uint8_t values[PCR_INDEX_MAX + 1][PCR_VALUE_SIZE];
} PcrValues;

/* Is @spec an inline "IDX=HEX,…" list (else: a file name)? */
bool pcr_values_spec_is_inline(const char *spec);

/* Parse text (items or JSON). -EBADMSG on anything malformed, a PCR given
 * twice or an index above 23; -ENODATA if no PCR is given. */
int pcr_values_parse(const char *text, size_t size, PcrValues *ret);

/* Inline list or file. -errno of reading the file, else as above. */
int pcr_values_load(const char *spec, PcrValues *ret);

/* The values of the PCRs in @mask, lowest index first, as
 * tpm2_policy_pcr_update() takes them. -ENOENT if one is missing. */
int pcr_values_select(const PcrValues *v, uint32_t mask, uint8_t ret[][PCR_VALUE_SIZE]);
