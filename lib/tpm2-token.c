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

static int parse_keyslot(json_object *o, int *ret) {
        json_object *a, *e;
        const char *s;
        char *end;
        long l;
        int r;

        r = json_get_array(o, "keyslots", &a);
        if (r < 0)
                return log_debug_errno(r, "Token: 'keyslots' missing or not an array.");
        /* systemd binds one slot per token; more would make "which slot"
         * ambiguous, so refuse rather than guess. */
        if (json_object_array_length(a) != 1)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "Token: expected exactly one keyslot.");
        e = json_object_array_get_idx(a, 0);
        if (!json_object_is_type(e, json_type_string))
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "Token: keyslot is not a string.");
        s = json_object_get_string(e);
        errno = 0;
        l = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end || l < 0 || l >= KEYSLOT_MAX)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "Token: keyslot '%.16s' out of range.", s);
        *ret = (int) l;
        return 0;
}

static int parse_pcrs(json_object *o, uint32_t *ret) {
        json_object *a;
        uint32_t mask = 0;
        size_t n;
        int r;

        r = json_get_array(o, "tpm2-pcrs", &a);
        if (r < 0)
                return log_debug_errno(r, "Token: 'tpm2-pcrs' missing or not an array.");
        n = json_object_array_length(a);
        if (n > PCR_INDEX_MAX + 1)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "Token: too many PCRs.");
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                int64_t v;
                if (!json_object_is_type(e, json_type_int))
                        return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "Token: PCR index is not an integer.");
                errno = 0;
                v = json_object_get_int64(e);
                if (errno != 0 || v < 0 || v > PCR_INDEX_MAX)
                        return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "Token: PCR index out of range.");
                mask |= UINT32_C(1) << v;
        }
        *ret = mask;
        return 0;
}

/* An optional string field with a fixed set of values. */
static int parse_enum(json_object *o, const char *key, const char *const names[], const uint16_t values[],
                      size_t n, uint16_t dflt, uint16_t *ret) {
        const char *s;
        int r;

        r = json_get_string(o, key, &s);
        if (r == -ENOENT) {
                *ret = dflt;
                return 0;
        }
        if (r < 0)
                return log_debug_errno(r, "Token: '%s' is not a string.", key);
        for (size_t i = 0; i < n; i++)
                if (streq(s, names[i])) {
                        *ret = values[i];
                        return 0;
                }
        return log_debug_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "Token: unsupported %s '%.16s'.", key, s);
}

static int parse_optional_bool(json_object *o, const char *key, bool *ret) {
        int r = json_get_bool(o, key, ret);
        if (r == -ENOENT) {
                *ret = false;
                return 0;
        }
        if (r < 0)
                return log_debug_errno(r, "Token: '%s' is not a boolean.", key);
        return 0;
}

static int parse_sealed(json_object *o, Tpm2SealedKey *k) {
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
        if (r < 0)
                return log_debug_errno(r == -ENOENT ? r : -EBADMSG, "Token: 'tpm2-blob' missing or not base64.");
        if (blob_size == 0 || blob_size > TPM2_BLOB_MAX)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "Token: blob size %zu out of range.", blob_size);

        r = parse_pcrs(o, &k->pcr_mask);
        if (r < 0)
                return r;
        r = parse_enum(o, "tpm2-pcr-bank", banks, bank_ids, 2, TPM2_ALG_SHA256, &k->pcr_bank);
        if (r < 0)
                return r;
        /* Tokens older than the field were always sealed under ECC. */
        r = parse_enum(o, "tpm2-primary-alg", algs, alg_ids, 2, TPM2_ALG_ECC, &k->primary_alg);
        if (r < 0)
                return r;

        r = json_get_hex(o, "tpm2-policy-hash", &ph, &ph_size);
        if (r < 0 && r != -ENOENT)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "Token: 'tpm2-policy-hash' is not hex.");
        if (r >= 0 && ph_size != TPM2_SHA256_SIZE)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "Token: policy hash of %zu bytes.", ph_size);

        r = parse_optional_bool(o, "tpm2-pin", &pin);
        if (r < 0)
                return r;
        if (pin)
                return log_debug_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "Token needs a PIN.");
        if (json_object_object_get_ex(o, "tpm2_pubkey", &pk) && !json_object_is_type(pk, json_type_null) &&
            !(json_object_is_type(pk, json_type_string) && json_object_get_string_len(pk) == 0))
                return log_debug_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "Token uses a signed PCR policy.");

        r = json_get_base64(o, "tpm2_srk", &srk, &srk_size);
        if (r < 0 && r != -ENOENT)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "Token: 'tpm2_srk' is not base64.");
        if (r >= 0 && (srk_size == 0 || srk_size > 1024))
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "Token: 'tpm2_srk' size out of range.");

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

int tpm2_token_parse(const char *json, Tpm2Token *ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_(tpm2_token_done) Tpm2Token t = {};
        const char *type;
        int r;

        if (!json || !ret)
                return -EINVAL;
        r = json_parse_object(json, strnlen(json, JSON_INPUT_MAX + 1), &o);
        if (r < 0)
                return log_debug_errno(r, "Token is not a JSON object.");
        r = json_get_string(o, "type", &type);
        if (r < 0)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "Token has no type.");
        if (!streq(type, TPM2_TOKEN_TYPE))
                return -EMEDIUMTYPE;

        r = parse_keyslot(o, &t.keyslot);
        if (r < 0)
                return r;
        r = parse_sealed(o, &t.key);
        if (r < 0)
                return r;
        r = parse_optional_bool(o, "cvm-temporary", &t.temporary);
        if (r < 0)
                return r;

        *ret = t;
        t = (Tpm2Token) {};
        return 0;
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
            add_string(o, "tpm2-pcr-bank", "sha256") < 0 ||
            add_string(o, "tpm2-primary-alg", t->key.primary_alg == TPM2_ALG_ECC ? "ecc" : "rsa") < 0 ||
            add_string(o, "tpm2-policy-hash", ph) < 0 ||
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

        *ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        return *ret ? 0 : -ENOMEM;
}
