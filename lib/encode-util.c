/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "encode-util.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_ENCODE_CTX *, EVP_ENCODE_CTX_free);

int base64_encode(const void *data, size_t size, char **ret) {
        _cleanup_free_ char *s = NULL;
        int k;

        if (!ret || (!data && size > 0) || size > ENCODED_INPUT_MAX)
                return -EINVAL;
        s = malloc(4 * ((size + 2) / 3) + 1);
        if (!s)
                return -ENOMEM;
        k = EVP_EncodeBlock((unsigned char *) s, data, (int) size);
        if (k < 0)
                return -EIO;
        s[k] = 0;
        *ret = TAKE_PTR(s);
        return 0;
}

int base64_decode(const char *s, size_t len, void **ret, size_t *ret_size) {
        _cleanup_(EVP_ENCODE_CTX_freep) EVP_ENCODE_CTX *ctx = NULL;
        _cleanup_free_ unsigned char *buf = NULL;
        int n = 0, m = 0;

        if (!s || !ret || !ret_size)
                return -EINVAL;
        if (len == (size_t) -1)
                len = strnlen(s, ENCODED_INPUT_MAX + 1);
        if (len > ENCODED_INPUT_MAX)
                return -E2BIG;
        for (size_t i = 0; i < len; i++)
                if (s[i] == 0)
                        return -EBADMSG;

        ctx = EVP_ENCODE_CTX_new();
        if (!ctx)
                return -ENOMEM;
        buf = malloc(len / 4 * 3 + 4);
        if (!buf)
                return -ENOMEM;
        EVP_DecodeInit(ctx);
        if (EVP_DecodeUpdate(ctx, buf, &n, (const unsigned char *) s, (int) len) < 0)
                return -EBADMSG;
        if (EVP_DecodeFinal(ctx, buf + n, &m) != 1)
                return -EBADMSG;
        /* EVP_DecodeUpdate stops at the first '=' run; reject trailing junk
         * after padding by requiring the whole input to be consumed into a
         * length that matches the significant characters. */
        size_t sig = 0, pad = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '=')
                        pad++;
                else if (!isspace((unsigned char) s[i])) {
                        if (pad > 0)
                                return -EBADMSG;
                        sig++;
                }
        }
        if (pad > 2 || (size_t) (n + m) != sig * 3 / 4)
                return -EBADMSG;

        *ret_size = (size_t) (n + m);
        *ret = TAKE_PTR(buf);
        return 0;
}

int hex_encode(const void *data, size_t size, char **ret) {
        _cleanup_free_ char *s = NULL;

        if (!ret || (!data && size > 0) || size > ENCODED_INPUT_MAX)
                return -EINVAL;
        s = malloc(size * 2 + 1);
        if (!s)
                return -ENOMEM;
        s[0] = 0;
        if (size > 0 && OPENSSL_buf2hexstr_ex(s, size * 2 + 1, NULL, data, (long) size, '\0') != 1)
                return -EIO;
        /* OpenSSL writes upper case; systemd and tpm2-tools write lower case. */
        for (char *p = s; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        *ret = TAKE_PTR(s);
        return 0;
}

int hex_decode(const char *s, size_t len, void **ret, size_t *ret_size) {
        _cleanup_free_ char *copy = NULL;
        _cleanup_free_ unsigned char *buf = NULL;
        size_t n = 0;

        if (!s || !ret || !ret_size)
                return -EINVAL;
        if (len == (size_t) -1)
                len = strnlen(s, ENCODED_INPUT_MAX + 1);
        if (len > ENCODED_INPUT_MAX)
                return -E2BIG;
        if (len % 2 != 0)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++)
                if (!isxdigit((unsigned char) s[i]))
                        return -EBADMSG;
        if (len == 0) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
                *ret = TAKE_PTR(buf);
                *ret_size = 0;
                return 0;
        }
        copy = strndup(s, len);
        buf = malloc(len / 2);
        if (!copy || !buf)
                return -ENOMEM;
        if (OPENSSL_hexstr2buf_ex(buf, len / 2, &n, copy, '\0') != 1 || n != len / 2)
                return -EBADMSG;
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}
