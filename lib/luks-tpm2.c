/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "luks-tpm2.h"
#include "luks-util.h"
#include "test-hook.h"

int luks_tpm2_foreach_token(struct crypt_device *cd, luks_tpm2_token_cb cb, void *userdata) {
        int max = crypt_token_max(CRYPT_LUKS2), r;

        for (int id = 0; id < max; id++) {
                _cleanup_(tpm2_token_done) Tpm2Token t = {};
                const char *type = NULL, *json = NULL;
                crypt_token_info ti;

                ti = crypt_token_status(cd, id, &type);
                if (ti == CRYPT_TOKEN_INVALID || ti == CRYPT_TOKEN_INACTIVE || !streq_ptr(type, TPM2_TOKEN_TYPE))
                        continue;
                r = crypt_token_json_get(cd, id, &json);
                if (r >= 0)
                        r = tpm2_token_parse(json, &t);
                r = cb(cd, id, &t, r < 0 ? r : 0, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int luks_tpm2_unlock(struct crypt_device *cd, Tpm2Context *c, const Tpm2Token *t, uint32_t activate_flags,
                     Secret **ret_passphrase) {
        _cleanup_(secret_freep) Secret *secret = NULL, *pw = NULL;
        int r;

        r = tpm2_unseal(c, &t->key, &secret);
        if (r < 0)
                return r;
        r = secret_to_base64(secret, &pw);
        if (r < 0)
                return r;
        r = luks_unlock_keyslot(cd, t->keyslot, pw, activate_flags);
        if (r < 0)
                return log_debug_errno(r, "Unsealed secret does not open keyslot %i: %m", t->keyslot);
        if (ret_passphrase)
                *ret_passphrase = TAKE_PTR(pw);
        return 0;
}

int luks_tpm2_enroll(struct crypt_device *cd, Tpm2Context *c, const Secret *vk, uint32_t pcr_mask, bool temporary,
                     int *ret_keyslot) {
        return luks_tpm2_enroll_to_values(cd, c, vk, pcr_mask, NULL, temporary ? LUKS_TPM2_TEMPORARY : 0,
                                          ret_keyslot);
}

int luks_tpm2_enroll_to_values(struct crypt_device *cd, Tpm2Context *c, const Secret *vk, uint32_t pcr_mask,
                               const uint8_t pcr_values[][TPM2_SHA256_SIZE], unsigned flags, int *ret_keyslot) {
        _cleanup_(secret_freep) Secret *secret = NULL, *pw = NULL;
        _cleanup_(tpm2_token_done) Tpm2Token t = {
                .temporary = flags & LUKS_TPM2_TEMPORARY,
                .reseal_pending = flags & LUKS_TPM2_RESEAL_PENDING,
        };
        _cleanup_free_ char *json = NULL;
        int slot, token, r;

        r = tpm2_seal_to_values(c, pcr_mask, pcr_values, &t.key, &secret);
        if (r < 0)
                return r;
        r = secret_to_base64(secret, &pw);
        if (r < 0)
                return r;

        /* Slot first, then the token that names it: a crash in between
         * leaves an extra slot (harmless), never a token without a slot. */
        slot = luks_add_keyslot_fast(cd, vk, pw);
        if (slot < 0)
                return slot;
        test_hook("tpm2:keyslot-added");
        t.keyslot = slot;
        r = tpm2_token_format(&t, &json);
        if (r < 0)
                return r;
        token = crypt_token_json_set(cd, CRYPT_ANY_TOKEN, json);
        if (token < 0)
                return log_debug_errno(token, "Failed to add token for keyslot %i: %m", slot);
        if (ret_keyslot)
                *ret_keyslot = slot;
        return token;
}
