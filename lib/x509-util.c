/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/err.h>
#include <openssl/pem.h>

#include "x509-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE *, X509_STORE_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE_CTX *, X509_STORE_CTX_free);

int x509_der_to_pem(const uint8_t *der, size_t size, char **ret) {
        _cleanup_(X509_freep) X509 *x = NULL;
        _cleanup_(BIO_freep) BIO *b = NULL;
        const unsigned char *p = der;
        char *data = NULL, *s;
        long n;

        if (!der || !ret)
                return -EINVAL;
        if (size == 0 || size > X509_PEM_MAX)
                return -EBADMSG;
        x = d2i_X509(NULL, &p, (long) size);
        if (!x)
                return -EBADMSG;
        for (size_t i = (size_t) (p - der); i < size; i++)
                if (der[i] != 0)
                        return -EBADMSG;

        b = BIO_new(BIO_s_mem());
        if (!b || PEM_write_bio_X509(b, x) != 1)
                return -ENOMEM;
        n = BIO_get_mem_data(b, &data);
        if (n <= 0)
                return -EIO;
        s = strndup(data, (size_t) n);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int x509_chain_from_pem(const char *pem, size_t size, STACK_OF(X509) **ret) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
        _cleanup_(BIO_freep) BIO *b = NULL;

        if (!pem || !ret)
                return -EINVAL;
        if (size > X509_PEM_MAX)
                return -E2BIG;
        b = BIO_new_mem_buf(pem, (int) size);
        chain = sk_X509_new_null();
        if (!b || !chain)
                return -ENOMEM;

        for (;;) {
                _cleanup_free_ char *name = NULL, *header = NULL;
                _cleanup_free_ unsigned char *data = NULL;
                const unsigned char *p;
                long len = 0;
                X509 *x;

                /* PEM_read_bio only; PEM_read_bio_X509 would skip any
                 * non-certificate block silently. */
                ERR_set_mark();
                if (PEM_read_bio(b, &name, &header, &data, &len) != 1) {
                        unsigned long e = ERR_peek_last_error();
                        ERR_pop_to_mark();
                        if (ERR_GET_REASON(e) == PEM_R_NO_START_LINE && sk_X509_num(chain) > 0)
                                break;
                        return -EBADMSG;
                }
                ERR_pop_to_mark();
                if (strcmp(name, "CERTIFICATE") != 0 || (header && *header) || len <= 0)
                        return -EBADMSG;
                p = data;
                x = d2i_X509(NULL, &p, len);
                if (!x)
                        return -EBADMSG;
                if (p != data + len || sk_X509_num(chain) >= (int) X509_CHAIN_MAX || !sk_X509_push(chain, x)) {
                        X509_free(x);
                        return -EBADMSG;
                }
        }
        /* Only whitespace may follow the last certificate. */
        for (;;) {
                char c;
                int k = BIO_read(b, &c, 1);
                if (k <= 0)
                        break;
                if (!strchr(" \t\r\n", c))
                        return -EBADMSG;
        }
        *ret = TAKE_PTR(chain);
        return 0;
}

int pkey_from_pem(const char *pem, size_t size, EVP_PKEY **ret) {
        _cleanup_(BIO_freep) BIO *b = NULL;
        EVP_PKEY *k;

        if (!pem || !ret)
                return -EINVAL;
        if (size > X509_PEM_MAX)
                return -E2BIG;
        b = BIO_new_mem_buf(pem, (int) size);
        if (!b)
                return -ENOMEM;
        k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
        if (!k)
                return -EBADMSG;
        *ret = k;
        return 0;
}

int x509_verify_chain(STACK_OF(X509) *anchors, STACK_OF(X509) *chain, const char **ret_error) {
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = NULL;
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *untrusted = NULL;
        int r;

        if (!anchors || !chain || sk_X509_num(chain) < 1 || !ret_error)
                return -EINVAL;
        store = X509_STORE_new();
        untrusted = sk_X509_new_null();
        ctx = X509_STORE_CTX_new();
        if (!store || !untrusted || !ctx)
                return -ENOMEM;
        for (int i = 0; i < sk_X509_num(anchors); i++)
                if (X509_STORE_add_cert(store, sk_X509_value(anchors, i)) != 1)
                        return -ENOMEM;
        for (int i = 1; i < sk_X509_num(chain); i++) {
                X509 *x = sk_X509_value(chain, i);
                if (X509_up_ref(x) != 1 || !sk_X509_push(untrusted, x)) {
                        X509_free(x);
                        return -ENOMEM;
                }
        }
        /* Cloud vTPM CAs are often intermediates the user pins directly. */
        X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
        if (X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), untrusted) != 1)
                return -ENOMEM;
        r = X509_verify_cert(ctx);
        if (r != 1) {
                *ret_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
                return -EKEYREJECTED;
        }
        return 0;
}
