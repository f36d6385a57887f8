/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* base64 and hex: RFC 4648 section 10 vectors, plus hostile input. */
#include "encode-util.h"
#include "macro.h"
#include "test-util.h"

static void test_base64_rfc4648(void) {
        static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
        static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };

        for (size_t i = 0; i < ELEMENTSOF(plain); i++) {
                _cleanup_free_ char *e = NULL;
                _cleanup_free_ void *d = NULL;
                size_t n = 0;

                ASSERT_OK(base64_encode(plain[i], strlen(plain[i]), &e));
                ASSERT_STREQ(e, enc[i]);
                ASSERT_OK(base64_decode(enc[i], (size_t) -1, &d, &n));
                ASSERT_MEMEQ(d, n, plain[i], strlen(plain[i]));
        }
}

static void test_base64_folded(void) {
        _cleanup_free_ void *d = NULL;
        size_t n = 0;

        /* Console transport folds lines: newlines inside are accepted. */
        ASSERT_OK(base64_decode("Zm9v\nYmFy\n", (size_t) -1, &d, &n));
        ASSERT_MEMEQ(d, n, "foobar", 6);
}

static void test_base64_bad(void) {
        static const char *const bad[] = { "Zg=", "Z", "Zm9v!", "Zg==Zg==", "Zg===", "====", "Zm9vY" };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ void *d = NULL;
                size_t n = 0;
                int r = base64_decode(bad[i], (size_t) -1, &d, &n);
                TEST_RECORD(r < 0, "base64_decode('%s') accepted bad input (%d)", bad[i], r);
        }
}

static void test_hex(void) {
        static const uint8_t bytes[] = { 0x00, 0x01, 0xab, 0xcd, 0xef, 0xff };
        _cleanup_free_ char *e = NULL;
        _cleanup_free_ void *d = NULL, *d2 = NULL, *d3 = NULL;
        size_t n = 0, n2 = 0, n3 = 0;

        ASSERT_OK(hex_encode(bytes, sizeof bytes, &e));
        ASSERT_STREQ(e, "0001abcdefff");
        ASSERT_OK(hex_decode("0001ABCDEFff", (size_t) -1, &d, &n));
        ASSERT_MEMEQ(d, n, bytes, sizeof bytes);
        ASSERT_OK(hex_decode("", (size_t) -1, &d2, &n2));
        ASSERT_EQ(n2, 0);
        ASSERT_ERROR(hex_decode("abc", (size_t) -1, &d3, &n3), EBADMSG);
        ASSERT_ERROR(hex_decode("zz", (size_t) -1, &d3, &n3), EBADMSG);
        ASSERT_ERROR(hex_decode("00:11", (size_t) -1, &d3, &n3), EBADMSG);
}

int main(void) {
        test_base64_rfc4648();
        test_base64_folded();
        test_base64_bad();
        test_hex();
        return test_done();
}
