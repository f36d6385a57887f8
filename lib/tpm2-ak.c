/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <tss2/tss2_mu.h>

#include "log.h"
#include "tpm2-ak.h"
#include "tpm2-nv.h"

static const char *const source_names[_TPM2_AK_SOURCE_MAX] = {
        [TPM2_AK_PERSISTENT] = "persistent",
        [TPM2_AK_NV_TEMPLATE] = "nv-template",
        [TPM2_AK_TEMPLATE] = "template",
};

const char *tpm2_ak_source_to_string(Tpm2AkSource s) {
        return s >= 0 && s < _TPM2_AK_SOURCE_MAX ? source_names[s] : NULL;
}

#define AK_ATTRIBUTES                                                                            \
        (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |       \
         TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

void tpm2_ak_template(TPM2B_PUBLIC *ret) {
        *ret = (TPM2B_PUBLIC) {
                .publicArea = {
                        .type = TPM2_ALG_ECC,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = AK_ATTRIBUTES,
                        .parameters.eccDetail = {
                                .symmetric.algorithm = TPM2_ALG_NULL,
                                .scheme = {
                                        .scheme = TPM2_ALG_ECDSA,
                                        .details.ecdsa.hashAlg = TPM2_ALG_SHA256,
                                },
                                .curveID = TPM2_ECC_NIST_P256,
                                .kdf.scheme = TPM2_ALG_NULL,
                        },
                },
        };
}

void tpm2_ak_done(Tpm2Ak *ak) {
        if (!ak)
                return;
        tpm2_handle_release(&ak->handle);
        free(ak->certificate);
        *ak = (Tpm2Ak) { .handle = TPM2_HANDLE_NULL };
}

/* Certificates are optional: a missing or unreadable one is not an error. */
static void read_certificate(Tpm2Context *c, TPM2_HANDLE index, Tpm2Ak *ak) {
        int r;

        r = tpm2_nv_read(c, index, &ak->certificate, &ak->certificate_size);
        if (r < 0) {
                log_debug_errno(r, "No AK certificate in NV index 0x%08x, proceeding without: %m", index);
                return;
        }
        ak->certificate_index = index;
}

static int open_persistent(Tpm2Context *c, TPM2_HANDLE handle, Tpm2Ak *ak) {
        _cleanup_(Esys_Freep) TPM2B_PUBLIC *pub = NULL;
        ESYS_TR tr = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        r = tpm2_handle_exists(c, handle);
        if (r <= 0)
                return r < 0 ? r : -ENXIO;
        rc = TPM2_CALL(c, Esys_TR_FromTPMPublic(c->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr));
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc), "Failed to load persistent handle 0x%08x: %s",
                                       handle, tpm2_rc_string(rc));
        rc = TPM2_CALL(c, Esys_ReadPublic(c->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL));
        if (rc != TSS2_RC_SUCCESS) {
                (void) Esys_TR_Close(c->esys, &tr);
                return log_debug_errno(tpm2_rc_to_errno(rc), "TPM2_ReadPublic(0x%08x) failed: %s", handle,
                                       tpm2_rc_string(rc));
        }
        if (!tpm2_public_is_ak(&pub->publicArea)) {
                (void) Esys_TR_Close(c->esys, &tr);
                return log_debug_errno(SYNTHETIC_ERRNO(EMEDIUMTYPE),
                                       "Persistent key 0x%08x is not a restricted signing key, ignoring it.",
                                       handle);
        }
        ak->handle = (Tpm2Handle) { .ctx = c, .tr = tr, .flush = false };
        ak->public = *pub;
        return 0;
}

static int create_primary(Tpm2Context *c, const TPM2B_PUBLIC *template, Tpm2Ak *ak) {
        _cleanup_(Esys_Freep) TPM2B_PUBLIC *pub = NULL;
        TPM2B_SENSITIVE_CREATE sensitive = {};
        TPML_PCR_SELECTION no_pcrs = {};
        TPM2B_DATA outside = {};
        ESYS_TR tr = ESYS_TR_NONE;
        TSS2_RC rc;

        rc = TPM2_CALL(c, Esys_CreatePrimary(c->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                             ESYS_TR_NONE, &sensitive, template, &outside, &no_pcrs, &tr, &pub,
                                             NULL, NULL, NULL));
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc),
                                       "Failed to create the AK in the endorsement hierarchy: %s",
                                       tpm2_rc_string(rc));
        ak->handle = (Tpm2Handle) { .ctx = c, .tr = tr, .flush = true };
        if (!tpm2_public_is_ak(&pub->publicArea))
                return log_debug_errno(SYNTHETIC_ERRNO(EMEDIUMTYPE),
                                       "Template does not make a restricted signing key.");
        ak->public = *pub;
        return 0;
}

/* A template stored in NV as a marshalled TPMT_PUBLIC (as GCP does);
 * trailing zero bytes (an index bigger than its contents) are allowed. */
static int open_nv_template(Tpm2Context *c, TPM2_HANDLE index, Tpm2Ak *ak) {
        _cleanup_free_ uint8_t *buf = NULL;
        TPM2B_PUBLIC template = {};
        size_t size = 0, off = 0;
        int r;

        r = tpm2_nv_read(c, index, &buf, &size);
        if (r < 0)
                return r;
        if (Tss2_MU_TPMT_PUBLIC_Unmarshal(buf, size, &off, &template.publicArea) != TSS2_RC_SUCCESS)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "NV index 0x%08x holds no valid template.", index);
        for (size_t i = off; i < size; i++)
                if (buf[i] != 0)
                        return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG),
                                               "NV index 0x%08x has data after its template.", index);
        if (!tpm2_public_is_ak(&template.publicArea))
                return log_debug_errno(SYNTHETIC_ERRNO(EMEDIUMTYPE),
                                       "Template in NV index 0x%08x is not a restricted signing key.", index);
        return create_primary(c, &template, ak);
}

static int find_ak(Tpm2Context *c, Tpm2Ak *ak) {
        static const struct {
                TPM2_HANDLE template, certificate;
        } nv_templates[] = {
                { TPM2_AK_GCP_TEMPLATE_NV_RSA, TPM2_AK_GCP_CERT_NV_RSA },
                { TPM2_AK_GCP_TEMPLATE_NV_ECC, TPM2_AK_GCP_CERT_NV_ECC },
        };
        TPM2B_PUBLIC template;
        int r;

        r = open_persistent(c, TPM2_AK_AZURE_HANDLE, ak);
        if (r >= 0) {
                ak->source = TPM2_AK_PERSISTENT;
                ak->location = TPM2_AK_AZURE_HANDLE;
                read_certificate(c, TPM2_AK_AZURE_CERT_NV, ak);
                return 0;
        }
        if (r != -ENXIO)
                log_debug_errno(r, "Not using persistent AK 0x%08x: %m", TPM2_AK_AZURE_HANDLE);

        for (size_t i = 0; i < ELEMENTSOF(nv_templates); i++) {
                r = open_nv_template(c, nv_templates[i].template, ak);
                if (r >= 0) {
                        ak->source = TPM2_AK_NV_TEMPLATE;
                        ak->location = nv_templates[i].template;
                        read_certificate(c, nv_templates[i].certificate, ak);
                        return 0;
                }
                tpm2_ak_done(ak);
                if (r != -ENXIO)
                        log_debug_errno(r, "Not using the AK template in NV index 0x%08x: %m",
                                        nv_templates[i].template);
        }

        tpm2_ak_template(&template);
        r = create_primary(c, &template, ak);
        if (r < 0)
                return r;
        ak->source = TPM2_AK_TEMPLATE;
        return 0;
}

int tpm2_ak_open(Tpm2Context *c, Tpm2Ak *ret) {
        Tpm2Ak ak = { .handle = TPM2_HANDLE_NULL };
        int r;

        assert(c);
        assert(ret);

        r = find_ak(c, &ak);
        if (r < 0) {
                tpm2_ak_done(&ak);
                return r;
        }
        log_debug("Using AK: %s (0x%08x), certificate %s.", tpm2_ak_source_to_string(ak.source), ak.location,
                  ak.certificate ? "present" : "absent");
        *ret = ak;
        return 0;
}
