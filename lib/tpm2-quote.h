/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* TPM2_Quote of sha256 PCRs with an AK, together with the PCR values the
 * quote's digest covers. */

#include <stddef.h>
#include <stdint.h>

#include "pcr-spec.h"
#include "tpm2-ak.h"

typedef struct Tpm2Quote {
        uint8_t *attest;      /* marshalled TPMS_ATTEST, the bytes the AK signed */
        size_t attest_size;
        uint8_t *signature;   /* marshalled TPMT_SIGNATURE */
        size_t signature_size;
        uint32_t pcr_mask;    /* sha256 bank */
        uint8_t pcr_values[PCR_INDEX_MAX + 1][TPM2_SHA256_SIZE]; /* one per selected PCR, ascending */
} Tpm2Quote;

/* Quote the sha256 PCRs in @pcr_mask with @qualifying_data (at most 64
 * bytes) as extraData. The PCRs are read after the quote and their digest
 * is checked against the one in the quote, so the values returned are the
 * ones quoted; if a PCR moved in between, the quote is taken again (up to
 * three times, then -ESTALE). The AK's own signing scheme is used; an AK
 * without one signs with RSASSA or ECDSA over SHA-256. */
int tpm2_quote(Tpm2Context *c, const Tpm2Ak *ak, uint32_t pcr_mask, const uint8_t *qualifying_data,
               size_t qualifying_data_size, Tpm2Quote *ret);
void tpm2_quote_done(Tpm2Quote *q);
