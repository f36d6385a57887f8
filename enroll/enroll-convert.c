/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-enroll convert-import: at first boot, TPM2_Import each
 * cvm-tpm2-import token's duplicate under this TPM's SRK (systemd's
 * transient primary, the parent systemd-cryptsetup 252 uses) and replace
 * the token, at the same token id, with a systemd-tpm2 token for the same
 * keyslot and secret. No keyslot is added or removed; the one header write
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

static int import_duplicate(Tpm2Context *tpm, int id, const Tpm2ImportToken *it, Tpm2Token *ret) {
        _cleanup_(tpm2_handle_release) Tpm2Handle primary = TPM2_HANDLE_NULL;
        _cleanup_(Esys_Freep) TPM2B_NAME *name = NULL;
        _cleanup_(Esys_Freep) TPM2B_PRIVATE *priv = NULL;
        _cleanup_free_ uint8_t *blob = NULL;
        static const TPMT_SYM_DEF_OBJECT no_inner = { .algorithm = TPM2_ALG_NULL };
        size_t blob_size = 0;
        TSS2_RC rc;
        int r;

        r = tpm2_make_primary(tpm, it->primary_alg, &primary, NULL);
        if (r < 0)
                return log_error_errno(r, "Token %i: failed to create the %s SRK (systemd's template): %m",
                                       id, it->primary_alg == TPM2_ALG_ECC ? "ECC" : "RSA");
        rc = Esys_TR_GetName(tpm->esys, primary.tr, &name);
        if (rc != TSS2_RC_SUCCESS)
                return log_error_errno(SYNTHETIC_ERRNO(ENOTRECOVERABLE), "Token %i: failed to get the SRK's name: %s",
                                       id, tpm2_rc_string(rc));
        /* A name mismatch means another TPM (or another SRK template): say
         * so, rather than let the TPM answer with an integrity error. */
        if (name->size != it->srk_name.size || memcmp(name->name, it->srk_name.name, name->size) != 0)
                return log_error_errno(SYNTHETIC_ERRNO(EBADMSG),
                                       "Token %i: it was sealed to another SRK (another TPM, or an SRK not made "
                                       "from systemd's template): its tpm2-srk-name differs from this TPM's SRK.",
                                       id);

        rc = TPM2_CALL(tpm, Esys_Import(tpm->esys, primary.tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                        &(TPM2B_DATA) {}, &it->public, &it->duplicate, &it->seed, &no_inner,
                                        &priv));
        if (rc != TSS2_RC_SUCCESS)
                return log_error_errno(tpm2_rc_to_errno(rc) == -ENOTRECOVERABLE ? -EBADMSG : tpm2_rc_to_errno(rc),
                                       "Token %i: TPM2_Import of the duplicate failed (corrupt, or made for another "
                                       "TPM): %s", id, tpm2_rc_string(rc));

        r = tpm2_blob_marshal(priv, &it->public, &blob, &blob_size);
        if (r < 0)
                return log_error_errno(r, "Token %i: failed to marshal the imported blob: %m", id);
        *ret = (Tpm2Token) {
                .keyslot = it->keyslot,
                .key = {
                        .pcr_mask = it->pcr_mask,
                        .pcr_bank = TPM2_ALG_SHA256,
                        .primary_alg = it->primary_alg,
                        .blob = TAKE_PTR(blob),
                        .blob_size = blob_size,
                        .policy_hash_size = TPM2_SHA256_SIZE,
                },
        };
        memcpy(ret->key.policy_hash, it->policy_hash, TPM2_SHA256_SIZE);
        return 0;
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
                        r = tpm2_context_new(a->common.tpm2_device, &tpm);
                        if (r < 0)
                                return log_error_errno(r, "Failed to open the TPM: %m");
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
