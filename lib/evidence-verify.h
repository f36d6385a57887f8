/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Verification of parsed evidence against the user's trust and the host
 * keys the server offers, as a list of named checks (docs/EVIDENCE.md,
 * "Verification"). Every check is run and reported; the evidence is
 * verified only if none fails. The first failed check in this order is
 * the reason given: a tampered attest fails "signature", not "attest". */

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "evidence.h"
#include "macro.h"

typedef enum VerifyCheck {
        VERIFY_EVIDENCE,      /* the input is well-formed evidence (set by the caller on parse errors) */
        VERIFY_AK_TRUST,      /* ak.public is a restricted signing key the user trusts */
        VERIFY_SIGNATURE,     /* quote.signature is the AK's signature over quote.attest */
        VERIFY_ATTEST,        /* quote.attest is a TPM-generated quote */
        VERIFY_PCR_DIGEST,    /* the quoted selection and digest match the reported PCRs */
        VERIFY_BINDING,       /* extraData = qualifyingData over host_keys and nonce */
        VERIFY_NONCE,         /* the nonce is the one the user asked for */
        VERIFY_HOST_KEYS,     /* the keys the server offers are the attested ones */
        VERIFY_EXPECTED_PCRS, /* reported PCRs have the values the user expects */
        _VERIFY_CHECK_MAX,
        _VERIFY_CHECK_INVALID = -EINVAL,
} VerifyCheck;

typedef enum VerifyResult {
        VERIFY_SKIPPED, /* not asked for */
        VERIFY_PASSED,
        VERIFY_FAILED,
} VerifyResult;

#define VERIFY_DETAIL_MAX 200U

typedef struct VerifyPolicy {
        /* Trust in the AK, at least one: */
        EVP_PKEY *ak_pkey;                 /* pinned public key */
        const TPMT_PUBLIC *ak_public;      /* pinned TPM public area (compared whole) */
        STACK_OF(X509) *ca;                /* anchors ak.certificate must chain to */

        /* The keys the server offers; n_offered == 0 skips "host-keys". */
        const HostKey *offered;
        size_t n_offered;
        bool offered_subset;               /* each offered key attested (KnownHostsCommand gets one) */

        bool check_nonce;                  /* evidence must carry exactly this nonce */
        const uint8_t *nonce;
        size_t nonce_size;

        uint32_t expect_pcr_mask;          /* sha256 PCRs that must have expect_pcrs[i] */
        uint8_t expect_pcrs[PCR_INDEX_MAX + 1][EVIDENCE_PCR_SIZE];
} VerifyPolicy;

typedef struct VerifyReport {
        VerifyResult result[_VERIFY_CHECK_MAX];
        char detail[_VERIFY_CHECK_MAX][VERIFY_DETAIL_MAX];
        VerifyCheck first_failed;          /* _VERIFY_CHECK_INVALID if none */

        /* From the attest, meaningful only when verified. */
        bool have_clock;
        uint64_t clock;
        uint32_t reset_count, restart_count;
        bool safe;
        uint64_t firmware_version;
        char ak_description[VERIFY_DETAIL_MAX]; /* "pinned public key", the certificate subject … */
} VerifyReport;

const char *verify_check_to_string(VerifyCheck c);
VerifyCheck verify_check_from_string(const char *s);
const char *verify_result_to_string(VerifyResult r);

void verify_report_init(VerifyReport *r);
/* Record a failed check with a printf-style detail. */
void verify_report_fail(VerifyReport *r, VerifyCheck c, const char *fmt, ...) _printf_(3, 4);
bool verify_report_ok(const VerifyReport *r);

/* Run all checks. Returns 0 if every check passed or was skipped,
 * -EKEYREJECTED if one failed (see @report), other -errno on internal
 * failure (out of memory). */
int evidence_verify(const Evidence *e, const VerifyPolicy *p, VerifyReport *report);
