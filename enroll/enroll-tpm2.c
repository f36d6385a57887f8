/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-enroll tpm2: seal a fresh secret to this TPM, add a keyslot and a
 * systemd-tpm2 token. A no-op when a token bound to at least the same PCRs
 * already opens the volume: after convert-import has turned an image's
 * PCR 4+7 token into a local one, the first-boot unit's `tpm2 --pcrs=7`
 * must not add a weaker PCR 7-only way in. */
#include <stdio.h>

#include "enroll-unlock.h"
#include "enroll.h"
#include "json-util.h"
#include "log.h"
#include "luks-tpm2.h"
#include "luks-util.h"
#include "pcr-spec.h"
#include "test-hook.h"

typedef struct FindSame {
        Tpm2Context *tpm;
        uint32_t pcr_mask;
        bool temporary;
        int token_id;
        int keyslot;
} FindSame;

static int find_same_cb(struct crypt_device *cd, int token_id, const Tpm2Token *t, int parse_error, void *userdata) {
        FindSame *f = userdata;

        if (parse_error < 0 || f->token_id >= 0 || (t->key.pcr_mask & f->pcr_mask) != f->pcr_mask || t->temporary != f->temporary)
                return 0;
        if (luks_tpm2_unlock(cd, f->tpm, t, 0, NULL) < 0)
                return 0;
        f->token_id = token_id;
        f->keyslot = t->keyslot;
        return 0;
}

static int print_result(const EnrollArgs *a, bool changed, int token, int keyslot, const Tpm2Context *tpm) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *pcrs = NULL;
        int r;

        r = pcr_mask_to_string(a->pcr_mask, &pcrs);
        if (r < 0)
                return log_oom();
        if (a->common.json == JSON_OFF) {
                if (changed)
                        printf("Enrolled TPM2 token %i (keyslot %i, PCRs %s%s) on %s.\n", token, keyslot,
                               *pcrs ? pcrs : "none", a->temporary ? ", temporary" : "", a->device);
                else
                        printf("Already enrolled: TPM2 token %i (keyslot %i, PCRs %s) opens %s; nothing to do.\n",
                               token, keyslot, *pcrs ? pcrs : "none", a->device);
                return 0;
        }
        o = json_object_new_object();
        if (!o)
                return log_oom();
        json_object_object_add(o, "device", json_object_new_string(a->device));
        json_object_object_add(o, "changed", json_object_new_boolean(changed));
        json_object_object_add(o, "token", json_object_new_int(token));
        json_object_object_add(o, "keyslot", json_object_new_int(keyslot));
        json_object_object_add(o, "pcrs", json_object_new_string(pcrs));
        json_object_object_add(o, "temporary", json_object_new_boolean(a->temporary));
        json_object_object_add(o, "parent", json_object_new_string("transient-primary"));
        json_object_object_add(o, "tpm2_commands", json_object_new_int((int) tpm->n_commands));
        return json_print(o, a->common.json);
}

int verb_tpm2(const EnrollArgs *a) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        _cleanup_(secret_freep) Secret *vk = NULL;
        FindSame same = { .pcr_mask = a->pcr_mask, .temporary = a->temporary, .token_id = -1 };
        int token, keyslot = -1, r;

        r = enroll_open(a, "", &cd, &tpm);
        if (r < 0)
                return r;

        same.tpm = tpm;
        r = luks_tpm2_foreach_token(cd, find_same_cb, &same);
        if (r < 0)
                return log_error_errno(r, "Failed to read tokens of '%s': %m", a->device);
        if (same.token_id >= 0)
                return print_result(a, false, same.token_id, same.keyslot, tpm);

        r = enroll_refuse_read_only(a, "add a keyslot and a TPM2 token");
        if (r < 0)
                return r;
        r = enroll_get_volume_key(cd, tpm, a->unlock, a->unlock_path, &vk);
        if (r < 0)
                return r;
        test_hook("tpm2:unlocked");

        token = luks_tpm2_enroll(cd, tpm, vk, a->pcr_mask, a->temporary, &keyslot);
        if (token == -ENOLCK)
                /* strerror() would say "No locks available". */
                return log_error_errno(token, "Failed to enroll a TPM2 key on '%s': the TPM is in "
                                       "dictionary-attack lockout.", a->device);
        if (token < 0)
                return log_error_errno(token, "Failed to enroll a TPM2 key on '%s': %m", a->device);
        test_hook("tpm2:token-added");

        return print_result(a, true, token, keyslot, tpm);
}
