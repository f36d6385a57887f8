/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PolicyPCR digest computed in software vs. tests/expected/policy-pcr.txt,
 * which tests/generators/policy-pcr.py derived from the spec on its own. */
#include <stdlib.h>

#include "encode-util.h"
#include "tpm2-util.h"
#include "macro.h"
#include "test-util.h"

int main(int argc, char *argv[]) {
        _cleanup_fclose_ FILE *f = NULL;
        char mask_s[16], values_s[1024], digest_s[128];
        unsigned cases = 0;

        f = test_open_expected(argc, argv);
        while (fscanf(f, "%15s %1023s %127s", mask_s, values_s, digest_s) == 3) {
                uint8_t values[24][TPM2_SHA256_SIZE], digest[TPM2_SHA256_SIZE] = {};
                _cleanup_free_ char *got = NULL;
                uint32_t mask = (uint32_t) strtoul(mask_s, NULL, 16);
                size_t n = 0;

                for (char *tok = strtok(values_s, ","); tok && n < 24; tok = strtok(NULL, ",")) {
                        _cleanup_free_ void *v = NULL;
                        size_t vs = 0;
                        if (hex_decode(tok, (size_t) -1, &v, &vs) < 0 || vs != TPM2_SHA256_SIZE)
                                return 99;
                        memcpy(values[n++], v, TPM2_SHA256_SIZE);
                }
                ASSERT_OK(tpm2_policy_pcr_update(digest, mask, (const uint8_t (*)[TPM2_SHA256_SIZE]) values));
                ASSERT_OK(hex_encode(digest, sizeof digest, &got));
                ASSERT_STREQ(got, digest_s);
                cases++;
        }
        ASSERT_EQ(cases, 3);
        return test_done();
}
