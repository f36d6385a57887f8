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

int main(void) {
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
