/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <tss2/tss2_mu.h>

#include "encode-util.h"
#include "json-util.h"
#include "pcr-spec.h"
#include "token-json.h"
#include "tpm2-duplicate.h"
#include "tpm2-import-token.h"

#define FIELD_MAX 4096U

static int get_b64(json_object *o, const char *key, void **ret, size_t *ret_size) {
        int r = json_get_base64(o, key, ret, ret_size);
        if (r >= 0 && (*ret_size == 0 || *ret_size > FIELD_MAX)) {
                free(*ret);
                *ret = NULL;
                return -EBADMSG;
        }
        return r;
}

static int parse_public(const uint8_t *b, size_t n, TPM2B_PUBLIC *ret) {
        TPM2B_PUBLIC p = {};
        size_t off = 0;

        /* tss2-mu does not check that the TPMT_PUBLIC fills the TPM2B's size. */
        if (n < 2 || Tss2_MU_TPM2B_PUBLIC_Unmarshal(b, n, &off, &p) != TSS2_RC_SUCCESS || off != n ||
            (((size_t) b[0] << 8) | b[1]) != n - 2)
                return -EBADMSG;
        *ret = p;
        return 0;
}

static int token_parse(const char *json, Tpm2ImportToken *ret, const char **ret_reason) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ void *pub = NULL, *dup = NULL, *seed = NULL, *ph = NULL, *name = NULL;
        size_t pub_size = 0, dup_size = 0, seed_size = 0, ph_size = 0, name_size = 0;
        Tpm2ImportToken t = {};
        const TPMT_PUBLIC *a;
        const char *s;
        int r;

        r = token_json_open(json, TPM2_IMPORT_TOKEN_TYPE, "the token is not of type cvm-tpm2-import", &o,
                            ret_reason);
        if (r < 0)
                return r;
        r = token_json_parse_keyslot(o, &t.keyslot, ret_reason);
        if (r < 0)
                return r;
        r = token_json_parse_pcrs(o, &t.pcr_mask, ret_reason);
        if (r < 0)
                return r;
        r = json_get_string(o, "tpm2-pcr-bank", &s);
        if (r < 0 && r != -ENOENT)
                return token_refuse(ret_reason, EBADMSG, "'tpm2-pcr-bank' is not a string");
        if (r >= 0 && !streq(s, "sha256"))
                return token_refuse(ret_reason, EOPNOTSUPP, "'tpm2-pcr-bank' is not sha256");
        if (json_get_string(o, "tpm2-primary-alg", &s) < 0 || (!streq(s, "ecc") && !streq(s, "rsa")))
                return token_refuse(ret_reason, EBADMSG, "'tpm2-primary-alg' is missing or neither ecc nor rsa");
        t.primary_alg = streq(s, "ecc") ? TPM2_ALG_ECC : TPM2_ALG_RSA;

        if (json_get_hex(o, "tpm2-policy-hash", &ph, &ph_size) < 0 || ph_size != sizeof t.policy_hash)
                return token_refuse(ret_reason, EBADMSG, "'tpm2-policy-hash' is missing or not 32 bytes of hex");
        memcpy(t.policy_hash, ph, sizeof t.policy_hash);
        if (json_get_hex(o, "tpm2-srk-name", &name, &name_size) < 0 || name_size < 2 ||
            name_size > sizeof t.srk_name.name)
                return token_refuse(ret_reason, EBADMSG, "'tpm2-srk-name' is missing or not a TPM name in hex");
        memcpy(t.srk_name.name, name, name_size);
        t.srk_name.size = (uint16_t) name_size;

        if (get_b64(o, "tpm2-public", &pub, &pub_size) < 0 || parse_public(pub, pub_size, &t.public) < 0)
                return token_refuse(ret_reason, EBADMSG, "'tpm2-public' is missing or not a base64 TPM2B_PUBLIC");
        if (get_b64(o, "tpm2-duplicate", &dup, &dup_size) < 0 ||
            tpm2_duplicate_parse_private(dup, dup_size, &t.duplicate) < 0)
                return token_refuse(ret_reason, EBADMSG, "'tpm2-duplicate' is missing or not a base64 TPM2B_PRIVATE");
        if (get_b64(o, "tpm2-seed", &seed, &seed_size) < 0 ||
            tpm2_duplicate_parse_seed(seed, seed_size, &t.seed) < 0)
                return token_refuse(ret_reason, EBADMSG,
                              "'tpm2-seed' is missing or not a base64 TPM2B_ENCRYPTED_SECRET");

        a = &t.public.publicArea;
        if (a->type != TPM2_ALG_KEYEDHASH || a->nameAlg != TPM2_ALG_SHA256 ||
            a->parameters.keyedHashDetail.scheme.scheme != TPM2_ALG_NULL ||
            (a->objectAttributes & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_USERWITHAUTH)))
                return token_refuse(ret_reason, EBADMSG, "'tpm2-public' is not a policy-only sealed data object");
        if (a->objectAttributes & (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT))
                return token_refuse(ret_reason, EBADMSG, "'tpm2-public' has fixedTPM or fixedParent set (not importable)");
        if (a->authPolicy.size != sizeof t.policy_hash ||
            memcmp(a->authPolicy.buffer, t.policy_hash, sizeof t.policy_hash) != 0)
                return token_refuse(ret_reason, EBADMSG, "'tpm2-policy-hash' is not the sealed object's policy");

        *ret = t;
        explicit_bzero(&t, sizeof t);
        return 0;
}

int tpm2_import_token_parse(const char *json, Tpm2ImportToken *ret) {
        const char *reason;

        if (!json || !ret)
                return -EINVAL;
        return token_parse(json, ret, &reason);
}

const char *tpm2_import_token_invalid_reason(const char *json) {
        Tpm2ImportToken t;
        const char *reason = NULL;

        if (!json)
                return "the token could not be read";
        return token_parse(json, &t, &reason) < 0 ? reason : NULL;
}

static int add_b64(json_object *o, const char *key, int r, uint8_t *buf, size_t size) {
        _cleanup_free_ uint8_t *b = buf;
        _cleanup_free_ char *s = NULL;

        if (r < 0)
                return r;
        r = base64_encode(b, size, &s);
        if (r < 0)
                return r;
        return token_json_add_string(o, key, s);
}

int tpm2_import_token_format(const Tpm2ImportToken *t, char **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        _cleanup_free_ char *ph = NULL, *name = NULL;
        uint8_t *buf = NULL;
        size_t size = 0;
        int r;

        if (!o)
                return -ENOMEM;
        if (t->keyslot < 0 || t->keyslot >= 32 || (t->primary_alg != TPM2_ALG_ECC && t->primary_alg != TPM2_ALG_RSA) ||
            t->pcr_mask >> (PCR_INDEX_MAX + 1))
                return -EINVAL;
        if (hex_encode(t->policy_hash, sizeof t->policy_hash, &ph) < 0 ||
            hex_encode(t->srk_name.name, t->srk_name.size, &name) < 0)
                return -ENOMEM;

        if (token_json_add_string(o, "type", TPM2_IMPORT_TOKEN_TYPE) < 0 ||
            token_json_add(o, "keyslots", token_json_new_keyslots(t->keyslot)) < 0)
                return -ENOMEM;
        r = tpm2_duplicate_marshal_public(&t->public, &buf, &size);
        r = add_b64(o, "tpm2-public", r, buf, size);
        if (r < 0)
                return r;
        r = tpm2_duplicate_marshal_private(&t->duplicate, &buf, &size);
        r = add_b64(o, "tpm2-duplicate", r, buf, size);
        if (r < 0)
                return r;
        r = tpm2_duplicate_marshal_seed(&t->seed, &buf, &size);
        r = add_b64(o, "tpm2-seed", r, buf, size);
        if (r < 0)
                return r;
        if (token_json_add(o, "tpm2-pcrs", token_json_new_pcrs(t->pcr_mask)) < 0 ||
            token_json_add_string(o, "tpm2-pcr-bank", "sha256") < 0 ||
            token_json_add_string(o, "tpm2-policy-hash", ph) < 0 ||
            token_json_add_string(o, "tpm2-primary-alg", t->primary_alg == TPM2_ALG_ECC ? "ecc" : "rsa") < 0 ||
            token_json_add_string(o, "tpm2-srk-name", name) < 0)
                return -ENOMEM;

        return token_json_to_string(o, ret);
}
