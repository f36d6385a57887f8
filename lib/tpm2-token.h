/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The "systemd-tpm2" LUKS2 token, byte-compatible with systemd 252:
 *   {"type":"systemd-tpm2","keyslots":["1"],"tpm2-blob":BASE64,
 *    "tpm2-pcrs":[7],"tpm2-pcr-bank":"sha256","tpm2-primary-alg":"ecc",
 *    "tpm2-policy-hash":HEX,"tpm2-pin":false}
 * plus our "cvm-temporary": true on slots meant to be wiped after first
 * boot, and "cvm-reseal-pending": true on a token cvm-enroll reseal sealed
 * to predicted PCRs, until reseal --finalize sees a boot that matches it. Fields of later systemd versions are read tolerantly: tpm2_srk is
 * used, tpm2_pubkey (signed policies) and tpm2-pin are refused with
 * -EOPNOTSUPP, since unlocking them needs what a first-boot tool lacks. */

#include <json-c/json.h>

#include "tpm2-seal.h"

#define TPM2_TOKEN_TYPE "systemd-tpm2"

typedef struct Tpm2Token {
        int keyslot;
        bool temporary;
        bool reseal_pending; /* "cvm-reseal-pending": sealed by reseal for a boot that has not happened yet */
        Tpm2SealedKey key;
} Tpm2Token;

void tpm2_token_done(Tpm2Token *t);

/* Parse a token's JSON text. Errors: -EMEDIUMTYPE not a systemd-tpm2
 * token, -EBADMSG malformed, -EOPNOTSUPP a feature we cannot unlock. A
 * human-readable reason goes to the debug log. */
int tpm2_token_parse(const char *json, Tpm2Token *ret);

/* Why tpm2_token_parse() refuses @json, in a few words for the user (a
 * static string naming the field, never the token's own bytes), or NULL if
 * it parses. */
const char *tpm2_token_invalid_reason(const char *json);

/* Serialize; the result is what systemd 252 would write for the same key. */
int tpm2_token_format(const Tpm2Token *t, char **ret);
