/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* TPM access through tpm2-tss ESYS: opening the TPM from a --tpm2-device
 * spec, transient handles that flush themselves, TSS2_RC → errno, PCR reads
 * and the PolicyPCR digest computed in software (the same formula the TPM
 * applies, so a policy can be predicted without a trial session). */

#include <stdbool.h>
#include <stdint.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "macro.h"

#define TPM2_SHA256_SIZE 32U

static inline void Esys_Freep(void *p) {
        Esys_Free(*(void **) p);
        *(void **) p = NULL;
}

typedef struct Tpm2Context {
        TSS2_TCTI_CONTEXT *tcti;
        ESYS_CONTEXT *esys;
        unsigned n_commands; /* TPM commands sent, for benchmarks and --verbose */
        bool kernel_rm;      /* through the kernel's resource manager (/dev/tpmrm*) */
        bool defer_flush;    /* see tpm2_context_defer_flush() */
} Tpm2Context;

/* Translate --tpm2-device: NULL or "auto" → "device:/dev/tpmrm0"; an absolute
 * path → "device:PATH"; anything else is a tpm2-tss TCTI string, passed on
 * after checking it is printable and bounded. */
int tpm2_tcti_from_spec(const char *spec, char **ret);

/* -ENODEV when the TCTI is tpm2-tss's device TCTI and its device node does
 * not exist (no TPM); -EHOSTDOWN when the TCTI or ESYS fails otherwise (a
 * TPM that is unreachable or does not answer); -EINVAL for a bad @spec. */
int tpm2_context_new(const char *spec, Tpm2Context **ret);
/* The words for a tool's error line when tpm2_context_new(@spec) failed
 * with @r: "No TPM 2.0 device found (/dev/tpmrm0 missing)" for -ENODEV,
 * "Failed to open the TPM through 'TCTI': <strerror>" otherwise. Returns
 * the text, kept in *@buf (free it), or a fixed one when out of memory. */
const char *tpm2_open_error_text(int r, const char *spec, char **buf);
Tpm2Context *tpm2_context_free(Tpm2Context *c);
/* For a context that is freed right after one unseal (cvm-growroot): when
 * it talks to the kernel's resource manager, which flushes every object of
 * its file descriptor when that is closed, tpm2_handle_release() sends no
 * TPM2_FlushContext for transient objects (the primary and the sealed
 * object: 2 commands fewer per unseal); sessions are still flushed. The
 * resource manager holds only 3 objects per descriptor: a context that
 * loads more must not call this. No-op for any other TCTI. */
void tpm2_context_defer_flush(Tpm2Context *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Tpm2Context *, tpm2_context_free);

/* An ESYS_TR that flushes itself (transient objects and sessions). */
typedef struct Tpm2Handle {
        Tpm2Context *ctx;
        ESYS_TR tr;
        bool flush;
} Tpm2Handle;
#define TPM2_HANDLE_NULL ((Tpm2Handle) { .tr = ESYS_TR_NONE })
void tpm2_handle_release(Tpm2Handle *h);

/* Count a TPM command and convert its return code. */
#define TPM2_CALL(c, expr) ((c)->n_commands++, (expr))
int tpm2_rc_to_errno(TSS2_RC rc);
const char *tpm2_rc_string(TSS2_RC rc);

/* Read sha256 PCRs in @mask (several TPM2_PCR_Read calls, 8 PCRs each at
 * most). @ret_values gets 32 bytes per selected PCR, lowest index first. */
int tpm2_pcr_read(Tpm2Context *c, uint32_t mask, uint8_t ret_values[][TPM2_SHA256_SIZE]);

/* The selection structure PolicyPCR and Quote take, for the sha256 bank. */
void tpm2_pcr_selection(uint32_t mask, TPML_PCR_SELECTION *ret);

/* policyDigest' = SHA256(policyDigest ‖ TPM_CC_PolicyPCR ‖ selection ‖
 * SHA256(PCR values in selection order)). @digest is updated in place;
 * start from 32 zero bytes. @values: one per selected PCR, ascending. */
int tpm2_policy_pcr_update(uint8_t digest[TPM2_SHA256_SIZE], uint32_t mask,
                           const uint8_t values[][TPM2_SHA256_SIZE]);
