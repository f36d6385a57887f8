/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The systemd-tpm2 LUKS2 token parser (lib/tpm2-token.h). Token JSON comes
 * from the disk, which the host controls. Properties checked:
 *  - tpm2_token_parse() never crashes, leaks or reads out of bounds;
 *  - whatever it accepts, tpm2_token_format() can write (the one documented
 *    exception: a sha1 bank is read but never written), and the text it
 *    writes parses back to the same token and formats to the same text. */
#include <string.h>

#include "fuzz.h"
#include "tpm2-token.h"

static void check_same(const Tpm2Token *a, const Tpm2Token *b) {
        FUZZ_CHECK(a->keyslot == b->keyslot);
        FUZZ_CHECK(a->temporary == b->temporary);
        FUZZ_CHECK(a->key.pcr_mask == b->key.pcr_mask);
        FUZZ_CHECK(a->key.pcr_bank == b->key.pcr_bank);
        FUZZ_CHECK(a->key.primary_alg == b->key.primary_alg);
        FUZZ_CHECK(a->key.blob_size == b->key.blob_size);
        FUZZ_CHECK(memcmp(a->key.blob, b->key.blob, a->key.blob_size) == 0);
        FUZZ_CHECK(a->key.policy_hash_size == b->key.policy_hash_size);
        FUZZ_CHECK(memcmp(a->key.policy_hash, b->key.policy_hash, a->key.policy_hash_size) == 0);
        FUZZ_CHECK(!a->key.srk == !b->key.srk);
        FUZZ_CHECK(a->key.srk_size == b->key.srk_size);
        FUZZ_CHECK(!a->key.srk || memcmp(a->key.srk, b->key.srk, a->key.srk_size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(tpm2_token_done) Tpm2Token t = {}, t2 = {};
        _cleanup_free_ char *json = NULL, *text = NULL, *text2 = NULL;
        int r;

        json = fuzz_strndup(data, size);
        if (!json)
                return 0;
        r = tpm2_token_parse(json, &t);
        if (r < 0)
                return 0;

        /* What the parser accepted is a usable token. */
        FUZZ_CHECK(t.keyslot >= 0 && t.keyslot < 32);
        FUZZ_CHECK(t.key.blob && t.key.blob_size > 0 && t.key.blob_size <= TPM2_BLOB_MAX);
        FUZZ_CHECK(t.key.pcr_bank == TPM2_ALG_SHA256 || t.key.pcr_bank == TPM2_ALG_SHA1);
        FUZZ_CHECK(t.key.primary_alg == TPM2_ALG_ECC || t.key.primary_alg == TPM2_ALG_RSA);
        FUZZ_CHECK(t.key.policy_hash_size == 0 || t.key.policy_hash_size == TPM2_SHA256_SIZE);

        r = tpm2_token_format(&t, &text);
        if (t.key.pcr_bank != TPM2_ALG_SHA256) {
                FUZZ_CHECK(r == -EINVAL);
                return 0;
        }
        FUZZ_CHECK(r >= 0);

        r = tpm2_token_parse(text, &t2);
        if (r < 0)
                fprintf(stderr, "Formatted token does not parse back (%s):\n%s\n", strerror(-r), text);
        FUZZ_CHECK(r >= 0);
        check_same(&t, &t2);

        FUZZ_CHECK(tpm2_token_format(&t2, &text2) >= 0);
        FUZZ_CHECK(streq(text, text2));
        return 0;
}
