/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The "cvm-tpm2-import" LUKS2 token (docs/IMPORT-TOKEN.md): a secret sealed
 * offline, on a machine without the target TPM, as a TPM2_Import duplicate
 * for the target's SRK (lib/tpm2-duplicate.h).
 *   {"type":"cvm-tpm2-import","keyslots":["1"],
 *    "tpm2-public":BASE64,      marshalled TPM2B_PUBLIC of the sealed object
 *    "tpm2-duplicate":BASE64,   marshalled TPM2B_PRIVATE (outer wrapper)
 *    "tpm2-seed":BASE64,        marshalled TPM2B_ENCRYPTED_SECRET
 *    "tpm2-pcrs":[4,7],"tpm2-pcr-bank":"sha256",
 *    "tpm2-policy-hash":HEX,    = the object's authPolicy
 *    "tpm2-primary-alg":"ecc",  the SRK's type (systemd's template)
 *    "tpm2-srk-name":HEX}       Name of the SRK public it was made for
 * cvm-enroll convert-import replaces it, in place (same token id, same
 * keyslot, same secret), with a systemd-tpm2 token. */

#include <json-c/json.h>
#include <tss2/tss2_tpm2_types.h>

#define TPM2_IMPORT_TOKEN_TYPE "cvm-tpm2-import"

typedef struct Tpm2ImportToken {
        int keyslot;
        uint32_t pcr_mask;
        uint16_t primary_alg; /* TPM2_ALG_ECC or TPM2_ALG_RSA */
        uint8_t policy_hash[32];
        TPM2B_PUBLIC public;
        TPM2B_PRIVATE duplicate;
        TPM2B_ENCRYPTED_SECRET seed;
        TPM2B_NAME srk_name;
} Tpm2ImportToken;

/* -EMEDIUMTYPE: not this type; -EBADMSG: malformed (reason via
 * tpm2_import_token_invalid_reason()); -EOPNOTSUPP: a bank other than
 * sha256. Checks that the object is a sealed data object whose authPolicy
 * is tpm2-policy-hash and that it can be imported (fixedTPM/fixedParent
 * clear). */
int tpm2_import_token_parse(const char *json, Tpm2ImportToken *ret);
const char *tpm2_import_token_invalid_reason(const char *json);

int tpm2_import_token_format(const Tpm2ImportToken *t, char **ret);
