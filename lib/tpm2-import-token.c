/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <tss2/tss2_mu.h>

#include "encode-util.h"
#include "json-util.h"
#include "log.h"
#include "pcr-spec.h"
#include "tpm2-duplicate.h"
#include "tpm2-import-token.h"
#include "tpm2-token.h"

#define FIELD_MAX 4096U

/* Reasons are static strings naming the field, never the token's bytes. */
static int refuse(const char **ret_reason, int error, const char *reason) {
        log_debug("Import token refused: %s.", reason);
        *ret_reason = reason;
        return -ERRNO_VALUE(error);
}

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

        r = json_parse_object(json, strnlen(json, JSON_INPUT_MAX + 1), &o);
        if (r < 0)
                return refuse(ret_reason, r, "the token is not a JSON object, or is nested too deeply or too large");
        if (json_get_string(o, "type", &s) < 0)
                return refuse(ret_reason, EBADMSG, "the token has no type");
        if (!streq(s, TPM2_IMPORT_TOKEN_TYPE) ||
            json_object_get_string_len(json_object_object_get(o, "type")) != (int) strlen(TPM2_IMPORT_TOKEN_TYPE))
                return refuse(ret_reason, EMEDIUMTYPE, "the token is not of type cvm-tpm2-import");

        r = tpm2_token_parse_keyslot(o, &t.keyslot, ret_reason);
        if (r < 0)
                return r;
        r = tpm2_token_parse_pcrs(o, &t.pcr_mask, ret_reason);
        if (r < 0)
                return r;
        r = json_get_string(o, "tpm2-pcr-bank", &s);
        if (r < 0 && r != -ENOENT)
                return refuse(ret_reason, EBADMSG, "'tpm2-pcr-bank' is not a string");
        if (r >= 0 && !streq(s, "sha256"))
                return refuse(ret_reason, EOPNOTSUPP, "'tpm2-pcr-bank' is not sha256");
        if (json_get_string(o, "tpm2-primary-alg", &s) < 0 || (!streq(s, "ecc") && !streq(s, "rsa")))
                return refuse(ret_reason, EBADMSG, "'tpm2-primary-alg' is missing or neither ecc nor rsa");
        t.primary_alg = streq(s, "ecc") ? TPM2_ALG_ECC : TPM2_ALG_RSA;

        if (json_get_hex(o, "tpm2-policy-hash", &ph, &ph_size) < 0 || ph_size != sizeof t.policy_hash)
                return refuse(ret_reason, EBADMSG, "'tpm2-policy-hash' is missing or not 32 bytes of hex");
        memcpy(t.policy_hash, ph, sizeof t.policy_hash);
        if (json_get_hex(o, "tpm2-srk-name", &name, &name_size) < 0 || name_size < 2 ||
            name_size > sizeof t.srk_name.name)
                return refuse(ret_reason, EBADMSG, "'tpm2-srk-name' is missing or not a TPM name in hex");
        memcpy(t.srk_name.name, name, name_size);
        t.srk_name.size = (uint16_t) name_size;

        if (get_b64(o, "tpm2-public", &pub, &pub_size) < 0 || parse_public(pub, pub_size, &t.public) < 0)
                return refuse(ret_reason, EBADMSG, "'tpm2-public' is missing or not a base64 TPM2B_PUBLIC");
        if (get_b64(o, "tpm2-duplicate", &dup, &dup_size) < 0 ||
            tpm2_duplicate_parse_private(dup, dup_size, &t.duplicate) < 0)
                return refuse(ret_reason, EBADMSG, "'tpm2-duplicate' is missing or not a base64 TPM2B_PRIVATE");
        if (get_b64(o, "tpm2-seed", &seed, &seed_size) < 0 ||
            tpm2_duplicate_parse_seed(seed, seed_size, &t.seed) < 0)
                return refuse(ret_reason, EBADMSG,
                              "'tpm2-seed' is missing or not a base64 TPM2B_ENCRYPTED_SECRET");

        a = &t.public.publicArea;
        if (a->type != TPM2_ALG_KEYEDHASH || a->nameAlg != TPM2_ALG_SHA256 ||
            a->parameters.keyedHashDetail.scheme.scheme != TPM2_ALG_NULL ||
            (a->objectAttributes & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_USERWITHAUTH)))
                return refuse(ret_reason, EBADMSG, "'tpm2-public' is not a policy-only sealed data object");
        if (a->objectAttributes & (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT))
                return refuse(ret_reason, EBADMSG, "'tpm2-public' has fixedTPM or fixedParent set (not importable)");
        if (a->authPolicy.size != sizeof t.policy_hash ||
            memcmp(a->authPolicy.buffer, t.policy_hash, sizeof t.policy_hash) != 0)
                return refuse(ret_reason, EBADMSG, "'tpm2-policy-hash' is not the sealed object's policy");

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

static int add(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_b64(json_object *o, const char *key, int r, uint8_t *buf, size_t size) {
        _cleanup_free_ uint8_t *b = buf;
        _cleanup_free_ char *s = NULL;

        if (r < 0)
                return r;
        r = base64_encode(b, size, &s);
        if (r < 0)
                return r;
        return add(o, key, json_object_new_string(s));
}

int tpm2_import_token_format(const Tpm2ImportToken *t, char **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        _cleanup_free_ char *ph = NULL, *name = NULL;
        json_object *slots, *pcrs;
        uint8_t *buf = NULL;
        size_t size = 0;
        char slot[16];
        int r;

        if (!o)
                return -ENOMEM;
        if (t->keyslot < 0 || t->keyslot >= 32 || (t->primary_alg != TPM2_ALG_ECC && t->primary_alg != TPM2_ALG_RSA) ||
            t->pcr_mask >> (PCR_INDEX_MAX + 1))
                return -EINVAL;
        if (hex_encode(t->policy_hash, sizeof t->policy_hash, &ph) < 0 ||
            hex_encode(t->srk_name.name, t->srk_name.size, &name) < 0)
                return -ENOMEM;

        snprintf(slot, sizeof slot, "%i", t->keyslot);
        slots = json_object_new_array();
        if (!slots || json_object_array_add(slots, json_object_new_string(slot)) < 0) {
                json_object_put(slots);
                return -ENOMEM;
        }
        pcrs = json_object_new_array();
        for (unsigned i = 0; pcrs && i <= PCR_INDEX_MAX; i++)
                if (t->pcr_mask & (UINT32_C(1) << i) && json_object_array_add(pcrs, json_object_new_int((int) i)) < 0) {
                        json_object_put(pcrs);
                        pcrs = NULL;
                }
        if (add(o, "type", json_object_new_string(TPM2_IMPORT_TOKEN_TYPE)) < 0 || add(o, "keyslots", slots) < 0)
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
        if (add(o, "tpm2-pcrs", pcrs) < 0 || add(o, "tpm2-pcr-bank", json_object_new_string("sha256")) < 0 ||
            add(o, "tpm2-policy-hash", json_object_new_string(ph)) < 0 ||
            add(o, "tpm2-primary-alg", json_object_new_string(t->primary_alg == TPM2_ALG_ECC ? "ecc" : "rsa")) < 0 ||
            add(o, "tpm2-srk-name", json_object_new_string(name)) < 0)
                return -ENOMEM;

        *ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        return *ret ? 0 : -ENOMEM;
}
