/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <tss2/tss2_mu.h>

#include "log.h"
#include "quote-verify.h"
#include "tpm2-quote.h"

#define QUOTE_TRIES 3

void tpm2_quote_done(Tpm2Quote *q) {
        if (!q)
                return;
        free(q->attest);
        free(q->signature);
        *q = (Tpm2Quote) {};
}

static void sig_scheme_for(const TPMT_PUBLIC *pub, TPMT_SIG_SCHEME *ret) {
        TPMI_ALG_SIG_SCHEME own = pub->type == TPM2_ALG_RSA ? pub->parameters.rsaDetail.scheme.scheme
                                                            : pub->parameters.eccDetail.scheme.scheme;

        /* TPM2_Quote refuses a scheme different from a restricted key's own;
         * TPM_ALG_NULL means "the key's". Only a key without one needs ours. */
        if (own != TPM2_ALG_NULL)
                *ret = (TPMT_SIG_SCHEME) { .scheme = TPM2_ALG_NULL };
        else if (pub->type == TPM2_ALG_RSA)
                *ret = (TPMT_SIG_SCHEME) { .scheme = TPM2_ALG_RSASSA, .details.rsassa.hashAlg = TPM2_ALG_SHA256 };
        else
                *ret = (TPMT_SIG_SCHEME) { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 };
}

static int quote_once(Tpm2Context *c, const Tpm2Ak *ak, uint32_t pcr_mask, const TPM2B_DATA *qd, Tpm2Quote *q) {
        _cleanup_(Esys_Freep) TPM2B_ATTEST *quoted = NULL;
        _cleanup_(Esys_Freep) TPMT_SIGNATURE *sig = NULL;
        _cleanup_free_ uint8_t *sig_buf = NULL;
        uint8_t digest[EVP_MAX_MD_SIZE];
        TPML_PCR_SELECTION sel;
        TPMS_ATTEST attest;
        TPMT_SIG_SCHEME scheme;
        size_t sig_size = 0, digest_size = 0;
        TSS2_RC rc;
        int r;

        tpm2_pcr_selection(pcr_mask, &sel);
        sig_scheme_for(&ak->public.publicArea, &scheme);
        rc = TPM2_CALL(c, Esys_Quote(c->esys, ak->handle.tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, qd,
                                     &scheme, &sel, &quoted, &sig));
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc), "TPM2_Quote failed: %s", tpm2_rc_string(rc));

        r = tpm2_pcr_read(c, pcr_mask, q->pcr_values);
        if (r < 0)
                return r;

        r = quote_attest_parse(quoted->attestationData, quoted->size, &attest);
        if (r < 0)
                return log_debug_errno(r, "TPM returned a quote we cannot parse: %m");
        r = quote_pcr_digest(tpm2_signature_hash(sig), q->pcr_values, (size_t) pcr_mask_count(pcr_mask), digest,
                             &digest_size);
        if (r < 0)
                return r;
        if (attest.attested.quote.pcrDigest.size != digest_size ||
            memcmp(attest.attested.quote.pcrDigest.buffer, digest, digest_size) != 0)
                return log_debug_errno(SYNTHETIC_ERRNO(ESTALE), "PCRs changed between quote and read.");

        sig_buf = malloc(sizeof(TPMT_SIGNATURE));
        if (!sig_buf)
                return -ENOMEM;
        if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sig_buf, sizeof(TPMT_SIGNATURE), &sig_size) != TSS2_RC_SUCCESS)
                return -EIO;
        q->attest = malloc(quoted->size);
        if (!q->attest)
                return -ENOMEM;
        memcpy(q->attest, quoted->attestationData, quoted->size);
        q->attest_size = quoted->size;
        q->signature = TAKE_PTR(sig_buf);
        q->signature_size = sig_size;
        q->pcr_mask = pcr_mask;
        return 0;
}

int tpm2_quote(Tpm2Context *c, const Tpm2Ak *ak, uint32_t pcr_mask, const uint8_t *qualifying_data,
               size_t qualifying_data_size, Tpm2Quote *ret) {
        TPM2B_DATA qd = {};
        int r = -ESTALE;

        assert(c);
        assert(ak);
        assert(ret);

        if (pcr_mask == 0 || pcr_mask >> (PCR_INDEX_MAX + 1) || qualifying_data_size > sizeof(qd.buffer) ||
            (!qualifying_data && qualifying_data_size > 0))
                return -EINVAL;
        qd.size = (uint16_t) qualifying_data_size;
        if (qualifying_data_size > 0)
                memcpy(qd.buffer, qualifying_data, qualifying_data_size);

        for (unsigned i = 0; i < QUOTE_TRIES && r == -ESTALE; i++) {
                Tpm2Quote q = {};

                r = quote_once(c, ak, pcr_mask, &qd, &q);
                if (r >= 0) {
                        *ret = q;
                        return 0;
                }
                tpm2_quote_done(&q);
        }
        return r;
}
