/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "encode-util.h"
#include "json-util.h"
#include "token-json.h"
#include "tpm2-token.h"

void tpm2_token_done(Tpm2Token *t) {
        if (!t)
                return;
        tpm2_sealed_key_done(&t->key);
        *t = (Tpm2Token) {};
}

/* An optional string field with a fixed set of values. */
static int parse_enum(json_object *o, const char *key, const char *const names[], const uint16_t values[],
                      size_t n, uint16_t dflt, const char *bad_type, const char *unsupported, uint16_t *ret,
                      const char **ret_reason) {
        const char *s;
        int r;

        r = json_get_string(o, key, &s);
        if (r == -ENOENT) {
                *ret = dflt;
                return 0;
        }
        if (r < 0)
                return token_refuse(ret_reason, EBADMSG, bad_type);
        for (size_t i = 0; i < n; i++)
                if (streq(s, names[i])) {
                        *ret = values[i];
                        return 0;
                }
        return token_refuse(ret_reason, EOPNOTSUPP, unsupported);
}

static int parse_optional_bool(json_object *o, const char *key, const char *bad_type, bool *ret,
                               const char **ret_reason) {
        int r = json_get_bool(o, key, ret);
        if (r == -ENOENT) {
                *ret = false;
                return 0;
        }
        if (r < 0)
                return token_refuse(ret_reason, EBADMSG, bad_type);
        return 0;
}

static int parse_sealed(json_object *o, Tpm2SealedKey *k, const char **ret_reason) {
        static const char *const banks[] = { "sha256", "sha1" };
        static const uint16_t bank_ids[] = { TPM2_ALG_SHA256, TPM2_ALG_SHA1 };
        static const char *const algs[] = { "ecc", "rsa" };
        static const uint16_t alg_ids[] = { TPM2_ALG_ECC, TPM2_ALG_RSA };
        _cleanup_free_ void *blob = NULL, *ph = NULL, *srk = NULL;
        size_t blob_size = 0, ph_size = 0, srk_size = 0;
        json_object *pk;
        bool pin;
        int r;

        r = json_get_base64(o, "tpm2-blob", &blob, &blob_size);
        if (r == -ENOENT)
                return token_refuse(ret_reason, ENOENT, "'tpm2-blob' is missing");
        if (r < 0)
                return token_refuse(ret_reason, EBADMSG, "'tpm2-blob' is not a base64 string");
        if (blob_size == 0 || blob_size > TPM2_BLOB_MAX)
                return token_refuse(ret_reason, EBADMSG, "'tpm2-blob' is empty or larger than 4096 bytes");

        r = token_json_parse_pcrs(o, &k->pcr_mask, ret_reason);
        if (r < 0)
                return r;
        r = parse_enum(o, "tpm2-pcr-bank", banks, bank_ids, 2, TPM2_ALG_SHA256,
                       "'tpm2-pcr-bank' is not a string",
                       "'tpm2-pcr-bank' names a PCR bank cvm-enroll does not support",
                       &k->pcr_bank, ret_reason);
        if (r < 0)
                return r;
        /* Tokens older than the field were always sealed under ECC. */
        r = parse_enum(o, "tpm2-primary-alg", algs, alg_ids, 2, TPM2_ALG_ECC,
                       "'tpm2-primary-alg' is not a string", "'tpm2-primary-alg' is neither ecc nor rsa",
                       &k->primary_alg, ret_reason);
        if (r < 0)
                return r;

        r = json_get_hex(o, "tpm2-policy-hash", &ph, &ph_size);
        if (r < 0 && r != -ENOENT)
                return token_refuse(ret_reason, EBADMSG, "'tpm2-policy-hash' is not a hex string");
        if (r >= 0 && ph_size != TPM2_SHA256_SIZE)
                return token_refuse(ret_reason, EBADMSG, "'tpm2-policy-hash' is not 32 bytes long");

        r = parse_optional_bool(o, "tpm2-pin", "'tpm2-pin' is not a boolean", &pin, ret_reason);
        if (r < 0)
                return r;
        if (pin)
                return token_refuse(ret_reason, EOPNOTSUPP,
                              "the token needs a PIN, which cvm-enroll cannot ask for");
        if (json_object_object_get_ex(o, "tpm2_pubkey", &pk) && !json_object_is_type(pk, json_type_null) &&
            !(json_object_is_type(pk, json_type_string) && json_object_get_string_len(pk) == 0))
                return token_refuse(ret_reason, EOPNOTSUPP,
                              "the token uses a signed PCR policy (tpm2_pubkey), which cvm-enroll does not "
                              "support");

        r = json_get_base64(o, "tpm2_srk", &srk, &srk_size);
        if (r < 0 && r != -ENOENT)
                return token_refuse(ret_reason, EBADMSG, "'tpm2_srk' is not a base64 string");
        if (r >= 0 && (srk_size == 0 || srk_size > 1024))
                return token_refuse(ret_reason, EBADMSG, "'tpm2_srk' is empty or larger than 1024 bytes");

        k->blob = TAKE_PTR(blob);
        k->blob_size = blob_size;
        if (ph) {
                memcpy(k->policy_hash, ph, TPM2_SHA256_SIZE);
                k->policy_hash_size = TPM2_SHA256_SIZE;
        }
        k->srk = TAKE_PTR(srk);
        k->srk_size = srk_size;
        return 0;
}

static int token_parse(const char *json, Tpm2Token *ret, const char **ret_reason) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_(tpm2_token_done) Tpm2Token t = {};
        int r;

        r = token_json_open(json, TPM2_TOKEN_TYPE, "the token is not of type systemd-tpm2", &o, ret_reason);
        if (r < 0)
                return r;
        r = token_json_parse_keyslot(o, &t.keyslot, ret_reason);
        if (r < 0)
                return r;
        r = parse_sealed(o, &t.key, ret_reason);
        if (r < 0)
                return r;
        r = parse_optional_bool(o, "cvm-temporary", "'cvm-temporary' is not a boolean", &t.temporary,
                                ret_reason);
        if (r < 0)
                return r;
        r = parse_optional_bool(o, "cvm-reseal-pending", "'cvm-reseal-pending' is not a boolean",
                                &t.reseal_pending, ret_reason);
        if (r < 0)
                return r;

        *ret = t;
        t = (Tpm2Token) {};
        return 0;
}

int tpm2_token_parse(const char *json, Tpm2Token *ret) {
        const char *reason;

        if (!json || !ret)
                return -EINVAL;
        return token_parse(json, ret, &reason);
}

const char *tpm2_token_invalid_reason(const char *json) {
        _cleanup_(tpm2_token_done) Tpm2Token t = {};
        const char *reason = NULL;

        if (!json)
                return "the token could not be read";
        return token_parse(json, &t, &reason) < 0 ? reason : NULL;
}

int tpm2_token_format(const Tpm2Token *t, char **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        _cleanup_free_ char *blob = NULL, *ph = NULL;
        int r;

        if (!o)
                return -ENOMEM;
        if (t->key.pcr_bank != TPM2_ALG_SHA256 ||
            (t->key.primary_alg != TPM2_ALG_ECC && t->key.primary_alg != TPM2_ALG_RSA))
                return -EINVAL;
        r = base64_encode(t->key.blob, t->key.blob_size, &blob);
        if (r < 0)
                return r;
        r = hex_encode(t->key.policy_hash, t->key.policy_hash_size, &ph);
        if (r < 0)
                return r;

        /* Field order as systemd 252 writes it, so the JSON is the same. */
        if (token_json_add_string(o, "type", TPM2_TOKEN_TYPE) < 0 ||
            token_json_add(o, "keyslots", token_json_new_keyslots(t->keyslot)) < 0 ||
            token_json_add_string(o, "tpm2-blob", blob) < 0 ||
            token_json_add(o, "tpm2-pcrs", token_json_new_pcrs(t->key.pcr_mask)) < 0 ||
            /* systemd writes no bank for an empty PCR list */
            (t->key.pcr_mask != 0 && token_json_add_string(o, "tpm2-pcr-bank", "sha256") < 0) ||
            token_json_add_string(o, "tpm2-primary-alg", t->key.primary_alg == TPM2_ALG_ECC ? "ecc" : "rsa") < 0 ||
            (t->key.policy_hash_size > 0 && token_json_add_string(o, "tpm2-policy-hash", ph) < 0) ||
            token_json_add(o, "tpm2-pin", json_object_new_boolean(false)) < 0)
                return -ENOMEM;
        if (t->key.srk) {
                _cleanup_free_ char *srk = NULL;
                r = base64_encode(t->key.srk, t->key.srk_size, &srk);
                if (r < 0)
                        return r;
                if (token_json_add_string(o, "tpm2_srk", srk) < 0)
                        return -ENOMEM;
        }
        if (t->temporary && token_json_add(o, "cvm-temporary", json_object_new_boolean(true)) < 0)
                return -ENOMEM;
        if (t->reseal_pending && token_json_add(o, "cvm-reseal-pending", json_object_new_boolean(true)) < 0)
                return -ENOMEM;

        return token_json_to_string(o, ret);
}
