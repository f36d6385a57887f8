/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-enroll convert-import: at first boot, TPM2_Import each
 * cvm-tpm2-import token's duplicate under the SRK it was made for and
 * replace the token, at the same token id, with a systemd-tpm2 token for
 * the same keyslot and secret, under the parent systemd-cryptsetup 252
 * uses (its transient primary: for a duplicate made for that key the
 * imported object is used as it is; one made for the persistent SRK at
 * 0x81000001 is unsealed and its secret sealed again). No keyslot is added or removed; the one header write
 * swaps the token JSON, and libcryptsetup's two header copies make that
 * write atomic: after a crash the header holds either token, and both
 * open the slot. */
#include <stdio.h>

#include "encode-util.h"
#include "enroll.h"
#include "json-util.h"
#include "log.h"
#include "luks-tpm2.h"
#include "luks-util.h"
#include "pcr-spec.h"
#include "test-hook.h"
#include "tpm2-import-token.h"
#include "tpm2-seal.h"
#include "tpm2-token.h"

typedef struct ConvertResult {
        json_object *tokens;
        unsigned n_converted, n_failed, n_present;
} ConvertResult;

/* Where systemd ≥ 254 and the TCG provisioning guidance keep the SRK. */
#define SRK_PERSISTENT_HANDLE UINT32_C(0x81000001)

static bool name_eq(const TPM2B_NAME *a, const TPM2B_NAME *b) {
        return a->size == b->size && memcmp(a->name, b->name, a->size) == 0;
}

static int import_under(Tpm2Context *tpm, int id, ESYS_TR parent, const Tpm2ImportToken *it,
                        TPM2B_PRIVATE **ret) {
        static const TPMT_SYM_DEF_OBJECT no_inner = { .algorithm = TPM2_ALG_NULL };
        TSS2_RC rc;

        rc = TPM2_CALL(tpm, Esys_Import(tpm->esys, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                        &(TPM2B_DATA) {}, &it->public, &it->duplicate, &it->seed, &no_inner, ret));
        if (rc != TSS2_RC_SUCCESS)
                return log_error_errno(tpm2_rc_to_errno(rc) == -ENOTRECOVERABLE ? -EBADMSG : tpm2_rc_to_errno(rc),
                                       "Token %i: TPM2_Import of the duplicate failed (corrupt, or made for another "
                                       "TPM): %s", id, tpm2_rc_string(rc));
        return 0;
}

/* The token was made for systemd's primary key: the imported object is
 * what systemd 252 loads under it, as it is. Returns 0, or 1 if this TPM's
 * systemd primary is not the token's SRK. */
static int import_systemd_primary(Tpm2Context *tpm, int id, const Tpm2ImportToken *it, Tpm2SealedKey *ret) {
        _cleanup_(tpm2_handle_release) Tpm2Handle primary = TPM2_HANDLE_NULL;
        _cleanup_(Esys_Freep) TPM2B_NAME *name = NULL;
        _cleanup_(Esys_Freep) TPM2B_PRIVATE *priv = NULL;
        _cleanup_free_ uint8_t *blob = NULL;
        size_t blob_size = 0;
        TSS2_RC rc;
        int r;

        r = tpm2_make_primary(tpm, it->primary_alg, &primary, NULL);
        if (r < 0) {
                log_debug_errno(r, "Token %i: no %s primary key: %m", id,
                                it->primary_alg == TPM2_ALG_ECC ? "ECC" : "RSA");
                return 1;
        }
        rc = Esys_TR_GetName(tpm->esys, primary.tr, &name);
        if (rc != TSS2_RC_SUCCESS)
                return log_error_errno(SYNTHETIC_ERRNO(ENOTRECOVERABLE), "Token %i: failed to get the SRK's name: %s",
                                       id, tpm2_rc_string(rc));
        if (!name_eq(name, &it->srk_name))
                return 1;

        r = import_under(tpm, id, primary.tr, it, &priv);
        if (r < 0)
                return r;
        r = tpm2_blob_marshal(priv, &it->public, &blob, &blob_size);
        if (r < 0)
                return log_error_errno(r, "Token %i: failed to marshal the imported blob: %m", id);
        *ret = (Tpm2SealedKey) {
                .pcr_mask = it->pcr_mask,
                .pcr_bank = TPM2_ALG_SHA256,
                .primary_alg = it->primary_alg,
                .blob = TAKE_PTR(blob),
                .blob_size = blob_size,
                .policy_hash_size = TPM2_SHA256_SIZE,
        };
        memcpy(ret->policy_hash, it->policy_hash, TPM2_SHA256_SIZE);
        return 0;
}

/* The token was made for the persistent SRK, which systemd 252 does not
 * know: import under it, unseal, and seal the same secret again under
 * systemd's primary with the same policy. Returns 0, or 1 if there is no
 * persistent SRK or it is not the token's. */
static int import_persistent_srk(Tpm2Context *tpm, int id, const Tpm2ImportToken *it, Tpm2SealedKey *ret) {
        _cleanup_(tpm2_sealed_key_done) Tpm2SealedKey imported = {};
        _cleanup_(Esys_Freep) TPM2B_NAME *name = NULL;
        _cleanup_(Esys_Freep) TPM2B_PRIVATE *priv = NULL;
        _cleanup_(secret_freep) Secret *secret = NULL;
        uint8_t *srk = NULL;
        size_t srk_size = 0;
        ESYS_TR tr = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        rc = Esys_TR_FromTPMPublic(tpm->esys, SRK_PERSISTENT_HANDLE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
        if (rc != TSS2_RC_SUCCESS)
                return 1;
        rc = Esys_TR_GetName(tpm->esys, tr, &name);
        if (rc != TSS2_RC_SUCCESS || !name_eq(name, &it->srk_name)) {
                (void) Esys_TR_Close(tpm->esys, &tr);
                return 1;
        }
        log_info("Token %i: sealed to the persistent SRK 0x81000001; re-sealing its secret under systemd's primary "
                 "key, which systemd-cryptsetup 252 uses.", id);

        r = import_under(tpm, id, tr, it, &priv);
        if (r >= 0) {
                rc = Esys_TR_Serialize(tpm->esys, tr, &srk, &srk_size);
                if (rc != TSS2_RC_SUCCESS)
                        r = log_error_errno(SYNTHETIC_ERRNO(ENOTRECOVERABLE), "Token %i: failed to serialize the SRK: %s",
                                            id, tpm2_rc_string(rc));
        }
        (void) Esys_TR_Close(tpm->esys, &tr);
        if (r < 0)
                return r;

        imported = (Tpm2SealedKey) {
                .pcr_mask = it->pcr_mask,
                .pcr_bank = TPM2_ALG_SHA256,
                .primary_alg = it->primary_alg,
                .policy_hash_size = TPM2_SHA256_SIZE,
                .srk = srk,
                .srk_size = srk_size,
        };
        memcpy(imported.policy_hash, it->policy_hash, TPM2_SHA256_SIZE);
        r = tpm2_blob_marshal(priv, &it->public, &imported.blob, &imported.blob_size);
        if (r < 0)
                return log_error_errno(r, "Token %i: failed to marshal the imported blob: %m", id);

        r = tpm2_unseal(tpm, &imported, &secret);
        if (r == -EPERM)
                return log_error_errno(r, "Token %i: the imported key does not unseal: the PCRs differ from the values "
                                          "it was sealed to. Not converted.", id);
        if (r < 0)
                return log_error_errno(r, "Token %i: the imported key could not be unsealed: %m", id);
        r = tpm2_seal_secret(tpm, it->pcr_mask, it->policy_hash, secret, ret);
        if (r < 0)
                return log_error_errno(r, "Token %i: failed to seal the secret under systemd's primary key: %m", id);
        return 0;
}

static int import_duplicate(Tpm2Context *tpm, int id, const Tpm2ImportToken *it, Tpm2Token *ret) {
        int r;

        *ret = (Tpm2Token) { .keyslot = it->keyslot };
        /* The persistent SRK first: comparing its name costs one
         * ReadPublic, creating a primary (RSA above all) much more. */
        r = import_persistent_srk(tpm, id, it, &ret->key);
        if (r == 1)
                r = import_systemd_primary(tpm, id, it, &ret->key);
        if (r == 1)
                /* A name mismatch means another TPM or another SRK: say so,
                 * rather than let the TPM answer with an integrity error. */
                return log_error_errno(SYNTHETIC_ERRNO(EBADMSG),
                                       "Token %i: it was sealed to another SRK (another TPM, or an SRK that is "
                                       "neither systemd's primary key nor the persistent one at 0x81000001): its "
                                       "tpm2-srk-name matches no SRK of this TPM.", id);
        return r;
}

static int convert_one(struct crypt_device *cd, Tpm2Context *tpm, int id, const char *json) {
        _cleanup_(tpm2_token_done) Tpm2Token t = {};
        _cleanup_free_ char *out = NULL;
        Tpm2ImportToken it;
        int r;

        r = tpm2_import_token_parse(json, &it);
        if (r < 0)
                return log_error_errno(r, "Token %i: unusable cvm-tpm2-import token: %s.", id,
                                       tpm2_import_token_invalid_reason(json) ?: "it could not be parsed");
        if (!luks_keyslot_in_use(cd, it.keyslot))
                return log_error_errno(SYNTHETIC_ERRNO(ENOENT), "Token %i: its keyslot %i is not in use.", id,
                                       it.keyslot);

        r = import_duplicate(tpm, id, &it, &t);
        if (r < 0)
                return r;
        test_hook("convert-import:imported");

        /* Prove the new token opens the slot before it replaces the old. */
        r = luks_tpm2_unlock(cd, tpm, &t, 0, NULL);
        if (r == -EPERM)
                return log_error_errno(r, "Token %i: the imported key does not open keyslot %i: the PCRs differ from "
                                          "the values it was sealed to, or the slot holds another key. Not converted.",
                                       id, it.keyslot);
        if (r < 0)
                return log_error_errno(r, "Token %i: the imported key could not be unsealed: %m", id);

        r = tpm2_token_format(&t, &out);
        if (r < 0)
                return log_error_errno(r, "Failed to format the systemd-tpm2 token: %m");
        r = crypt_token_json_set(cd, id, out);
        if (r < 0)
                return log_error_errno(r, "Token %i: failed to replace it with a systemd-tpm2 token: %m", id);
        if (r != id)
                return log_error_errno(SYNTHETIC_ERRNO(EIO), "Token %i: libcryptsetup wrote token %i instead.", id, r);
        test_hook("convert-import:token-replaced");
        log_info("Token %i: converted to systemd-tpm2 (keyslot %i).", id, it.keyslot);
        return it.keyslot;
}

int verb_convert_import(const EnrollArgs *a) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *why = NULL;
        json_object *list;
        unsigned n_converted = 0, n_failed = 0, n_tpm2 = 0;
        int r, first_error = 0;

        r = luks_open(a->device, &cd);
        if (r < 0)
                return log_error_errno(r, "Failed to open LUKS2 volume '%s': %m", a->device);

        o = json_object_new_object();
        list = json_object_new_array();
        if (!o || !list) {
                json_object_put(list);
                return log_oom();
        }
        json_object_object_add(o, "device", json_object_new_string(a->device));
        json_object_object_add(o, "converted", list);

        for (int id = 0; id < crypt_token_max(CRYPT_LUKS2); id++) {
                const char *type = NULL, *json = NULL;
                crypt_token_info ti = crypt_token_status(cd, id, &type);

                if (ti == CRYPT_TOKEN_INVALID || ti == CRYPT_TOKEN_INACTIVE)
                        continue;
                if (streq_ptr(type, TPM2_TOKEN_TYPE))
                        n_tpm2++;
                if (!streq_ptr(type, TPM2_IMPORT_TOKEN_TYPE))
                        continue;
                if (!tpm) {
                        r = enroll_refuse_read_only(a, "convert its cvm-tpm2-import tokens");
                        if (r < 0)
                                return r;
                        r = tpm2_context_new(a->common.tpm2_device, &tpm);
                        if (r < 0)
                                return log_error_errno(r, "%s.", tpm2_open_error_text(r, a->common.tpm2_device, &why));
                }
                r = crypt_token_json_get(cd, id, &json);
                if (r >= 0)
                        r = convert_one(cd, tpm, id, json);
                else
                        log_error_errno(r, "Failed to read token %i: %m", id);
                if (r < 0) {
                        n_failed++;
                        if (first_error == 0)
                                first_error = r;
                        continue;
                }
                n_converted++;
                json_object *e = json_object_new_object();
                if (!e)
                        return log_oom();
                json_object_object_add(e, "token", json_object_new_int(id));
                json_object_object_add(e, "keyslot", json_object_new_int(r));
                json_object_array_add(list, e);
        }

        json_object_object_add(o, "changed", json_object_new_boolean(n_converted > 0));
        if (a->common.json == JSON_OFF) {
                if (n_converted > 0)
                        printf("Converted %u cvm-tpm2-import token%s to systemd-tpm2 on %s.\n", n_converted,
                               n_converted == 1 ? "" : "s", a->device);
                else if (n_failed == 0)
                        printf("No cvm-tpm2-import token on %s (%u systemd-tpm2 token%s); nothing to do.\n",
                               a->device, n_tpm2, n_tpm2 == 1 ? "" : "s");
        } else {
                r = json_print(o, a->common.json);
                if (r < 0)
                        return r;
        }
        if (n_failed > 0)
                return log_error_errno(first_error, "%u cvm-tpm2-import token%s on '%s' could not be converted.",
                                       n_failed, n_failed == 1 ? "" : "s", a->device);
        return 0;
}
