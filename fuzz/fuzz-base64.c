/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The base64 and hex decoders (lib/encode-util.h) under every token blob,
 * policy hash, key file and evidence field. Each input is given to both
 * decoders, once with its length and once as a C string. Properties: what
 * decodes re-encodes and decodes to the same bytes; a decoded hex string
 * re-encodes to the input, lower-cased. */
#include <ctype.h>
#include <string.h>

#include "encode-util.h"
#include "fuzz.h"

static void check_base64(const char *s, size_t len) {
        _cleanup_free_ void *raw = NULL, *again = NULL;
        _cleanup_free_ char *enc = NULL;
        size_t n = 0, m = 0;

        if (base64_decode(s, len, &raw, &n) < 0)
                return;
        FUZZ_CHECK(raw);
        FUZZ_CHECK(n <= len / 4 * 3 + 3);
        FUZZ_CHECK(base64_encode(raw, n, &enc) >= 0);
        FUZZ_CHECK(strlen(enc) == 4 * ((n + 2) / 3));
        FUZZ_CHECK(base64_decode(enc, (size_t) -1, &again, &m) >= 0);
        FUZZ_CHECK(m == n && memcmp(raw, again, n) == 0);
}

static void check_hex(const char *s, size_t len) {
        _cleanup_free_ void *raw = NULL;
        _cleanup_free_ char *enc = NULL;
        size_t n = 0;

        if (hex_decode(s, len, &raw, &n) < 0)
                return;
        FUZZ_CHECK(raw);
        FUZZ_CHECK(n * 2 == len);
        FUZZ_CHECK(hex_encode(raw, n, &enc) >= 0);
        FUZZ_CHECK(strlen(enc) == len);
        for (size_t i = 0; i < len; i++)
                FUZZ_CHECK(enc[i] == tolower((unsigned char) s[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL;

        s = fuzz_strndup(data, size);
        if (!s)
                return 0;
        /* With an explicit length (embedded NULs must be refused) … */
        check_base64(s, size);
        check_hex(s, size);
        if (memchr(s, 0, size)) {
                void *x = NULL;
                size_t xn = 0;
                FUZZ_CHECK(base64_decode(s, size, &x, &xn) < 0);
                FUZZ_CHECK(hex_decode(s, size, &x, &xn) < 0);
        }
        /* … up to the first NUL … */
        check_base64(s, strlen(s));
        check_hex(s, strlen(s));
        /* … and as a C string, (size_t) -1, which must mean exactly strlen(). */
        {
                _cleanup_free_ void *a = NULL, *b = NULL, *c = NULL, *d = NULL;
                size_t an = 0, bn = 0, cn = 0, dn = 0;
                int ra = base64_decode(s, (size_t) -1, &a, &an), rb = base64_decode(s, strlen(s), &b, &bn);
                int rc = hex_decode(s, (size_t) -1, &c, &cn), rd = hex_decode(s, strlen(s), &d, &dn);

                FUZZ_CHECK((ra >= 0) == (rb >= 0));
                FUZZ_CHECK(ra < 0 || (an == bn && memcmp(a, b, an) == 0));
                FUZZ_CHECK((rc >= 0) == (rd >= 0));
                FUZZ_CHECK(rc < 0 || (cn == dn && memcmp(c, d, cn) == 0));
        }
        return 0;
}
