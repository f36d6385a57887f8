/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cvm-tpm2-import LUKS2 token parser (lib/tpm2-import-token.h). The
 * token comes from the disk, which the host controls. Properties checked:
 *  - tpm2_import_token_parse() never crashes, leaks or reads out of bounds;
 *  - whatever it accepts is importable as far as software can tell: a
 *    keyedhash object with nameAlg sha256, fixedTPM/fixedParent clear,
 *    authPolicy = tpm2-policy-hash, non-empty duplicate and seed, one
 *    keyslot 0-31, PCRs 0-23;
 *  - tpm2_import_token_format() writes it, and the text parses back to the
 *    same token and formats to the same text;
 *  - tpm2_import_token_invalid_reason() names a reason exactly when the
 *    parser refuses. */
#include <string.h>

#include "fuzz.h"
#include "tpm2-import-token.h"

static void check_same(const Tpm2ImportToken *a, const Tpm2ImportToken *b) {
        FUZZ_CHECK(a->keyslot == b->keyslot);
        FUZZ_CHECK(a->pcr_mask == b->pcr_mask);
        FUZZ_CHECK(a->primary_alg == b->primary_alg);
        FUZZ_CHECK(memcmp(a->policy_hash, b->policy_hash, sizeof a->policy_hash) == 0);
        FUZZ_CHECK(a->srk_name.size == b->srk_name.size);
        FUZZ_CHECK(memcmp(a->srk_name.name, b->srk_name.name, a->srk_name.size) == 0);
        FUZZ_CHECK(a->duplicate.size == b->duplicate.size);
        FUZZ_CHECK(memcmp(a->duplicate.buffer, b->duplicate.buffer, a->duplicate.size) == 0);
        FUZZ_CHECK(a->seed.size == b->seed.size);
        FUZZ_CHECK(memcmp(a->seed.secret, b->seed.secret, a->seed.size) == 0);
        FUZZ_CHECK(a->public.size == b->public.size);
        FUZZ_CHECK(memcmp(&a->public.publicArea.authPolicy, &b->public.publicArea.authPolicy,
                          sizeof a->public.publicArea.authPolicy) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *json = NULL, *text = NULL, *text2 = NULL;
        Tpm2ImportToken t, t2;
        const TPMT_PUBLIC *p;
        int r;

        json = fuzz_strndup(data, size);
        if (!json)
                return 0;
        r = tpm2_import_token_parse(json, &t);
        FUZZ_CHECK((r < 0) == (tpm2_import_token_invalid_reason(json) != NULL));
        if (r < 0)
                return 0;

        p = &t.public.publicArea;
        FUZZ_CHECK(t.keyslot >= 0 && t.keyslot < 32);
        FUZZ_CHECK((t.pcr_mask >> 24) == 0);
        FUZZ_CHECK(t.primary_alg == TPM2_ALG_ECC || t.primary_alg == TPM2_ALG_RSA);
        FUZZ_CHECK(p->type == TPM2_ALG_KEYEDHASH && p->nameAlg == TPM2_ALG_SHA256);
        FUZZ_CHECK(!(p->objectAttributes & (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT)));
        FUZZ_CHECK(p->authPolicy.size == 32 && memcmp(p->authPolicy.buffer, t.policy_hash, 32) == 0);
        FUZZ_CHECK(t.duplicate.size > 0 && t.seed.size > 0 && t.srk_name.size >= 2);

        FUZZ_CHECK(tpm2_import_token_format(&t, &text) >= 0);
        r = tpm2_import_token_parse(text, &t2);
        if (r < 0)
                fprintf(stderr, "Formatted token does not parse back (%s):\n%s\n", strerror(-r), text);
        FUZZ_CHECK(r >= 0);
        check_same(&t, &t2);
        FUZZ_CHECK(tpm2_import_token_format(&t2, &text2) >= 0);
        FUZZ_CHECK(streq(text, text2));
        return 0;
}
