/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The host-key binding evidence of DESIGN.md, version 1: one JSON object
 * (schema in docs/EVIDENCE.md). evidence_to_json() writes it,
 * evidence_parse() reads it as hostile input: bounded sizes, strict types,
 * well-formed encodings. Parsing proves nothing about authenticity; that
 * is evidence-verify.h's job. */

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "hostkey-binding.h"
#include "macro.h"
#include "pcr-spec.h"

#define EVIDENCE_VERSION 1
#define EVIDENCE_SIZE_MAX (256U * 1024U)   /* the whole JSON text */
#define EVIDENCE_BLOB_MAX 4096U            /* attest, signature, ak.public (decoded) */
#define EVIDENCE_CERT_MAX (64U * 1024U)    /* each PEM certificate field */
#define EVIDENCE_TEXT_MAX 64U              /* boot_id, created, ak.source */
#define EVIDENCE_PCR_SIZE 32U              /* sha256 */

typedef struct Evidence {
        HostKey *host_keys;
        size_t n_host_keys;
        uint8_t nonce[HOSTKEY_NONCE_MAX];
        size_t nonce_size;
        uint8_t *attest;            /* marshalled TPMS_ATTEST */
        size_t attest_size;
        uint8_t *signature;         /* marshalled TPMT_SIGNATURE */
        size_t signature_size;
        uint32_t pcr_mask;          /* sha256 PCRs reported */
        uint8_t pcr_values[PCR_INDEX_MAX + 1][EVIDENCE_PCR_SIZE]; /* indexed by PCR number */
        uint8_t *ak_public;         /* marshalled TPM2B_PUBLIC */
        size_t ak_public_size;
        char *ak_certificate;       /* PEM, leaf first, or NULL */
        char *ak_source;            /* how the guest found its AK (informational) or NULL */
        char *ek_certificate;       /* PEM or NULL */
        char *boot_id;              /* informational: not covered by the quote */
        char *created;              /* informational: not covered by the quote */
} Evidence;

void evidence_done(Evidence *e);

int evidence_to_json(const Evidence *e, json_object **ret);

/* Parse one evidence object. On failure, @ret_field (if not NULL) names
 * the field at fault ("quote.attest", …) or "" for the document itself:
 * -EBADMSG malformed or wrong type, -ENOENT a required field missing,
 * -E2BIG over a bound, -EPROTONOSUPPORT another version, -ENOTUNIQ the
 * same host key twice. Unknown fields are ignored. */
int evidence_parse(const char *text, size_t size, Evidence *ret, const char **ret_field);
