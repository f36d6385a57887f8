/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PE/COFF parser and Authenticode digest (lib/pe-authenticode.h) and
 * the UKI PCR 11 model (lib/pcr-predict.h): boot files given to cvm-enroll
 * reseal --replace. Properties: a refused image says why; an accepted one
 * has its headers and every section's raw data inside the input, and its
 * digests are computed without reading beyond it (ASan) and do not depend
 * on the bytes of the CheckSum field, which Authenticode leaves out. */
#include <string.h>

#include "fuzz.h"
#include "pcr-predict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ uint8_t *copy = NULL;
        const char *reason = NULL;
        uint8_t d1[PE_SHA256_SIZE], d2[PE_SHA256_SIZE];
        PeFile pe, pe2;
        int r, r2;

        r = pe_parse(size > 0 ? data : NULL, size, &pe, &reason);
        if (r < 0) {
                FUZZ_CHECK(reason && *reason);
                return 0;
        }
        FUZZ_CHECK(pe.size_of_headers <= size);
        FUZZ_CHECK(pe.checksum_offset + 4 <= pe.size_of_headers);
        FUZZ_CHECK(pe.n_sections > 0 && pe.n_sections <= PE_SECTIONS_MAX);
        for (size_t i = 0; i < pe.n_sections; i++)
                FUZZ_CHECK(pe.sections[i].raw_size == 0 ||
                           (size_t) pe.sections[i].raw_offset + pe.sections[i].raw_size <= size);

        r = pe_authenticode_sha256(&pe, d1);
        if (pe_is_uki(&pe))
                (void) pcr_predict_uki_pcr11(&pe, d2);

        /* Flip the CheckSum field: the digest must not change. */
        copy = malloc(size);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        copy[pe.checksum_offset] ^= 0xff;
        FUZZ_CHECK(pe_parse(copy, size, &pe2, NULL) == 0);
        r2 = pe_authenticode_sha256(&pe2, d2);
        FUZZ_CHECK(r == r2);
        if (r >= 0)
                FUZZ_CHECK(memcmp(d1, d2, sizeof d1) == 0);
        return 0;
}
