/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* systemd's PCR list syntax. */
#include "pcr-spec.h"
#include "macro.h"
#include "test-util.h"

static void check_mask(const char *s, uint32_t want, const char *canonical) {
        _cleanup_free_ char *str = NULL;
        uint32_t m = 0xdeadbeef;
        int r = pcr_mask_from_string(s, &m);

        TEST_RECORD(r == 0 && m == want, "'%s' → 0x%x (r=%d), want 0x%x", s, m, r, want);
        ASSERT_OK(pcr_mask_to_string(want, &str));
        ASSERT_STREQ(str, canonical);
}

static void check_bad(const char *s) {
        uint32_t m = 0x1234;
        int r = pcr_mask_from_string(s, &m);

        TEST_RECORD(r < 0 && m == 0x1234, "'%s' accepted (r=%d, mask 0x%x)", s, r, m);
}

#define H64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void check_values_bad(const char *s) {
        uint8_t v[PCR_INDEX_MAX + 1][PCR_VALUE_SIZE];
        uint32_t m = 0x1234;
        int r = pcr_values_from_string(s, &m, v);

        TEST_RECORD(r < 0 && m == 0x1234, "'%s' accepted as PCR values (r=%d)", s, r);
}

static void test_values(void) {
        uint8_t v[PCR_INDEX_MAX + 1][PCR_VALUE_SIZE] = {};
        static const uint8_t want[PCR_VALUE_SIZE] = {
                0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
                0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
        };
        uint32_t m = 0;

        ASSERT_OK(pcr_values_from_string("7=" H64 ",4=0x" H64, &m, v));
        ASSERT_EQ(m, 1u << 4 | 1u << 7);
        ASSERT_MEMEQ(v[4], sizeof v[4], want, sizeof want);
        ASSERT_MEMEQ(v[7], sizeof v[7], want, sizeof want);
        ASSERT_OK(pcr_values_from_string("kernel-boot=" H64, &m, v));
        ASSERT_EQ(m, 1u << 11);

        check_values_bad("");
        check_values_bad("7");
        check_values_bad("7=");
        check_values_bad("7=" H64 ",");
        check_values_bad("7=" H64 ",7=" H64);      /* twice */
        check_values_bad("24=" H64);
        check_values_bad("7=" H64 "00");           /* 33 bytes */
        check_values_bad("7=" "0g112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
        check_values_bad("7=abcd");
}

int main(void) {
        test_values();
        check_mask("", 0, "");
        check_mask("7", 1u << 7, "7");
        check_mask("4+7", 1u << 4 | 1u << 7, "4+7");
        check_mask("7,4", 1u << 4 | 1u << 7, "4+7");
        check_mask("0+23", 1u << 0 | 1u << 23, "0+23");
        check_mask("secure-boot-policy+boot-loader-code", 1u << 7 | 1u << 4, "4+7");
        check_mask("kernel-boot", 1u << 11, "11");

        check_bad("24");
        check_bad("7+");
        check_bad("+7");
        check_bad("7++4");
        check_bad("07");
        check_bad("-1");
        check_bad("4294967303"); /* 2^32 + 7: must not wrap to 7 */
        check_bad("seven");
        check_bad("7 ");

        ASSERT_EQ(pcr_mask_count(1u << 4 | 1u << 7), 2);
        return test_done();
}
