/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* X.509 for the AK and EK certificates: DER as read from TPM NV to PEM for
 * the evidence, PEM chains from the evidence (hostile) and from the user
 * (trusted anchors), chain verification with X509_verify_cert. */

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define X509_CHAIN_MAX 16U     /* certificates in one PEM chain or CA file */
#define X509_PEM_MAX (64U * 1024U)

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free);
static inline void sk_X509_pop_freep(STACK_OF(X509) **p) {
        if (*p)
                sk_X509_pop_free(*p, X509_free);
        *p = NULL;
}

/* One DER certificate, as platforms store it in NV: trailing zero bytes
 * (an index larger than the certificate) are allowed, anything else after
 * the certificate is not. Returns the PEM text. */
int x509_der_to_pem(const uint8_t *der, size_t size, char **ret);

/* All "CERTIFICATE" PEM blocks of @pem (1..X509_CHAIN_MAX, nothing else but
 * whitespace between them), in order. */
int x509_chain_from_pem(const char *pem, size_t size, STACK_OF(X509) **ret);

/* A public key in PEM (SubjectPublicKeyInfo, "PUBLIC KEY"). */
int pkey_from_pem(const char *pem, size_t size, EVP_PKEY **ret);

/* Verify that @chain[0] chains to one of @anchors, with the rest of @chain
 * as untrusted intermediates. Any certificate in @anchors may end the
 * chain (an intermediate CA can be pinned). Validity periods are checked;
 * no purpose is required. Returns 0, or -EKEYREJECTED with the reason in
 * @ret_error (a static string). */
int x509_verify_chain(STACK_OF(X509) *anchors, STACK_OF(X509) *chain, const char **ret_error);
