/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/pcr-values.c: the PCR value lists of cvm-verify-host --expect-pcrs
 * and cvm-enroll seal-offline --pcr-values, in every accepted form, and
 * the malformed ones refused. */
#include <errno.h>
#include <string.h>

#include "pcr-values.h"
#include "test-util.h"

#define H0 "0000000000000000000000000000000000000000000000000000000000000000"
#define HA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HB "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

static int parse(const char *s, PcrValues *v) {
        return pcr_values_parse(s, strlen(s), v);
}

static bool all(const uint8_t v[PCR_VALUE_SIZE], uint8_t b) {
        for (size_t i = 0; i < PCR_VALUE_SIZE; i++)
                if (v[i] != b)
                        return false;
        return true;
}

int main(void) {
        uint8_t sel[PCR_INDEX_MAX + 1][PCR_VALUE_SIZE];
        PcrValues v;

        /* inline */
        ASSERT_OK(parse("4=" HA ",7=" HB, &v));
        ASSERT_EQ(v.mask, (1U << 4) | (1U << 7));
        ASSERT_TRUE(all(v.values[4], 0xaa) && all(v.values[7], 0xbb));
        ASSERT_TRUE(pcr_values_spec_is_inline("4=" HA));
        ASSERT_TRUE(!pcr_values_spec_is_inline("/tmp/4=x"));
        ASSERT_TRUE(!pcr_values_spec_is_inline("pcrs.txt"));

        /* tpm2_pcrread output */
        ASSERT_OK(parse("sha256:\n  0 : 0x" H0 "\n  23: 0x" HA "\n", &v));
        ASSERT_EQ(v.mask, (1U << 0) | (1U << 23));
        ASSERT_TRUE(all(v.values[23], 0xaa));

        /* comments, blank lines, white space */
        ASSERT_OK(parse("# predicted\n\n 7 = " HB "  # shim\n", &v));
        ASSERT_EQ(v.mask, 1U << 7);

        /* JSON, bare and inside evidence */
        ASSERT_OK(parse("{\"sha256\": {\"7\": \"" HA "\"}}", &v));
        ASSERT_EQ(v.mask, 1U << 7);
        ASSERT_OK(parse("{\"version\": 1, \"pcrs\": {\"sha256\": {\"4\": \"" HA "\", \"7\": \"" HB "\"}}}", &v));
        ASSERT_EQ(v.mask, (1U << 4) | (1U << 7));

        /* selection in index order, missing PCRs refused */
        ASSERT_OK(pcr_values_select(&v, (1U << 4) | (1U << 7), sel));
        ASSERT_TRUE(all(sel[0], 0xaa) && all(sel[1], 0xbb));
        ASSERT_ERROR(pcr_values_select(&v, 1U << 9, sel), ENOENT);

        /* refused */
        ASSERT_ERROR(parse("7=" HA ",7=" HB, &v), EBADMSG);      /* twice */
        ASSERT_ERROR(parse("24=" HA, &v), EBADMSG);              /* index */
        ASSERT_ERROR(parse("07=" HA, &v), EBADMSG);              /* leading zero */
        ASSERT_ERROR(parse("7=abc", &v), EBADMSG);               /* short */
        ASSERT_ERROR(parse("7=" HA "00", &v), EBADMSG);          /* long */
        ASSERT_ERROR(parse("7=" HA "zz", &v), EBADMSG);
        ASSERT_ERROR(parse("x=" HA, &v), EBADMSG);
        ASSERT_ERROR(parse("7", &v), EBADMSG);
        ASSERT_ERROR(parse("", &v), ENODATA);
        ASSERT_ERROR(parse("# nothing\n", &v), ENODATA);
        ASSERT_ERROR(parse("{\"sha1\": {\"7\": \"" H0 "\"}}", &v), EBADMSG);
        ASSERT_ERROR(parse("{\"sha256\": {\"7\": 7}}", &v), EBADMSG);
        ASSERT_ERROR(pcr_values_parse("7=" HA "\0" "8=" HB, 2 + 64 + 1 + 66, &v), EBADMSG); /* NUL */
        return test_done();
}
