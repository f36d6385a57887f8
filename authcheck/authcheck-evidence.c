/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Quote the host keys and assemble the evidence (docs/EVIDENCE.md). */
#include <stdio.h>
#include <time.h>
#include <tss2/tss2_mu.h>

#include "authcheck.h"
#include "file-util.h"
#include "json-util.h"
#include "log.h"
#include "tpm2-ak.h"
#include "tpm2-nv.h"
#include "tpm2-quote.h"
#include "x509-util.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

static void tpm2_ak_donep(Tpm2Ak *ak) {
        tpm2_ak_done(ak);
}

static void tpm2_quote_donep(Tpm2Quote *q) {
        tpm2_quote_done(q);
}

static int copy_keys(const HostKey *keys, size_t n, Evidence *e) {
        e->host_keys = calloc(n, sizeof(HostKey));
        if (!e->host_keys)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                HostKey *k = &e->host_keys[i];

                k->type = strdup(keys[i].type);
                k->blob = malloc(keys[i].blob_size);
                if (!k->type || !k->blob) {
                        e->n_host_keys = i + 1;
                        return -ENOMEM;
                }
                memcpy(k->blob, keys[i].blob, keys[i].blob_size);
                k->blob_size = keys[i].blob_size;
        }
        e->n_host_keys = n;
        return 0;
}

/* The EK certificate, RSA first: informational, so any failure only means
 * the evidence goes without it. */
static char *ek_certificate(Tpm2Context *c) {
        static const TPM2_HANDLE indices[] = { TPM2_NV_EK_CERT_RSA, TPM2_NV_EK_CERT_ECC };

        for (size_t i = 0; i < ELEMENTSOF(indices); i++) {
                _cleanup_free_ uint8_t *der = NULL;
                size_t size = 0;
                char *pem = NULL;
                int r;

                r = tpm2_nv_read(c, indices[i], &der, &size);
                if (r < 0) {
                        log_debug_errno(r, "No EK certificate in NV index 0x%08x: %m", indices[i]);
                        continue;
                }
                r = x509_der_to_pem(der, size, &pem);
                if (r < 0) {
                        log_warning_errno(r, "EK certificate in NV index 0x%08x is not DER, leaving it out: %m",
                                          indices[i]);
                        continue;
                }
                return pem;
        }
        return NULL;
}

static char *boot_id(void) {
        _cleanup_free_ char *s = NULL;
        size_t n = 0;

        if (read_full_file(BOOT_ID_PATH, 64, &s, &n) < 0)
                return strdup("unknown");
        s[strcspn(s, "\n")] = 0;
        return *s ? TAKE_PTR(s) : strdup("unknown");
}

static char *now_rfc3339(void) {
        char buf[sizeof "YYYY-MM-DDTHH:MM:SSZ" + 8];
        time_t t = time(NULL);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return strdup("unknown");
        return strdup(buf);
}

int evidence_create(const AuthcheckArgs *a, const HostKey *keys, size_t n_keys, const uint8_t *nonce,
                    size_t nonce_size, Evidence *ret) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
        _cleanup_(tpm2_ak_donep) Tpm2Ak ak = { .handle = TPM2_HANDLE_NULL };
        _cleanup_(tpm2_quote_donep) Tpm2Quote q = {};
        _cleanup_free_ char *why = NULL;
        Evidence e = {};
        uint8_t qd[32];
        size_t n = 0, pub_size = 0;
        int r;

        r = hostkey_binding_digest(keys, n_keys, nonce, nonce_size, qd);
        if (r < 0)
                return log_error_errno(r, "Failed to compute the host key binding: %m");

        r = tpm2_context_new(a->common.tpm2_device, &c);
        if (r < 0)
                return log_error_errno(r, "%s.", tpm2_open_error_text(r, a->common.tpm2_device, &why));
        r = tpm2_ak_open(c, &ak);
        if (r == -ENOLCK)
                return log_error_errno(r, "Failed to find or create the attestation key: the TPM is in "
                                       "dictionary-attack lockout.");
        if (r < 0)
                return log_error_errno(r, "Failed to find or create the attestation key: %m");
        r = tpm2_quote(c, &ak, a->pcr_mask, qd, sizeof qd, &q);
        if (r == -ENOLCK)
                /* strerror() would say "No locks available". */
                return log_error_errno(r, "Failed to get a TPM2 quote: the TPM is in dictionary-attack lockout.");
        if (r < 0)
                return log_error_errno(r, "Failed to get a TPM2 quote: %m");

        e.ak_public = malloc(sizeof(TPM2B_PUBLIC));
        if (!e.ak_public)
                return log_oom();
        if (Tss2_MU_TPM2B_PUBLIC_Marshal(&ak.public, e.ak_public, sizeof(TPM2B_PUBLIC), &pub_size) !=
            TSS2_RC_SUCCESS) {
                evidence_done(&e);
                return log_error_errno(SYNTHETIC_ERRNO(EIO), "Failed to marshal the AK public key.");
        }
        e.ak_public_size = pub_size;
        e.ak_source = strdup(tpm2_ak_source_to_string(ak.source));
        if (ak.certificate) {
                r = x509_der_to_pem(ak.certificate, ak.certificate_size, &e.ak_certificate);
                if (r < 0)
                        log_warning_errno(r, "AK certificate in NV index 0x%08x is not DER, leaving it out: %m",
                                          ak.certificate_index);
        }
        e.ek_certificate = ek_certificate(c);

        r = copy_keys(keys, n_keys, &e);
        if (r < 0) {
                evidence_done(&e);
                return log_oom();
        }
        if (nonce_size > 0)
                memcpy(e.nonce, nonce, nonce_size);
        e.nonce_size = nonce_size;
        e.attest = TAKE_PTR(q.attest);
        e.attest_size = q.attest_size;
        e.signature = TAKE_PTR(q.signature);
        e.signature_size = q.signature_size;
        e.pcr_mask = q.pcr_mask;
        for (unsigned i = 0; i <= PCR_INDEX_MAX; i++)
                if (q.pcr_mask & (UINT32_C(1) << i))
                        memcpy(e.pcr_values[i], q.pcr_values[n++], EVIDENCE_PCR_SIZE);
        e.boot_id = boot_id();
        e.created = now_rfc3339();
        if (!e.ak_source || !e.boot_id || !e.created) {
                evidence_done(&e);
                return log_oom();
        }

        log_debug("Quoted %zu host keys with the %s AK in %u TPM commands.", n_keys, e.ak_source, c->n_commands);
        *ret = e;
        return 0;
}

int evidence_format(const Evidence *e, JsonFormat format, char **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE, r;
        char *s;

        r = evidence_to_json(e, &o);
        if (r < 0)
                return r;
        flags |= format == JSON_PRETTY ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN;
        if (asprintf(&s, "%s\n", json_object_to_json_string_ext(o, flags)) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}
