/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-enroll wipe-temporary: remove the image's temporary keyslots once a
 * non-temporary TPM2 token has been proven to open the volume.
 *
 * Safe by construction: a keep set (slots of TPM2 tokens that open now,
 * and are not temporary) and a wipe set (slots of temporary tokens, and the
 * slot the legacy key file names, if that key still opens it). Keep wins,
 * and so does any slot a non-temporary token names.
 * An empty keep set refuses before anything is written. Order per token:
 * its slot first, then the token, then the key file, so that an
 * interruption at any point leaves a state the next run completes (see
 * remove_slot()). */
#include <stdio.h>

#include "enroll.h"
#include "json-util.h"
#include "keydata.h"
#include "log.h"
#include "luks-tpm2.h"
#include "luks-util.h"
#include "test-hook.h"

#define SLOTS_MAX 32
#define TOKENS_MAX 32

typedef struct WipePlan {
        Tpm2Context *tpm;
        bool keep[SLOTS_MAX];      /* a non-temporary TPM2 token opens it now */
        bool protect[SLOTS_MAX];   /* named by a non-temporary token at all */
        bool wipe[SLOTS_MAX];
        int token_of_slot[SLOTS_MAX]; /* temporary token to remove, or -1 */
        bool orphan[TOKENS_MAX];      /* temporary token whose slot is already gone */
} WipePlan;

/* A temporary token that names no keyslot is what an interrupted run
 * leaves between destroying the slot (libcryptsetup then drops the slot
 * from every token's "keyslots") and removing the token. It opens nothing;
 * removing it finishes that run's job. */
static bool is_orphaned_temporary(struct crypt_device *cd, int token_id) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *json = NULL;
        json_object *slots;
        bool temporary = false;

        if (crypt_token_json_get(cd, token_id, &json) < 0 ||
            json_parse_object(json, strnlen(json, JSON_INPUT_MAX + 1), &o) < 0)
                return false;
        return json_get_array(o, "keyslots", &slots) >= 0 && json_object_array_length(slots) == 0 &&
               json_get_bool(o, "cvm-temporary", &temporary) >= 0 && temporary;
}

static int plan_cb(struct crypt_device *cd, int token_id, const Tpm2Token *t, int parse_error, void *userdata) {
        WipePlan *p = userdata;
        int r;

        if (parse_error < 0) {
                if (token_id < TOKENS_MAX && is_orphaned_temporary(cd, token_id))
                        p->orphan[token_id] = true;
                return 0;
        }
        if (t->keyslot >= SLOTS_MAX)
                return 0;
        if (t->temporary) {
                p->wipe[t->keyslot] = true;
                p->token_of_slot[t->keyslot] = token_id;
                return 0;
        }
        /* Never wipe a slot a permanent token names, even one that does not
         * open now (PCRs changed until the next update, say): only a
         * crafted header has a temporary token on such a slot. */
        p->protect[t->keyslot] = true;
        r = luks_tpm2_unlock(cd, p->tpm, t, 0, NULL);
        if (r >= 0)
                p->keep[t->keyslot] = true;
        else if (r == -ENOLCK)
                log_info("TPM2 token %i (keyslot %i) does not open the volume now: the TPM is in "
                         "dictionary-attack lockout; not counting it.", token_id, t->keyslot);
        else
                log_info("TPM2 token %i (keyslot %i) does not open the volume now; not counting it.", token_id,
                         t->keyslot);
        return 0;
}

/* The legacy key file's slot joins the wipe set only while the key in the
 * file still opens it: after an interrupted run that slot number may have
 * been reused by a new slot, which must not be touched. */
static int plan_keydata(struct crypt_device *cd, const char *path, WipePlan *p, bool *ret_present) {
        _cleanup_(secret_freep) Secret *key = NULL;
        int slot, r;

        r = keydata_read(path, &key, &slot);
        if (r == -ENOENT) {
                *ret_present = false;
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to read legacy key file '%s': %m", path);
        *ret_present = true;
        if (luks_keyslot_in_use(cd, slot) && luks_test_keyslot(cd, slot, key) >= 0)
                p->wipe[slot] = true;
        return 0;
}

/* Slot first, then its token. Destroying the slot also drops it from the
 * token's "keyslots", so a run interrupted in between leaves a temporary
 * token naming no slot, which the next run recognises and removes. The
 * other order would leave, after an interruption, a slot whose only key
 * (the secret sealed in the token) is gone and which no later run can tell
 * from a user's passphrase slot: it would stay forever. */
static int remove_slot(struct crypt_device *cd, const WipePlan *p, int s, json_object *wiped) {
        int r;

        if (luks_keyslot_in_use(cd, s)) {
                r = crypt_keyslot_destroy(cd, s);
                if (r < 0)
                        return log_error_errno(r, "Failed to wipe keyslot %i: %m", s);
                test_hook("wipe:slot-destroyed");
        }
        if (p->token_of_slot[s] >= 0) {
                r = crypt_token_json_set(cd, p->token_of_slot[s], NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to remove token %i: %m", p->token_of_slot[s]);
                test_hook("wipe:token-removed");
        }
        log_info("Wiped temporary keyslot %i.", s);
        json_object_array_add(wiped, json_object_new_int(s));
        return 0;
}

static bool plan_writes_header(const WipePlan *p) {
        for (int s = 0; s < SLOTS_MAX; s++)
                if (p->wipe[s])
                        return true;
        for (int id = 0; id < TOKENS_MAX; id++)
                if (p->orphan[id])
                        return true;
        return false;
}

int verb_wipe_temporary(const EnrollArgs *a) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *wiped = json_object_new_array();
        WipePlan plan = {};
        bool keydata_present = false, any_keep = false, changed = false;
        int r;

        if (!o || !wiped)
                return log_oom();
        r = enroll_open(a, ", refusing to wipe anything", &cd, &tpm);
        if (r < 0)
                return r;

        plan.tpm = tpm;
        for (int s = 0; s < SLOTS_MAX; s++)
                plan.token_of_slot[s] = -1;
        r = luks_tpm2_foreach_token(cd, plan_cb, &plan);
        if (r < 0)
                return log_error_errno(r, "Failed to read tokens of '%s': %m", a->device);
        r = plan_keydata(cd, a->keydata, &plan, &keydata_present);
        if (r < 0)
                return r;

        for (int s = 0; s < SLOTS_MAX; s++) {
                if (plan.keep[s] || plan.protect[s])
                        plan.wipe[s] = false; /* keep wins */
                any_keep = any_keep || plan.keep[s];
        }
        if (!any_keep)
                return log_error_errno(SYNTHETIC_ERRNO(EPERM),
                                       "No non-temporary TPM2 token opens '%s' on this TPM; refusing to wipe "
                                       "temporary keyslots (that could leave no working key). Run 'cvm-enroll tpm2' "
                                       "first.", a->device);

        if (plan_writes_header(&plan)) {
                r = enroll_refuse_read_only(a, "wipe temporary keyslots");
                if (r < 0)
                        return r;
        }

        for (int s = 0; s < SLOTS_MAX; s++) {
                if (!plan.wipe[s])
                        continue;
                r = remove_slot(cd, &plan, s, wiped);
                if (r < 0)
                        return r;
                changed = true;
        }

        for (int id = 0; id < TOKENS_MAX; id++) {
                if (!plan.orphan[id])
                        continue;
                r = crypt_token_json_set(cd, id, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to remove token %i: %m", id);
                log_info("Removed temporary token %i, whose keyslot an interrupted run already wiped.", id);
                changed = true;
        }

        if (keydata_present) {
                r = keydata_destroy(a->keydata);
                if (r < 0)
                        return log_error_errno(r, "Failed to destroy legacy key file '%s': %m", a->keydata);
                log_info("Destroyed legacy key file '%s'.", a->keydata);
                changed = true;
        }

        if (a->common.json == JSON_OFF) {
                if (!changed)
                        printf("No temporary keyslots on %s; nothing to do.\n", a->device);
                return 0;
        }
        json_object_object_add(o, "device", json_object_new_string(a->device));
        json_object_object_add(o, "changed", json_object_new_boolean(changed));
        json_object_object_add(o, "wiped_keyslots", TAKE_PTR(wiped));
        json_object_object_add(o, "keydata_destroyed", json_object_new_boolean(keydata_present));
        return json_print(o, a->common.json);
}
