/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "encode-util.h"
#include "json-util.h"
#include "log.h"
#include "pcr-spec.h"
#include "tpm2-token.h"

#define KEYSLOT_MAX 32 /* LUKS2_KEYSLOTS_MAX */

void tpm2_token_done(Tpm2Token *t) {
        if (!t)
                return;
        tpm2_sealed_key_done(&t->key);
        *t = (Tpm2Token) {};
}

/* Every refusal below comes with a reason for the user: a static string
 * that names the field but never echoes the token's (hostile) bytes, which
 * would otherwise reach the console and the journal verbatim. */
static int refuse(const char **ret_reason, int error, const char *reason) {
        log_debug("Token refused: %s.", reason);
        *ret_reason = reason;
        return -ERRNO_VALUE(error);
}

int tpm2_token_parse_keyslot(json_object *o, int *ret, const char **ret_reason) {
        json_object *a, *e;
        const char *s;
        char *end;
        long l;

        if (json_get_array(o, "keyslots", &a) < 0)
                return refuse(ret_reason, EBADMSG, "'keyslots' is missing or not an array");
        /* systemd binds one slot per token; more would make "which slot"
         * ambiguous, so refuse rather than guess. */
        if (json_object_array_length(a) != 1)
                return refuse(ret_reason, EBADMSG, "'keyslots' does not name exactly one keyslot");
        e = json_object_array_get_idx(a, 0);
        if (!json_object_is_type(e, json_type_string))
                return refuse(ret_reason, EBADMSG, "the keyslot in 'keyslots' is not a string");
        s = json_object_get_string(e);
        errno = 0;
        l = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end || l < 0 || l >= KEYSLOT_MAX)
                return refuse(ret_reason, EBADMSG, "the keyslot in 'keyslots' is not a number from 0 to 31");
        *ret = (int) l;
        return 0;
}

int tpm2_token_parse_pcrs(json_object *o, uint32_t *ret, const char **ret_reason) {
        json_object *a;
        uint32_t mask = 0;
        size_t n;

        if (json_get_array(o, "tpm2-pcrs", &a) < 0)
                return refuse(ret_reason, EBADMSG, "'tpm2-pcrs' is missing or not an array");
        n = json_object_array_length(a);
        if (n > PCR_INDEX_MAX + 1)
                return refuse(ret_reason, EBADMSG, "'tpm2-pcrs' lists more than 24 PCRs");
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                int64_t v;
                if (!json_object_is_type(e, json_type_int))
                        return refuse(ret_reason, EBADMSG, "'tpm2-pcrs' holds something other than integers");
                errno = 0;
                v = json_object_get_int64(e);
                if (errno != 0 || v < 0 || v > PCR_INDEX_MAX)
                        return refuse(ret_reason, EBADMSG, "'tpm2-pcrs' holds a PCR index outside 0-23");
                mask |= UINT32_C(1) << v;
        }
        *ret = mask;
        return 0;
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
                return refuse(ret_reason, EBADMSG, bad_type);
        for (size_t i = 0; i < n; i++)
                if (streq(s, names[i])) {
                        *ret = values[i];
                        return 0;
                }
        return refuse(ret_reason, EOPNOTSUPP, unsupported);
}

static int parse_optional_bool(json_object *o, const char *key, const char *bad_type, bool *ret,
                               const char **ret_reason) {
        int r = json_get_bool(o, key, ret);
        if (r == -ENOENT) {
                *ret = false;
                return 0;
        }
        if (r < 0)
                return refuse(ret_reason, EBADMSG, bad_type);
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
                return refuse(ret_reason, ENOENT, "'tpm2-blob' is missing");
        if (r < 0)
                return refuse(ret_reason, EBADMSG, "'tpm2-blob' is not a base64 string");
        if (blob_size == 0 || blob_size > TPM2_BLOB_MAX)
                return refuse(ret_reason, EBADMSG, "'tpm2-blob' is empty or larger than 4096 bytes");

        r = tpm2_token_parse_pcrs(o, &k->pcr_mask, ret_reason);
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
                return refuse(ret_reason, EBADMSG, "'tpm2-policy-hash' is not a hex string");
        if (r >= 0 && ph_size != TPM2_SHA256_SIZE)
                return refuse(ret_reason, EBADMSG, "'tpm2-policy-hash' is not 32 bytes long");

        r = parse_optional_bool(o, "tpm2-pin", "'tpm2-pin' is not a boolean", &pin, ret_reason);
        if (r < 0)
                return r;
        if (pin)
                return refuse(ret_reason, EOPNOTSUPP,
                              "the token needs a PIN, which cvm-enroll cannot ask for");
        if (json_object_object_get_ex(o, "tpm2_pubkey", &pk) && !json_object_is_type(pk, json_type_null) &&
            !(json_object_is_type(pk, json_type_string) && json_object_get_string_len(pk) == 0))
                return refuse(ret_reason, EOPNOTSUPP,
                              "the token uses a signed PCR policy (tpm2_pubkey), which cvm-enroll does not "
                              "support");

        r = json_get_base64(o, "tpm2_srk", &srk, &srk_size);
        if (r < 0 && r != -ENOENT)
                return refuse(ret_reason, EBADMSG, "'tpm2_srk' is not a base64 string");
        if (r >= 0 && (srk_size == 0 || srk_size > 1024))
                return refuse(ret_reason, EBADMSG, "'tpm2_srk' is empty or larger than 1024 bytes");

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
        const char *type;
        int r;

        r = json_parse_object(json, strnlen(json, JSON_INPUT_MAX + 1), &o);
        if (r < 0)
                return refuse(ret_reason, r,
                              "the token is not a JSON object, or is nested too deeply or too large");
        r = json_get_string(o, "type", &type);
        if (r < 0)
                return refuse(ret_reason, EBADMSG, "the token has no type");
        /* Compare the whole string: json-c keeps a "\u0000" inside it, and
         * libcryptsetup, reading the type as a C string, would have sent us
         * "systemd-tpm2\u0000junk" as one of ours. */
        if (!streq(type, TPM2_TOKEN_TYPE) ||
            json_object_get_string_len(json_object_object_get(o, "type")) != (int) strlen(TPM2_TOKEN_TYPE))
                return refuse(ret_reason, EMEDIUMTYPE, "the token is not of type systemd-tpm2");

        r = tpm2_token_parse_keyslot(o, &t.keyslot, ret_reason);
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

static int add_string(json_object *o, const char *key, const char *value) {
        json_object *v = json_object_new_string(value);
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_object(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int tpm2_token_format(const Tpm2Token *t, char **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        _cleanup_free_ char *blob = NULL, *ph = NULL;
        json_object *slots, *pcrs;
        char slot[16];
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

        snprintf(slot, sizeof slot, "%i", t->keyslot);
        slots = json_object_new_array();
        if (!slots || json_object_array_add(slots, json_object_new_string(slot)) < 0) {
                json_object_put(slots);
                return -ENOMEM;
        }
        pcrs = json_object_new_array();
        for (unsigned i = 0; pcrs && i <= PCR_INDEX_MAX; i++)
                if (t->key.pcr_mask & (UINT32_C(1) << i) && json_object_array_add(pcrs, json_object_new_int((int) i)) < 0) {
                        json_object_put(pcrs);
                        pcrs = NULL;
                }

        /* Field order as systemd 252 writes it, so the JSON is the same. */
        if (add_string(o, "type", TPM2_TOKEN_TYPE) < 0 || add_object(o, "keyslots", slots) < 0 ||
            add_string(o, "tpm2-blob", blob) < 0 || add_object(o, "tpm2-pcrs", pcrs) < 0 ||
            /* systemd writes no bank for an empty PCR list */
            (t->key.pcr_mask != 0 && add_string(o, "tpm2-pcr-bank", "sha256") < 0) ||
            add_string(o, "tpm2-primary-alg", t->key.primary_alg == TPM2_ALG_ECC ? "ecc" : "rsa") < 0 ||
            (t->key.policy_hash_size > 0 && add_string(o, "tpm2-policy-hash", ph) < 0) ||
            add_object(o, "tpm2-pin", json_object_new_boolean(false)) < 0)
                return -ENOMEM;
        if (t->key.srk) {
                _cleanup_free_ char *srk = NULL;
                r = base64_encode(t->key.srk, t->key.srk_size, &srk);
                if (r < 0)
                        return r;
                if (add_string(o, "tpm2_srk", srk) < 0)
                        return -ENOMEM;
        }
        if (t->temporary && add_object(o, "cvm-temporary", json_object_new_boolean(true)) < 0)
                return -ENOMEM;
        if (t->reseal_pending && add_object(o, "cvm-reseal-pending", json_object_new_boolean(true)) < 0)
                return -ENOMEM;

        *ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        return *ret ? 0 : -ENOMEM;
}
