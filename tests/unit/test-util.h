/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Minimal assertion helpers for unit tests: each check prints the
 * expression and location on failure and is counted; main() ends with
 * test_done(), which prints "N passed, M failed" and returns the status. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned test_passed, test_failed;

#define TEST_RECORD(cond, fmt, ...)                                                               \
        do {                                                                                      \
                if (cond)                                                                         \
                        test_passed++;                                                            \
                else {                                                                            \
                        test_failed++;                                                            \
                        fprintf(stderr, "%s:%d: %s: FAILED: " fmt "\n", __FILE__, __LINE__, __func__, \
                                __VA_ARGS__);                                                     \
                }                                                                                 \
        } while (0)

#define ASSERT_TRUE(e) TEST_RECORD((e), "%s", #e)
#define ASSERT_OK(e)                                                                              \
        do {                                                                                      \
                long _r = (long) (e);                                                             \
                TEST_RECORD(_r >= 0, "%s returned %ld (%s)", #e, _r, strerror((int) -_r));        \
        } while (0)
#define ASSERT_ERROR(e, err)                                                                      \
        do {                                                                                      \
                long _r = (long) (e);                                                             \
                TEST_RECORD(_r == -(err), "%s returned %ld, expected -%s", #e, _r, #err);         \
        } while (0)
#define ASSERT_FAILS(e)                                                                           \
        do {                                                                                      \
                long _r = (long) (e);                                                             \
                TEST_RECORD(_r < 0, "%s returned %ld, expected an error", #e, _r);                \
        } while (0)
#define ASSERT_EQ(a, b)                                                                           \
        do {                                                                                      \
                intmax_t _a = (intmax_t) (a), _b = (intmax_t) (b);                                \
                TEST_RECORD(_a == _b, "%s == %s: %jd != %jd", #a, #b, _a, _b);                    \
        } while (0)
#define ASSERT_STREQ(a, b)                                                                        \
        do {                                                                                      \
                const char *_a = (a), *_b = (b);                                                  \
                TEST_RECORD(_a && _b && strcmp(_a, _b) == 0, "%s == %s: '%s' != '%s'", #a, #b,    \
                            _a ? _a : "(null)", _b ? _b : "(null)");                              \
        } while (0)
#define ASSERT_MEMEQ(a, an, b, bn)                                                                \
        TEST_RECORD((an) == (bn) && memcmp((a), (b), (an)) == 0, "%s == %s (%zu vs %zu bytes)", #a, #b, \
                    (size_t) (an), (size_t) (bn))

/* The file of expected values named by the only argument. Without it the
 * test cannot run: exit 99, a hard error rather than a failure. */
static inline FILE *test_open_expected(int argc, char *argv[]) {
        FILE *f;

        if (argc != 2) {
                fprintf(stderr, "usage: %s EXPECTED-FILE\n", argv[0]);
                exit(99);
        }
        f = fopen(argv[1], "re");
        if (!f) {
                perror(argv[1]);
                exit(99);
        }
        return f;
}

static inline int test_done(void) {
        printf("%u passed, %u failed\n", test_passed, test_failed);
        return test_failed == 0 && test_passed > 0 ? 0 : 1;
}
