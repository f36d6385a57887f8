/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-enroll check / status: which TPM2 tokens open the volume now, and
 * why the others don't. Both write nothing. */
#include <stdio.h>

#include "enroll.h"
#include "json-util.h"
#include "log.h"
#include "luks-tpm2.h"
#include "luks-util.h"
#include "pcr-spec.h"
#include "tpm2-import-token.h"

typedef struct TokenReport {
        Tpm2Context *tpm; /* NULL: no TPM, report only */
        json_object *tokens;
        unsigned n_ok, n_total;
        const EnrollArgs *args;
} TokenReport;

/* Does the token's policy digest match what the current PCR values give?
 * 1 yes, 0 no, <0 unknown. Tells "PCRs changed" from "wrong TPM". */
static const char *unlock_failure_reason(int r, int policy_match) {
        if (r == -EPERM && policy_match == 0)
                return "the current PCR values differ from those the key was sealed to";
        if (r == -EPERM)
                return "the unsealed key does not open its keyslot, or the TPM refused the policy";
        if (r == -EBADMSG)
                return "the sealed blob does not load on this TPM (made for another TPM or corrupt)";
        if (r == -ENOLCK)
                return "the TPM is in dictionary-attack lockout";
        if (r == -EOPNOTSUPP)
                /* The parser already refused PINs and signed policies; what
                 * is left for the unseal to refuse is a bank other than sha256. */
                return "the token needs what cvm-enroll does not support (a PCR bank other than sha256)";
        return NULL;
}

static int report_cb(struct crypt_device *cd, int token_id, const Tpm2Token *t, int parse_error, void *userdata) {
        TokenReport *rep = userdata;
        _cleanup_free_ char *pcrs = NULL;
        const char *reason = NULL, *state, *mark;
        json_object *o = json_object_new_object();
        int r = parse_error, match = -1;

        if (!o)
                return -ENOMEM;
        json_object_array_add(rep->tokens, o);
        rep->n_total++;
        json_object_object_add(o, "token", json_object_new_int(token_id));

        if (parse_error < 0) {
                const char *json = NULL;

                state = "invalid";
                /* The iteration only tells us that parsing failed; parse
                 * again for the words that say why. */
                reason = crypt_token_json_get(cd, token_id, &json) < 0 ? "the token could not be read"
                                                                      : tpm2_token_invalid_reason(json);
                if (!reason)
                        reason = "the token could not be parsed";
        } else {
                if (pcr_mask_to_string(t->key.pcr_mask, &pcrs) < 0)
                        return -ENOMEM;
                json_object_object_add(o, "keyslot", json_object_new_int(t->keyslot));
                json_object_object_add(o, "pcrs", json_object_new_string(pcrs));
                json_object_object_add(o, "primary_alg",
                                       json_object_new_string(t->key.primary_alg == TPM2_ALG_ECC ? "ecc" : "rsa"));
                json_object_object_add(o, "parent", json_object_new_string(t->key.srk ? "srk" : "transient-primary"));
                json_object_object_add(o, "temporary", json_object_new_boolean(t->temporary));
                json_object_object_add(o, "reseal_pending", json_object_new_boolean(t->reseal_pending));
                if (!rep->tpm)
                        state = "unknown";
                else {
                        r = luks_tpm2_unlock(cd, rep->tpm, t, 0, NULL);
                        if (r >= 0) {
                                state = "opens";
                                rep->n_ok++;
                        } else {
                                state = "fails";
                                match = tpm2_policy_matches_now(rep->tpm, &t->key);
                                if (match >= 0)
                                        json_object_object_add(o, "policy_matches_current_pcrs",
                                                               json_object_new_boolean(match));
                                reason = unlock_failure_reason(r, match);
                        }
                }
        }
        json_object_object_add(o, "state", json_object_new_string(state));
        if (reason)
                json_object_object_add(o, "reason", json_object_new_string(reason));

        if (rep->args->common.json != JSON_OFF)
                return 0;
        mark = t->temporary ? ", temporary" : t->reseal_pending ? ", resealed for the next boot" : "";
        if (parse_error < 0)
                printf("token %i: unusable: %s.\n", token_id, reason);
        else if (r >= 0 && rep->tpm)
                printf("token %i (keyslot %i, PCRs %s%s): opens the volume.\n", token_id, t->keyslot,
                       *pcrs ? pcrs : "none", mark);
        else if (rep->tpm)
                printf("token %i (keyslot %i, PCRs %s%s): does not open the volume: %s%s%s.\n", token_id,
                       t->keyslot, *pcrs ? pcrs : "none", mark,
                       reason ?: "unseal failed: ", reason ? "" : strerror(ERRNO_VALUE(r)),
                       match == 0 ? " (policy digest differs from the current PCR values)" : "");
        else
                printf("token %i (keyslot %i, PCRs %s%s)\n", token_id, t->keyslot, *pcrs ? pcrs : "none",
                       mark);
        return 0;
}

static int report_tokens(struct crypt_device *cd, Tpm2Context *tpm, const EnrollArgs *a, TokenReport *rep) {
        *rep = (TokenReport) { .tpm = tpm, .tokens = json_object_new_array(), .args = a };
        if (!rep->tokens)
                return -ENOMEM;
        return luks_tpm2_foreach_token(cd, report_cb, rep);
}

/* An offline-sealed token that convert-import has not turned into a
 * systemd-tpm2 token yet (docs/IMPORT-TOKEN.md). */
static bool has_import_token(struct crypt_device *cd) {
        for (int id = 0; id < crypt_token_max(CRYPT_LUKS2); id++) {
                const char *type = NULL;
                crypt_token_info ti = crypt_token_status(cd, id, &type);
                if (ti != CRYPT_TOKEN_INVALID && ti != CRYPT_TOKEN_INACTIVE && streq_ptr(type, TPM2_IMPORT_TOKEN_TYPE))
                        return true;
        }
        return false;
}

int verb_check(const EnrollArgs *a) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        TokenReport rep;
        int r;

        r = enroll_open(a, "", &cd, &tpm);
        if (r < 0)
                return r;

        r = report_tokens(cd, tpm, a, &rep);
        o = json_object_new_object();
        if (!o) {
                json_object_put(rep.tokens);
                return log_oom();
        }
        json_object_object_add(o, "tokens", rep.tokens);
        if (r < 0)
                return log_error_errno(r, "Failed to check tokens of '%s': %m", a->device);
        json_object_object_add(o, "device", json_object_new_string(a->device));
        json_object_object_add(o, "ok", json_object_new_boolean(rep.n_ok > 0));
        r = json_print(o, a->common.json);
        if (r < 0)
                return r;

        if (rep.n_total == 0)
                return log_error_errno(SYNTHETIC_ERRNO(ENOKEY), "'%s' has no systemd-tpm2 token%s.", a->device,
                                       has_import_token(cd) ? " (it has a cvm-tpm2-import token: run "
                                                              "'cvm-enroll convert-import' first)" : "");
        if (rep.n_ok == 0)
                return log_error_errno(SYNTHETIC_ERRNO(ENOKEY), "No TPM2 token opens '%s' on this TPM.", a->device);
        return 0;
}

static const char *pbkdf_name(struct crypt_device *cd, int slot) {
        struct crypt_pbkdf_type p;
        return crypt_keyslot_get_pbkdf(cd, slot, &p) < 0 ? "unknown" : p.type;
}

int verb_status(const EnrollArgs *a) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *why = NULL;
        json_object *slots;
        TokenReport rep;
        int r;

        r = luks_open(a->device, &cd);
        if (r < 0)
                return log_error_errno(r, "Failed to open LUKS2 volume '%s': %m", a->device);
        r = tpm2_context_new(a->common.tpm2_device, &tpm);
        if (r < 0)
                log_warning_errno(r, "%s; showing tokens without checking them.",
                                  tpm2_open_error_text(r, a->common.tpm2_device, &why));

        o = json_object_new_object();
        slots = json_object_new_array();
        if (!o || !slots)
                return log_oom();
        json_object_object_add(o, "device", json_object_new_string(a->device));
        json_object_object_add(o, "keyslots", slots);
        if (a->common.json == JSON_OFF)
                printf("Device %s\nKeyslots:\n", a->device);
        for (int s = 0; s < luks_keyslot_max(); s++) {
                json_object *e;
                if (!luks_keyslot_in_use(cd, s))
                        continue;
                e = json_object_new_object();
                json_object_object_add(e, "keyslot", json_object_new_int(s));
                json_object_object_add(e, "pbkdf", json_object_new_string(pbkdf_name(cd, s)));
                json_object_array_add(slots, e);
                if (a->common.json == JSON_OFF)
                        printf("  %2i: %s\n", s, pbkdf_name(cd, s));
        }
        if (a->common.json == JSON_OFF)
                printf("TPM2 tokens:\n");
        r = report_tokens(cd, tpm, a, &rep);
        json_object_object_add(o, "tokens", rep.tokens);
        if (r < 0)
                return log_error_errno(r, "Failed to read tokens of '%s': %m", a->device);
        json_object_object_add(o, "writes_parent", json_object_new_string("transient-primary"));
        if (a->common.json == JSON_OFF)
                printf("New tokens are sealed under systemd's transient primary key (readable by systemd 252).\n");
        return json_print(o, a->common.json);
}
