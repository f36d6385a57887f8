/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "log.h"
#include "pcr-spec.h"
#include "tpm2-util.h"

#define TCTI_SPEC_MAX 512

int tpm2_tcti_from_spec(const char *spec, char **ret) {
        char *s;

        if (!ret)
                return -EINVAL;
        if (!spec || streq(spec, "auto"))
                s = strdup("device:/dev/tpmrm0");
        else {
                size_t n = strnlen(spec, TCTI_SPEC_MAX + 1);
                if (n == 0 || n > TCTI_SPEC_MAX)
                        return -EINVAL;
                for (size_t i = 0; i < n; i++)
                        if (!isprint((unsigned char) spec[i]) || isspace((unsigned char) spec[i]))
                                return -EINVAL;
                if (spec[0] == '/') {
                        if (asprintf(&s, "device:%s", spec) < 0)
                                s = NULL;
                } else if (spec[0] == ':' || spec[n - 1] == ':')
                        return -EINVAL; /* ":conf" or "name:" – a half-written TCTI */
                else
                        s = strdup(spec);
        }
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

const char *tpm2_rc_string(TSS2_RC rc) {
        return Tss2_RC_Decode(rc);
}

int tpm2_rc_to_errno(TSS2_RC rc) {
        TSS2_RC layer = rc & TSS2_RC_LAYER_MASK, base = rc & ~TSS2_RC_LAYER_MASK;

        if (rc == TSS2_RC_SUCCESS)
                return 0;
        if (layer == TSS2_TCTI_RC_LAYER || base == TSS2_BASE_RC_IO_ERROR)
                return -EHOSTDOWN; /* transport: TPM absent or unreachable */
        if (layer != TSS2_TPM_RC_LAYER)
                return -ENOTRECOVERABLE;
        /* Format-one codes carry a parameter/handle/session number: drop it. */
        if (base & TPM2_RC_FMT1)
                base &= TPM2_RC_FMT1 | 0x3F;

        switch (base) {
        case TPM2_RC_LOCKOUT:
                return -ENOLCK;
        case TPM2_RC_PCR_CHANGED:
                return -ESTALE; /* PCRs moved between PolicyPCR and use: retry */
        case TPM2_RC_POLICY_FAIL:
        case TPM2_RC_AUTH_FAIL:
        case TPM2_RC_BAD_AUTH:
                return -EPERM;
        case TPM2_RC_HANDLE:
        case TPM2_RC_REFERENCE_H0:
                return -ENXIO;
        case TPM2_RC_INTEGRITY:
        case TPM2_RC_SIZE:
        case TPM2_RC_INSUFFICIENT:
                return -EBADMSG; /* blob corrupt or made under another parent */
        default:
                return -ENOTRECOVERABLE;
        }
}

/* The device nodes tpm2-tss's device TCTI opens for @tcti ("device:PATH",
 * or plain "device", for which it tries the resource manager, then the raw
 * device), or 0 when @tcti names another TCTI. */
static size_t tcti_device_nodes(const char *tcti, const char *ret[static 2]) {
        const char *conf = strchr(tcti, ':');
        size_t n = conf ? (size_t) (conf - tcti) : strlen(tcti);
        char name[64];

        if (n >= sizeof(name))
                return 0;
        memcpy(name, tcti, n);
        name[n] = 0;
        /* tctildr also takes "tcti-device" and the library's file name. */
        if (!streq(name, "device") && !streq(name, "tcti-device") && strncmp(name, "libtss2-tcti-device.so", 22) != 0)
                return 0;
        if (conf) {
                ret[0] = conf + 1;
                return 1;
        }
        ret[0] = "/dev/tpmrm0";
        ret[1] = "/dev/tpm0";
        return 2;
}

/* After the TCTI failed to open: is that because the device node it names
 * does not exist (no TPM in this machine, or a mistyped path)? Asked only
 * after a failure, so a working TPM costs no extra system call. */
static bool tcti_device_missing(const char *tcti) {
        const char *nodes[2];
        size_t n = tcti_device_nodes(tcti, nodes);

        for (size_t i = 0; i < n; i++)
                if (access(nodes[i], F_OK) >= 0 || errno != ENOENT)
                        return false;
        return n > 0;
}

const char *tpm2_open_error_text(int r, const char *spec, char **buf) {
        _cleanup_free_ char *tcti = NULL;
        const char *nodes[2];
        size_t n;
        int k;

        assert(buf);
        if (tpm2_tcti_from_spec(spec, &tcti) < 0)
                k = asprintf(buf, "Failed to open the TPM '%s': %s", strna(spec), strerror(ERRNO_VALUE(r)));
        else if (ERRNO_VALUE(r) == ENODEV && (n = tcti_device_nodes(tcti, nodes)) > 0)
                k = asprintf(buf, "No TPM 2.0 device found (%s%s%s missing)", nodes[0], n > 1 ? " and " : "",
                             n > 1 ? nodes[1] : "");
        else
                k = asprintf(buf, "Failed to open the TPM through '%s': %s", tcti, strerror(ERRNO_VALUE(r)));
        if (k < 0) {
                *buf = NULL;
                return "Failed to open the TPM";
        }
        return *buf;
}

int tpm2_context_new(const char *spec, Tpm2Context **ret) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
        _cleanup_free_ char *tcti = NULL;
        TSS2_RC rc;
        int r;

        r = tpm2_tcti_from_spec(spec, &tcti);
        if (r < 0)
                return log_debug_errno(r, "Invalid TPM device specification '%s'.", strna(spec));

        /* tpm2-tss logs every TPM error response to stderr on its own
         * (WARNING:esys …); the tools report each failure once, in words.
         * An explicit TSS2_LOG, or our debug level, lets its log through.
         * tpm2-tss reads this variable only, hence setenv(). */
        if (log_get_max_level() < LOG_DEBUG)
                (void) setenv("TSS2_LOG", "all+none", /* overwrite= */ 0);

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;

        rc = Tss2_TctiLdr_Initialize(tcti, &c->tcti);
        if (rc != TSS2_RC_SUCCESS && tcti_device_missing(tcti))
                return log_debug_errno(SYNTHETIC_ERRNO(ENODEV), "No TPM device node for TCTI '%s': %s", tcti,
                                       tpm2_rc_string(rc));
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(SYNTHETIC_ERRNO(EHOSTDOWN), "Failed to open TPM through TCTI '%s': %s",
                                       tcti, tpm2_rc_string(rc));
        rc = Esys_Initialize(&c->esys, c->tcti, NULL);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(SYNTHETIC_ERRNO(EHOSTDOWN), "Failed to initialize ESYS: %s",
                                       tpm2_rc_string(rc));

        /* A TPM that firmware already started answers TPM2_RC_INITIALIZE;
         * swtpm without --flags startup-clear needs the startup. The
         * kernel's TPM driver (/dev/tpm0, /dev/tpmrm0) has always started
         * its TPM when it registered it: one command fewer per run (each
         * costs tens of ms through qemu's TPM emulation under TCG). */
        c->kernel_rm = strncmp(tcti, "device:/dev/tpmrm", 17) == 0;
        if (strncmp(tcti, "device:/dev/tpm", 15) != 0) {
                rc = TPM2_CALL(c, Esys_Startup(c->esys, TPM2_SU_CLEAR));
                if (rc != TSS2_RC_SUCCESS && rc != TPM2_RC_INITIALIZE)
                        return log_debug_errno(tpm2_rc_to_errno(rc), "TPM2_Startup failed: %s",
                                               tpm2_rc_string(rc));
        }

        log_debug("Opened TPM through TCTI '%s'.", tcti);
        *ret = TAKE_PTR(c);
        return 0;
}

Tpm2Context *tpm2_context_free(Tpm2Context *c) {
        if (!c)
                return NULL;
        if (c->esys)
                Esys_Finalize(&c->esys);
        if (c->tcti)
                Tss2_TctiLdr_Finalize(&c->tcti);
        free(c);
        return NULL;
}

void tpm2_context_defer_flush(Tpm2Context *c) {
        c->defer_flush = c->kernel_rm;
}

/* A transient object the kernel's resource manager will flush on close? */
static bool flush_deferred(const Tpm2Handle *h) {
        TPM2_HANDLE handle;

        return h->ctx->defer_flush && Esys_TR_GetTpmHandle(h->ctx->esys, h->tr, &handle) == TSS2_RC_SUCCESS &&
               (handle >> TPM2_HR_SHIFT) == TPM2_HT_TRANSIENT;
}

void tpm2_handle_release(Tpm2Handle *h) {
        if (h->flush && h->tr != ESYS_TR_NONE && h->ctx && !flush_deferred(h)) {
                TSS2_RC rc = TPM2_CALL(h->ctx, Esys_FlushContext(h->ctx->esys, h->tr));
                if (rc != TSS2_RC_SUCCESS)
                        log_debug("Failed to flush TPM handle, ignoring: %s", tpm2_rc_string(rc));
        }
        *h = TPM2_HANDLE_NULL;
}

void tpm2_pcr_selection(uint32_t mask, TPML_PCR_SELECTION *ret) {
        *ret = (TPML_PCR_SELECTION) {
                .count = 1,
                .pcrSelections[0] = {
                        .hash = TPM2_ALG_SHA256,
                        .sizeofSelect = 3,
                        .pcrSelect = { mask & 0xFF, (mask >> 8) & 0xFF, (mask >> 16) & 0xFF },
                },
        };
}

int tpm2_pcr_read(Tpm2Context *c, uint32_t mask, uint8_t ret_values[][TPM2_SHA256_SIZE]) {
        uint32_t todo = mask;
        size_t n = 0;

        if (mask >> (PCR_INDEX_MAX + 1))
                return -EINVAL;

        /* The TPM returns at most 8 digests per call and says which PCRs it
         * served; ask again for the rest until none is left. */
        while (todo) {
                _cleanup_(Esys_Freep) TPML_PCR_SELECTION *out_sel = NULL;
                _cleanup_(Esys_Freep) TPML_DIGEST *values = NULL;
                TPML_PCR_SELECTION sel;
                uint32_t served = 0;
                TSS2_RC rc;

                tpm2_pcr_selection(todo, &sel);
                rc = TPM2_CALL(c, Esys_PCR_Read(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel,
                                                NULL, &out_sel, &values));
                if (rc != TSS2_RC_SUCCESS)
                        return log_debug_errno(tpm2_rc_to_errno(rc), "TPM2_PCR_Read failed: %s",
                                               tpm2_rc_string(rc));
                if (out_sel->count != 1 || out_sel->pcrSelections[0].hash != TPM2_ALG_SHA256)
                        return log_debug_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "TPM has no sha256 PCR bank.");
                for (unsigned i = 0; i < 3 && i < out_sel->pcrSelections[0].sizeofSelect; i++)
                        served |= (uint32_t) out_sel->pcrSelections[0].pcrSelect[i] << (8 * i);
                served &= todo;
                if (served == 0 || (unsigned) __builtin_popcount(served) != values->count)
                        return log_debug_errno(SYNTHETIC_ERRNO(EOPNOTSUPP),
                                               "TPM did not return the sha256 PCRs asked for.");

                /* Digests come in ascending PCR order; so does ret_values, and
                 * every earlier call served only lower-numbered PCRs. */
                for (unsigned i = 0; i < values->count; i++) {
                        if (values->digests[i].size != TPM2_SHA256_SIZE)
                                return -EBADMSG;
                        memcpy(ret_values[n++], values->digests[i].buffer, TPM2_SHA256_SIZE);
                }
                todo &= ~served;
        }
        return 0;
}

static int sha256_many(const void *const *parts, const size_t *sizes, size_t n, uint8_t ret[TPM2_SHA256_SIZE]) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned len = 0;
        int ok;

        if (!md)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL);
        for (size_t i = 0; ok && i < n; i++)
                ok = EVP_DigestUpdate(md, parts[i], sizes[i]);
        ok = ok && EVP_DigestFinal_ex(md, ret, &len);
        EVP_MD_CTX_free(md);
        return ok && len == TPM2_SHA256_SIZE ? 0 : -EIO;
}

int tpm2_policy_pcr_update(uint8_t digest[TPM2_SHA256_SIZE], uint32_t mask,
                           const uint8_t values[][TPM2_SHA256_SIZE]) {
        uint8_t pcr_digest[TPM2_SHA256_SIZE], cc[4], sel_buf[sizeof(TPML_PCR_SELECTION)];
        size_t sel_len = 0, n = (size_t) pcr_mask_count(mask);
        TPML_PCR_SELECTION sel;
        int r;

        if (mask >> (PCR_INDEX_MAX + 1))
                return -EINVAL;
        r = sha256_many((const void *const[]) { values }, (const size_t[]) { n * TPM2_SHA256_SIZE }, 1,
                        pcr_digest);
        if (r < 0)
                return r;

        tpm2_pcr_selection(mask, &sel);
        if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&sel, sel_buf, sizeof sel_buf, &sel_len) != TSS2_RC_SUCCESS)
                return -EIO;
        if (Tss2_MU_TPM2_CC_Marshal(TPM2_CC_PolicyPCR, cc, sizeof cc, NULL) != TSS2_RC_SUCCESS)
                return -EIO;

        return sha256_many((const void *const[]) { digest, cc, sel_buf, pcr_digest },
                           (const size_t[]) { TPM2_SHA256_SIZE, sizeof cc, sel_len, TPM2_SHA256_SIZE }, 4, digest);
}
