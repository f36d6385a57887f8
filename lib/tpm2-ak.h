/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The attestation key (AK) cvm-authcheck quotes with, found the way the
 * clouds provision it, in this order:
 *
 *  1. a persistent AK at 0x81000003 with its certificate in NV 0x01C101D0
 *     (Azure; the certificate is optional);
 *  2. a template in NV 0x01c10001 (RSA) / 0x01c10003 (ECC), recreated as a
 *     primary key in the endorsement hierarchy, certificate in NV
 *     0x01c10000 / 0x01c10002 (GCP);
 *  3. otherwise a primary key in the endorsement hierarchy made from the
 *     fixed template of tpm2_ak_template() (docs/EVIDENCE.md). A primary
 *     key is a function of the hierarchy's seed and the template, so the
 *     same AK comes back on every boot.
 *
 * A candidate that is not a restricted, fixedTPM signing key is skipped. */

#include <stddef.h>
#include <stdint.h>

#include "quote-verify.h"
#include "tpm2-util.h"

#define TPM2_AK_AZURE_HANDLE UINT32_C(0x81000003)
#define TPM2_AK_AZURE_CERT_NV UINT32_C(0x01C101D0)
#define TPM2_AK_GCP_CERT_NV_RSA UINT32_C(0x01c10000)
#define TPM2_AK_GCP_TEMPLATE_NV_RSA UINT32_C(0x01c10001)
#define TPM2_AK_GCP_CERT_NV_ECC UINT32_C(0x01c10002)
#define TPM2_AK_GCP_TEMPLATE_NV_ECC UINT32_C(0x01c10003)

typedef enum Tpm2AkSource {
        TPM2_AK_PERSISTENT,  /* provisioned persistent key */
        TPM2_AK_NV_TEMPLATE, /* primary key from a template the platform stored in NV */
        TPM2_AK_TEMPLATE,    /* primary key from our own fixed template */
        _TPM2_AK_SOURCE_MAX,
        _TPM2_AK_SOURCE_INVALID = -EINVAL,
} Tpm2AkSource;

typedef struct Tpm2Ak {
        Tpm2Handle handle;           /* flushed on cleanup unless persistent */
        TPM2B_PUBLIC public;
        Tpm2AkSource source;
        TPM2_HANDLE location;        /* persistent handle or template NV index; 0 for our template */
        uint8_t *certificate;        /* DER as read from NV (may carry padding), NULL if none */
        size_t certificate_size;
        TPM2_HANDLE certificate_index;
} Tpm2Ak;

const char *tpm2_ak_source_to_string(Tpm2AkSource s);

/* Our fixed AK template: ECC NIST P-256, ECDSA with SHA-256, name algorithm
 * SHA-256, fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|
 * restricted|sign, empty authPolicy, no symmetric or KDF scheme, empty
 * unique. Equal to `tpm2_createprimary -C e -g sha256 -G ecc256:ecdsa-sha256:null
 * -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign'`. */
void tpm2_ak_template(TPM2B_PUBLIC *ret);

/* Find or create the AK as described above. */
int tpm2_ak_open(Tpm2Context *c, Tpm2Ak *ret);
void tpm2_ak_done(Tpm2Ak *ak);
