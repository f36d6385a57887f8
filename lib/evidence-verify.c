/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <tss2/tss2_mu.h>

#include "encode-util.h"
#include "evidence-verify.h"
#include "quote-verify.h"
#include "x509-util.h"

static const char *const check_names[_VERIFY_CHECK_MAX] = {
        [VERIFY_EVIDENCE] = "evidence",
        [VERIFY_AK_TRUST] = "ak-trust",
        [VERIFY_SIGNATURE] = "signature",
        [VERIFY_ATTEST] = "attest",
        [VERIFY_PCR_DIGEST] = "pcr-digest",
        [VERIFY_BINDING] = "binding",
        [VERIFY_NONCE] = "nonce",
        [VERIFY_HOST_KEYS] = "host-keys",
        [VERIFY_EXPECTED_PCRS] = "expected-pcrs",
};

const char *verify_check_to_string(VerifyCheck c) {
        return c >= 0 && c < _VERIFY_CHECK_MAX ? check_names[c] : NULL;
}

VerifyCheck verify_check_from_string(const char *s) {
        for (int i = 0; s && i < _VERIFY_CHECK_MAX; i++)
                if (streq(check_names[i], s))
                        return (VerifyCheck) i;
        return _VERIFY_CHECK_INVALID;
}

const char *verify_result_to_string(VerifyResult r) {
        static const char *const names[] = {
                [VERIFY_SKIPPED] = "skipped",
                [VERIFY_PASSED] = "passed",
                [VERIFY_FAILED] = "failed",
        };
        return r >= 0 && r < (int) ELEMENTSOF(names) ? names[r] : NULL;
}

void verify_report_init(VerifyReport *r) {
        *r = (VerifyReport) { .first_failed = _VERIFY_CHECK_INVALID };
}

static void report_set(VerifyReport *r, VerifyCheck c, VerifyResult res, const char *fmt, va_list ap) {
        r->result[c] = res;
        if (fmt)
                (void) vsnprintf(r->detail[c], sizeof r->detail[c], fmt, ap);
        if (res == VERIFY_FAILED && (r->first_failed < 0 || c < r->first_failed))
                r->first_failed = c;
}

void verify_report_fail(VerifyReport *r, VerifyCheck c, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        report_set(r, c, VERIFY_FAILED, fmt, ap);
        va_end(ap);
}

_printf_(3, 4) static void pass(VerifyReport *r, VerifyCheck c, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        report_set(r, c, VERIFY_PASSED, fmt, ap);
        va_end(ap);
}

bool verify_report_ok(const VerifyReport *r) {
        return r->first_failed < 0;
}

static int marshal_public(const TPMT_PUBLIC *p, uint8_t *buf, size_t size, size_t *ret) {
        *ret = 0;
        return Tss2_MU_TPMT_PUBLIC_Marshal(p, buf, size, ret) == TSS2_RC_SUCCESS ? 0 : -EBADMSG;
}

static void check_ca(const Evidence *e, const VerifyPolicy *p, EVP_PKEY *ak, VerifyReport *r) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *chain = NULL;
        const char *why = NULL;
        char subject[VERIFY_DETAIL_MAX] = "";

        if (!e->ak_certificate) {
                verify_report_fail(r, VERIFY_AK_TRUST, "evidence carries no AK certificate to check against --ca");
                return;
        }
        if (x509_chain_from_pem(e->ak_certificate, strlen(e->ak_certificate), &chain) < 0) {
                verify_report_fail(r, VERIFY_AK_TRUST, "ak.certificate is not a PEM certificate chain");
                return;
        }
        (void) X509_NAME_oneline(X509_get_subject_name(sk_X509_value(chain, 0)), subject, sizeof subject);
        if (x509_verify_chain(p->ca, chain, &why) < 0) {
                verify_report_fail(r, VERIFY_AK_TRUST, "AK certificate %s does not chain to --ca: %s", subject,
                                   strna(why));
                return;
        }
        if (!ak || EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(chain, 0)), ak) != 1) {
                verify_report_fail(r, VERIFY_AK_TRUST, "AK certificate %s is for another key than ak.public",
                                   subject);
                return;
        }
        (void) snprintf(r->ak_description, sizeof r->ak_description, "certificate %s", subject);
        pass(r, VERIFY_AK_TRUST, "AK certificate %s chains to --ca", subject);
}

static void check_ak_trust(const Evidence *e, const VerifyPolicy *p, const TPM2B_PUBLIC *pub, EVP_PKEY *ak,
                           VerifyReport *r) {
        if (!pub) {
                verify_report_fail(r, VERIFY_AK_TRUST, "ak.public is not a TPM2B_PUBLIC");
                return;
        }
        if (!tpm2_public_is_ak(&pub->publicArea)) {
                verify_report_fail(r, VERIFY_AK_TRUST, "ak.public is not a restricted, fixedTPM signing key");
                return;
        }
        if (!ak) {
                verify_report_fail(r, VERIFY_AK_TRUST, "ak.public is not a supported RSA (>= 2048 bits) or "
                                                       "NIST P-256/384/521 key");
                return;
        }
        if (p->ak_public) {
                uint8_t a[sizeof(TPMT_PUBLIC)], b[sizeof(TPMT_PUBLIC)];
                size_t na, nb;

                if (marshal_public(p->ak_public, a, sizeof a, &na) < 0 ||
                    marshal_public(&pub->publicArea, b, sizeof b, &nb) < 0 || na != nb || memcmp(a, b, na) != 0) {
                        verify_report_fail(r, VERIFY_AK_TRUST, "ak.public differs from the pinned TPM public key");
                        return;
                }
                (void) snprintf(r->ak_description, sizeof r->ak_description, "pinned TPM public key");
        }
        if (p->ak_pkey) {
                if (EVP_PKEY_eq(p->ak_pkey, ak) != 1) {
                        verify_report_fail(r, VERIFY_AK_TRUST, "ak.public differs from the pinned public key");
                        return;
                }
                (void) snprintf(r->ak_description, sizeof r->ak_description, "pinned public key");
        }
        if (p->ca) {
                check_ca(e, p, ak, r);
                return;
        }
        if (!p->ak_pkey && !p->ak_public) {
                verify_report_fail(r, VERIFY_AK_TRUST, "no trust anchor given for the AK");
                return;
        }
        pass(r, VERIFY_AK_TRUST, "AK matches the %s", r->ak_description);
}

static void check_signature(const Evidence *e, EVP_PKEY *ak, VerifyReport *r) {
        TPMT_SIGNATURE sig;
        int k;

        if (!ak) {
                verify_report_fail(r, VERIFY_SIGNATURE, "no usable AK public key to check the signature with");
                return;
        }
        if (quote_signature_parse(e->signature, e->signature_size, &sig) < 0) {
                verify_report_fail(r, VERIFY_SIGNATURE, "quote.signature is not a TPMT_SIGNATURE");
                return;
        }
        k = quote_signature_verify(ak, e->attest, e->attest_size, &sig);
        if (k == -EOPNOTSUPP)
                verify_report_fail(r, VERIFY_SIGNATURE,
                                   "signature scheme 0x%04x/hash 0x%04x not accepted for this AK", sig.sigAlg,
                                   tpm2_signature_hash(&sig));
        else if (k < 0)
                verify_report_fail(r, VERIFY_SIGNATURE, "quote signature does not verify with the AK");
        else
                pass(r, VERIFY_SIGNATURE, "quote signed by the AK");
}

/* The sha256 mask of a quote's selection, -EBADMSG unless that is its only bank. */
static int selection_mask(const TPML_PCR_SELECTION *sel, uint32_t *ret) {
        uint32_t mask = 0;

        if (sel->count != 1 || sel->pcrSelections[0].hash != TPM2_ALG_SHA256 ||
            sel->pcrSelections[0].sizeofSelect > sizeof(sel->pcrSelections[0].pcrSelect))
                return -EBADMSG;
        for (unsigned i = 0; i < sel->pcrSelections[0].sizeofSelect; i++)
                mask |= (uint32_t) sel->pcrSelections[0].pcrSelect[i] << (8 * i);
        if (mask >> (PCR_INDEX_MAX + 1))
                return -EBADMSG;
        *ret = mask;
        return 0;
}

static void check_pcr_digest(const Evidence *e, const TPMS_ATTEST *a, TPMI_ALG_HASH hash, VerifyReport *r) {
        uint8_t values[PCR_INDEX_MAX + 1][QUOTE_PCR_VALUE_SIZE], digest[EVP_MAX_MD_SIZE];
        size_t n = 0, digest_size = 0;
        uint32_t mask;

        if (!a) {
                verify_report_fail(r, VERIFY_PCR_DIGEST, "no quote to compare the PCRs with");
                return;
        }
        if (selection_mask(&a->attested.quote.pcrSelect, &mask) < 0) {
                verify_report_fail(r, VERIFY_PCR_DIGEST, "quote does not select PCRs of the sha256 bank alone");
                return;
        }
        if (mask != e->pcr_mask) {
                verify_report_fail(r, VERIFY_PCR_DIGEST,
                                   "quoted PCR selection 0x%06x differs from the reported PCRs 0x%06x", mask,
                                   e->pcr_mask);
                return;
        }
        for (unsigned i = 0; i <= PCR_INDEX_MAX; i++)
                if (mask & (UINT32_C(1) << i))
                        memcpy(values[n++], e->pcr_values[i], QUOTE_PCR_VALUE_SIZE);
        /* The TPM digests the PCRs with the hash of the signing scheme. */
        if (quote_pcr_digest(hash, values, n, digest, &digest_size) < 0) {
                verify_report_fail(r, VERIFY_PCR_DIGEST, "signature hash 0x%04x not accepted for the PCR digest",
                                   hash);
                return;
        }
        if (a->attested.quote.pcrDigest.size != digest_size ||
            memcmp(a->attested.quote.pcrDigest.buffer, digest, digest_size) != 0) {
                verify_report_fail(r, VERIFY_PCR_DIGEST, "reported PCR values do not match the quoted PCR digest");
                return;
        }
        pass(r, VERIFY_PCR_DIGEST, "%zu sha256 PCRs match the quote", n);
}

static void check_binding(const Evidence *e, const TPMS_ATTEST *a, VerifyReport *r) {
        uint8_t qd[32];

        if (!a) {
                verify_report_fail(r, VERIFY_BINDING, "no quote to compare the host keys with");
                return;
        }
        if (hostkey_binding_digest(e->host_keys, e->n_host_keys, e->nonce, e->nonce_size, qd) < 0) {
                verify_report_fail(r, VERIFY_BINDING, "cannot compute the binding of the host keys");
                return;
        }
        if (a->extraData.size != sizeof qd || memcmp(a->extraData.buffer, qd, sizeof qd) != 0) {
                verify_report_fail(r, VERIFY_BINDING, "quote's qualifyingData is not the binding of the "
                                                      "evidence's host keys and nonce");
                return;
        }
        pass(r, VERIFY_BINDING, "quote binds %zu host keys", e->n_host_keys);
}

static void check_nonce(const Evidence *e, const VerifyPolicy *p, VerifyReport *r) {
        if (!p->check_nonce)
                return;
        if (e->nonce_size != p->nonce_size || memcmp(e->nonce, p->nonce, p->nonce_size) != 0) {
                verify_report_fail(r, VERIFY_NONCE,
                                   "evidence is for another nonce (%zu bytes), not the one asked for",
                                   e->nonce_size);
                return;
        }
        pass(r, VERIFY_NONCE, "evidence carries the requested nonce");
}

static bool key_in(const HostKey *k, const HostKey *set, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (set[i].blob_size == k->blob_size && memcmp(set[i].blob, k->blob, k->blob_size) == 0)
                        return true;
        return false;
}

static void check_host_keys(const Evidence *e, const VerifyPolicy *p, VerifyReport *r) {
        if (p->n_offered == 0)
                return;
        for (size_t i = 0; i < p->n_offered; i++)
                if (!key_in(&p->offered[i], e->host_keys, e->n_host_keys)) {
                        verify_report_fail(r, VERIFY_HOST_KEYS, "offered %s key is not attested",
                                           p->offered[i].type);
                        return;
                }
        if (!p->offered_subset)
                for (size_t i = 0; i < e->n_host_keys; i++) {
                        if (!key_in(&e->host_keys[i], p->offered, p->n_offered)) {
                                verify_report_fail(r, VERIFY_HOST_KEYS,
                                                   "attested %s key is not offered by the server",
                                                   e->host_keys[i].type);
                                return;
                        }
                }
        pass(r, VERIFY_HOST_KEYS, "%zu offered host keys are attested", p->n_offered);
}

static void check_expected_pcrs(const Evidence *e, const VerifyPolicy *p, VerifyReport *r) {
        if (p->expect_pcr_mask == 0)
                return;
        for (unsigned i = 0; i <= PCR_INDEX_MAX; i++) {
                if (!(p->expect_pcr_mask & (UINT32_C(1) << i)))
                        continue;
                if (!(e->pcr_mask & (UINT32_C(1) << i))) {
                        verify_report_fail(r, VERIFY_EXPECTED_PCRS, "PCR %u is not in the quote", i);
                        return;
                }
                if (memcmp(e->pcr_values[i], p->expect_pcrs[i], EVIDENCE_PCR_SIZE) != 0) {
                        verify_report_fail(r, VERIFY_EXPECTED_PCRS, "PCR %u differs from the expected value", i);
                        return;
                }
        }
        pass(r, VERIFY_EXPECTED_PCRS, "%d PCRs have the expected values", pcr_mask_count(p->expect_pcr_mask));
}

int evidence_verify(const Evidence *e, const VerifyPolicy *p, VerifyReport *report) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *ak = NULL;
        TPM2B_PUBLIC pub;
        TPMT_SIGNATURE sig;
        TPMS_ATTEST attest;
        bool have_pub, have_attest;
        TPMI_ALG_HASH hash = TPM2_ALG_NULL;
        int k;

        assert(e);
        assert(p);
        assert(report);

        pass(report, VERIFY_EVIDENCE, "well-formed version %d evidence", EVIDENCE_VERSION);

        have_pub = tpm2_public_parse(e->ak_public, e->ak_public_size, &pub) >= 0;
        if (have_pub && tpm2_public_to_pkey(&pub.publicArea, &ak) == -ENOMEM)
                return -ENOMEM;
        check_ak_trust(e, p, have_pub ? &pub : NULL, ak, report);
        check_signature(e, ak, report);

        k = quote_attest_parse(e->attest, e->attest_size, &attest);
        have_attest = k >= 0;
        if (k == -EPROTO)
                verify_report_fail(report, VERIFY_ATTEST, "quote.attest was not generated by a TPM (magic)");
        else if (k == -EMEDIUMTYPE)
                verify_report_fail(report, VERIFY_ATTEST, "quote.attest is not a quote (type 0x%04x)", attest.type);
        else if (k < 0)
                verify_report_fail(report, VERIFY_ATTEST, "quote.attest is not a TPMS_ATTEST");
        else
                pass(report, VERIFY_ATTEST, "TPM-generated quote");

        if (quote_signature_parse(e->signature, e->signature_size, &sig) >= 0)
                hash = tpm2_signature_hash(&sig);
        check_pcr_digest(e, have_attest ? &attest : NULL, hash, report);
        check_binding(e, have_attest ? &attest : NULL, report);
        check_nonce(e, p, report);
        check_host_keys(e, p, report);
        check_expected_pcrs(e, p, report);

        if (have_attest) {
                report->have_clock = true;
                report->clock = attest.clockInfo.clock;
                report->reset_count = attest.clockInfo.resetCount;
                report->restart_count = attest.clockInfo.restartCount;
                report->safe = attest.clockInfo.safe == TPM2_YES;
                report->firmware_version = attest.firmwareVersion;
        }
        return verify_report_ok(report) ? 0 : -EKEYREJECTED;
}
