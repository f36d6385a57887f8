/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-enroll reseal: before a shim/systemd-boot/UKI update, add a TPM2
 * token sealed to the PCR values the next boot will have (predicted from
 * this boot's event log and the replacement files, lib/pcr-predict.h),
 * keeping the current token; the new token is marked "cvm-reseal-pending".
 * reseal --finalize, run at every boot, acts only after a boot whose PCRs
 * match a pending token (the update happened): that token stops being
 * pending, and the tokens whose policy no longer matches the current PCRs
 * are removed — pending ones excepted (a later update may still come), and
 * only when a non-temporary token that matches now really opens the
 * volume, so the last working key is never removed. */
#include <stdio.h>

#include "enroll-unlock.h"
#include "enroll.h"
#include "encode-util.h"
#include "file-util.h"
#include "json-util.h"
#include "log.h"
#include "luks-tpm2.h"
#include "luks-util.h"
#include "pcr-predict.h"
#include "pcr-spec.h"
#include "pcr-values.h"
#include "test-hook.h"

#define BOOT_FILE_MAX (1024U * 1024U * 1024U) /* a UKI with a large initrd stays far below */
#define SLOTS_MAX 32
#define TOKENS_MAX 32

typedef uint8_t PcrBank[PCR_INDEX_MAX + 1][TPM2_SHA256_SIZE];

typedef struct BootFile {
        char *data;
        size_t size;
        PeFile pe;
        uint8_t digest[PE_SHA256_SIZE];
} BootFile;

static void boot_file_done(BootFile *f) {
        free(f->data);
        free(f);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(BootFile *, boot_file_done);

static int boot_file_load(const char *path, BootFile **ret) {
        _cleanup_(boot_file_donep) BootFile *f = calloc(1, sizeof(BootFile));
        const char *reason = NULL;
        int r;

        if (!f)
                return log_oom();
        r = read_full_file(path, BOOT_FILE_MAX, &f->data, &f->size);
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s': %m", path);
        r = pe_parse((const uint8_t *) f->data, f->size, &f->pe, &reason);
        if (r < 0)
                return log_error_errno(r, "'%s' is not a valid PE/COFF image: %s.", path, reason ?: "malformed");
        r = pe_authenticode_sha256(&f->pe, f->digest);
        if (r < 0)
                return log_error_errno(r, "Failed to compute the Authenticode digest of '%s': %m", path);
        *ret = TAKE_PTR(f);
        return 0;
}

static void compact(uint32_t mask, const PcrBank full, uint8_t ret[][TPM2_SHA256_SIZE]) {
        size_t n = 0;
        for (unsigned i = 0; i <= PCR_INDEX_MAX; i++)
                if (mask & (UINT32_C(1) << i))
                        memcpy(ret[n++], full[i], TPM2_SHA256_SIZE);
}

static int hex32(const uint8_t v[TPM2_SHA256_SIZE], char **ret) {
        return hex_encode(v, TPM2_SHA256_SIZE, ret) < 0 ? log_oom() : 0;
}

/* Replay this boot's log and check it against the TPM: a log that does not
 * reproduce the PCRs describes some other boot (or something extended a PCR
 * behind the log's back), and predicting from it would seal to values the
 * next boot never has. */
static int load_eventlog(const EnrollArgs *a, Tpm2Context *tpm, char **ret_buf, EventLog *ret_log,
                         PcrBank current) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_(eventlog_done) EventLog log = {};
        const char *path = a->eventlog ?: EVENTLOG_PATH_DEFAULT, *reason = NULL;
        uint8_t tpm_values[PCR_INDEX_MAX + 1][TPM2_SHA256_SIZE];
        size_t size = 0, n = 0;
        int r;

        r = read_full_file(path, EVENTLOG_SIZE_MAX, &buf, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read the TPM event log '%s': %m", path);
        r = eventlog_parse((const uint8_t *) buf, size, &log, &reason);
        if (r < 0)
                return log_error_errno(r, "Invalid TPM event log '%s': %s.", path, reason ?: "malformed");
        r = eventlog_replay(&log, a->pcr_mask, current);
        if (r < 0)
                return log_error_errno(r, "Failed to replay the event log: %m");
        if (tpm) {
                r = tpm2_pcr_read(tpm, a->pcr_mask, tpm_values);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the TPM's PCRs: %m");
                for (unsigned i = 0; i <= PCR_INDEX_MAX; i++) {
                        if (!(a->pcr_mask & (UINT32_C(1) << i)))
                                continue;
                        if (memcmp(current[i], tpm_values[n++], TPM2_SHA256_SIZE) != 0)
                                return log_error_errno(SYNTHETIC_ERRNO(EUCLEAN),
                                                       "PCR %u: replaying the event log '%s' does not give the "
                                                       "TPM's value; cannot predict it.", i, path);
                }
        }
        *ret_buf = TAKE_PTR(buf);
        *ret_log = log;
        log = (EventLog) {};
        return 0;
}

static int predict(const EnrollArgs *a, Tpm2Context *tpm, PcrBank current, PcrBank predicted) {
        _cleanup_free_ char *logbuf = NULL;
        _cleanup_(eventlog_done) EventLog log = {};
        bool have_pcr11 = false;
        uint8_t pcr11[PE_SHA256_SIZE];
        uint32_t bad = a->pcr_mask & ~PCR_PREDICTABLE_MASK;
        int r;

        if (bad) {
                _cleanup_free_ char *s = NULL;
                (void) pcr_mask_to_string(bad, &s);
                return log_error_errno(SYNTHETIC_ERRNO(EOPNOTSUPP),
                                       "PCR %s cannot be predicted (extended by the OS, not the firmware or "
                                       "systemd-stub); use --pcrs= with PCRs from 0-7 and 11.", strna(s));
        }
        r = load_eventlog(a, tpm, &logbuf, &log, current);
        if (r < 0)
                return r;

        for (size_t i = 0; i < a->n_replace; i++) {
                _cleanup_(boot_file_donep) BootFile *old = NULL, *new = NULL;
                _cleanup_free_ char *old_path = strdup(a->replace[i]), *hex = NULL;
                char *new_path;
                int n;

                if (!old_path)
                        return log_oom();
                new_path = strchr(old_path, '=');
                *new_path++ = 0; /* checked when parsing the option */
                r = boot_file_load(old_path, &old);
                if (r < 0)
                        return r;
                r = boot_file_load(new_path, &new);
                if (r < 0)
                        return r;
                n = pcr_predict_replace_app(&log, old->digest, new->digest);
                if (n == 0) {
                        (void) hex32(old->digest, &hex);
                        return log_error_errno(SYNTHETIC_ERRNO(ENOENT),
                                               "'%s' was not started in this boot: the event log has no PCR 4 "
                                               "boot application event with its Authenticode digest %s.",
                                               old_path, strna(hex));
                }
                log_debug("'%s' → '%s': %i PCR 4 event(s) replaced.", old_path, new_path, n);

                if (!(a->pcr_mask & (UINT32_C(1) << 11)) || (!pe_is_uki(&old->pe) && !pe_is_uki(&new->pe)))
                        continue;
                if (!pe_is_uki(&old->pe) || !pe_is_uki(&new->pe))
                        return log_error_errno(SYNTHETIC_ERRNO(EOPNOTSUPP),
                                               "Cannot predict PCR 11 when replacing '%s' by '%s': only one of "
                                               "them is a UKI.", old_path, new_path);
                /* Our model of systemd-stub must reproduce this boot
                 * before it may predict the next one. */
                r = pcr_predict_uki_pcr11(&old->pe, pcr11);
                if (r < 0)
                        return log_error_errno(r, "Failed to compute PCR 11 for '%s': %m", old_path);
                if (memcmp(pcr11, current[11], sizeof pcr11) != 0)
                        return log_error_errno(SYNTHETIC_ERRNO(EUCLEAN),
                                               "PCR 11 is not what systemd-stub measures for '%s' (another stub "
                                               "version, or PCR 11 extended later); cannot predict it.", old_path);
                r = pcr_predict_uki_pcr11(&new->pe, pcr11);
                if (r < 0)
                        return log_error_errno(r, "Failed to compute PCR 11 for '%s': %m", new_path);
                have_pcr11 = true;
        }

        r = eventlog_replay(&log, a->pcr_mask, predicted);
        if (r < 0)
                return log_error_errno(r, "Failed to replay the event log: %m");
        if (have_pcr11)
                memcpy(predicted[11], pcr11, sizeof pcr11);
        return 0;
}

static int print_prediction(const EnrollArgs *a, const PcrBank current, const PcrBank predicted, bool have_current,
                            json_object *o) {
        json_object *pcrs = json_object_new_object();

        if (!pcrs)
                return log_oom();
        json_object_object_add(o, "pcrs", pcrs);
        if (a->common.json == JSON_OFF)
                printf("PCR  %-64s  %s\n", have_current ? "current" : "", "predicted");
        for (unsigned i = 0; i <= PCR_INDEX_MAX; i++) {
                _cleanup_free_ char *c = NULL, *p = NULL;
                char key[4];
                json_object *e;

                if (!(a->pcr_mask & (UINT32_C(1) << i)))
                        continue;
                if ((have_current && hex32(current[i], &c) < 0) || hex32(predicted[i], &p) < 0)
                        return -ENOMEM;
                if (a->common.json == JSON_OFF)
                        printf("%-3u  %-64s  %s%s\n", i, c ?: "", p,
                               have_current && strcmp(c, p) != 0 ? "  (changes)" : "");
                e = json_object_new_object();
                if (!e)
                        return log_oom();
                if (c)
                        json_object_object_add(e, "current", json_object_new_string(c));
                json_object_object_add(e, "predicted", json_object_new_string(p));
                snprintf(key, sizeof key, "%u", i);
                json_object_object_add(pcrs, key, e);
        }
        return 0;
}

typedef struct FindPolicy {
        uint32_t pcr_mask;
        const uint8_t (*values)[TPM2_SHA256_SIZE];
        int token_id;
        int keyslot;
} FindPolicy;

static int find_policy_cb(struct crypt_device *cd, int token_id, const Tpm2Token *t, int parse_error,
                          void *userdata) {
        FindPolicy *f = userdata;

        (void) cd;
        if (parse_error < 0 || f->token_id >= 0 || t->temporary || t->key.pcr_mask != f->pcr_mask)
                return 0;
        if (tpm2_policy_matches_values(&t->key, f->values) > 0) {
                f->token_id = token_id;
                f->keyslot = t->keyslot;
        }
        return 0;
}

static int reseal(const EnrollArgs *a) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        _cleanup_(secret_freep) Secret *vk = NULL;
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        PcrBank current = {}, predicted = {};
        uint8_t values[PCR_INDEX_MAX + 1][TPM2_SHA256_SIZE];
        FindPolicy same = { .pcr_mask = a->pcr_mask, .token_id = -1, .keyslot = -1 };
        bool have_current = false, changed = false;
        int token = -1, keyslot = -1, r;

        if (!o)
                return log_oom();
        if (!a->pcr_values && a->n_replace == 0)
                return usage_error("reseal needs --replace=OLD=NEW (or, in tests, --pcr-values=)");
        if (a->pcr_values && a->n_replace > 0)
                return usage_error("--replace= and --pcr-values= are mutually exclusive");
        if (a->pcr_mask == 0)
                return usage_error("reseal needs PCRs to seal to (--pcrs=)");

        r = enroll_open(a, "", &cd, &tpm);
        if (r < 0)
                return r;

        if (a->pcr_values) {
                PcrValues pv;
                r = pcr_values_load(a->pcr_values, &pv);
                if (r < 0)
                        return usage_error("invalid --pcr-values= '%s' (expected IDX=HEX,… with 64 hex digits "
                                           "each, or a file of them)", a->pcr_values);
                if (pv.mask != a->pcr_mask)
                        return usage_error("--pcr-values= must give exactly the PCRs of --pcrs=");
                memcpy(predicted, pv.values, sizeof pv.values);
                log_warning("Sealing to the PCR values given by --pcr-values= (a testing aid), not to predicted ones.");
        } else {
                r = predict(a, tpm, current, predicted);
                if (r < 0)
                        return r;
                have_current = true;
        }
        r = print_prediction(a, current, predicted, have_current, o);
        if (r < 0)
                return r;
        compact(a->pcr_mask, predicted, values);

        if (!a->dry_run) {
                same.values = (const uint8_t (*)[TPM2_SHA256_SIZE]) values;
                r = luks_tpm2_foreach_token(cd, find_policy_cb, &same);
                if (r < 0)
                        return log_error_errno(r, "Failed to read tokens of '%s': %m", a->device);
                if (same.token_id >= 0) {
                        token = same.token_id;
                        keyslot = same.keyslot;
                } else {
                        r = enroll_get_volume_key(cd, tpm, a->unlock, a->unlock_path, &vk);
                        if (r < 0)
                                return r;
                        token = luks_tpm2_enroll_to_values(cd, tpm, vk, a->pcr_mask,
                                                           (const uint8_t (*)[TPM2_SHA256_SIZE]) values,
                                                           LUKS_TPM2_RESEAL_PENDING, &keyslot);
                        if (token < 0)
                                return log_error_errno(token, "Failed to add a TPM2 token sealed to the predicted "
                                                              "PCRs on '%s': %m", a->device);
                        test_hook("reseal:token-added");
                        changed = true;
                }
        }

        if (a->common.json == JSON_OFF) {
                if (a->dry_run)
                        printf("Dry run: nothing written.\n");
                else if (changed)
                        printf("Added TPM2 token %i (keyslot %i) sealed to the predicted PCRs; the current tokens stay "
                               "until 'cvm-enroll reseal --finalize' runs after the next boot.\n", token, keyslot);
                else
                        printf("TPM2 token %i (keyslot %i) is already sealed to these PCR values; nothing to do.\n",
                               token, keyslot);
                return 0;
        }
        json_object_object_add(o, "device", json_object_new_string(a->device));
        json_object_object_add(o, "changed", json_object_new_boolean(changed));
        json_object_object_add(o, "dry_run", json_object_new_boolean(a->dry_run));
        if (token >= 0) {
                json_object_object_add(o, "token", json_object_new_int(token));
                json_object_object_add(o, "keyslot", json_object_new_int(keyslot));
        }
        return json_print(o, a->common.json);
}

/* --- finalize --- */

typedef struct FinalizePlan {
        Tpm2Context *tpm;
        bool keep[SLOTS_MAX];     /* a non-temporary token opens it now */
        bool stale_token[TOKENS_MAX];
        int stale_slot[TOKENS_MAX];
        bool orphan[TOKENS_MAX];  /* its slot already gone (an interrupted run) */
        bool arrived[TOKENS_MAX]; /* pending, and matches and opens now: the update happened */
        unsigned n_good;
} FinalizePlan;

/* What an interrupted run leaves between destroying a stale token's slot
 * (libcryptsetup then drops it from the token's "keyslots") and removing
 * the token: a systemd-tpm2 token that names no keyslot. It opens nothing. */
static bool token_names_no_slot(struct crypt_device *cd, int token_id) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *json = NULL;
        json_object *slots;

        return crypt_token_json_get(cd, token_id, &json) >= 0 &&
               json_parse_object(json, strnlen(json, JSON_INPUT_MAX + 1), &o) >= 0 &&
               json_get_array(o, "keyslots", &slots) >= 0 && json_object_array_length(slots) == 0;
}

static int finalize_cb(struct crypt_device *cd, int token_id, const Tpm2Token *t, int parse_error, void *userdata) {
        FinalizePlan *p = userdata;
        int match;

        if (token_id >= TOKENS_MAX)
                return 0;
        if (parse_error < 0) {
                p->orphan[token_id] = token_names_no_slot(cd, token_id);
                return 0;
        }
        /* Temporary tokens are wipe-temporary's business. */
        if (t->temporary || t->keyslot >= SLOTS_MAX)
                return 0;
        match = tpm2_policy_matches_now(p->tpm, &t->key);
        if (match < 0) {
                /* No policy digest recorded: we cannot tell, so it stays. */
                log_info("TPM2 token %i records no policy digest; keeping it.", token_id);
                return 0;
        }
        if (match == 0) {
                /* Sealed for a boot still to come: not outdated. */
                if (t->reseal_pending)
                        return 0;
                p->stale_token[token_id] = true;
                p->stale_slot[token_id] = t->keyslot;
                return 0;
        }
        if (luks_tpm2_unlock(cd, p->tpm, t, 0, NULL) >= 0) {
                p->keep[t->keyslot] = true;
                p->arrived[token_id] = t->reseal_pending;
                p->n_good++;
        } else
                log_info("TPM2 token %i matches the current PCRs but does not open the volume.", token_id);
        return 0;
}

static int clear_pending(struct crypt_device *cd, int token_id) {
        _cleanup_(tpm2_token_done) Tpm2Token t = {};
        _cleanup_free_ char *json = NULL;
        const char *old = NULL;
        int r;

        r = crypt_token_json_get(cd, token_id, &old);
        if (r < 0)
                return r;
        r = tpm2_token_parse(old, &t);
        if (r < 0)
                return r;
        t.reseal_pending = false;
        r = tpm2_token_format(&t, &json);
        if (r < 0)
                return r;
        r = crypt_token_json_set(cd, token_id, json);
        return r < 0 ? r : 0;
}

static int finalize(const EnrollArgs *a) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *removed = json_object_new_array();
        FinalizePlan plan = {};
        unsigned n_arrived = 0;
        bool changed = false;
        int r;

        if (!o || !removed)
                return log_oom();
        if (a->n_replace > 0 || a->pcr_values)
                return usage_error("--finalize takes no --replace= or --pcr-values=");
        r = enroll_open(a, ", refusing to remove anything", &cd, &tpm);
        if (r < 0)
                return r;

        plan.tpm = tpm;
        r = luks_tpm2_foreach_token(cd, finalize_cb, &plan);
        if (r < 0)
                return log_error_errno(r, "Failed to read tokens of '%s': %m", a->device);
        if (plan.n_good == 0)
                return log_error_errno(SYNTHETIC_ERRNO(EPERM),
                                       "No non-temporary TPM2 token sealed to the current PCRs opens '%s'; "
                                       "refusing to remove any token (that could leave no working key).",
                                       a->device);
        for (int id = 0; id < TOKENS_MAX; id++)
                n_arrived += plan.arrived[id];
        /* No resealed token came into use in this boot: whatever does not
         * match now may be for a boot still to come. Tokens naming no slot
         * open nothing and go in any case. */
        if (n_arrived == 0)
                memset(plan.stale_token, 0, sizeof plan.stale_token);

        for (int id = 0; id < TOKENS_MAX; id++) {
                int s = plan.stale_slot[id];

                if (!plan.stale_token[id] && !plan.orphan[id])
                        continue;
                if (a->dry_run) {
                        printf("Would remove TPM2 token %i.\n", id);
                        continue;
                }
                /* Slot first, then the token (see enroll-wipe.c): an
                 * interruption leaves a token naming no slot, which the
                 * next run removes, never a slot without its key. */
                if (plan.stale_token[id] && s >= 0 && !plan.keep[s] && luks_keyslot_in_use(cd, s)) {
                        r = crypt_keyslot_destroy(cd, s);
                        if (r < 0)
                                return log_error_errno(r, "Failed to wipe keyslot %i: %m", s);
                        test_hook("finalize:slot-destroyed");
                }
                r = crypt_token_json_set(cd, id, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to remove token %i: %m", id);
                test_hook("finalize:token-removed");
                log_info("Removed TPM2 token %i%s.", id,
                         plan.orphan[id] ? " (its keyslot was already gone)" : ", sealed to outdated PCR values");
                json_object_array_add(removed, json_object_new_int(id));
                changed = true;
        }

        /* Last, the resealed token becomes an ordinary one. A crash before
         * this leaves it pending, and pending + matching is how the next
         * run knows the update happened and finishes the removals. */
        for (int id = 0; id < TOKENS_MAX && !a->dry_run; id++) {
                if (!plan.arrived[id])
                        continue;
                r = clear_pending(cd, id);
                if (r < 0)
                        return log_error_errno(r, "Failed to update token %i: %m", id);
                test_hook("finalize:pending-cleared");
                log_info("TPM2 token %i, resealed for this boot, is now the current token.", id);
                changed = true;
        }

        if (a->common.json == JSON_OFF) {
                if (!changed && !a->dry_run)
                        printf("No TPM2 token with outdated PCR values on %s; nothing to do.\n", a->device);
                else if (changed)
                        printf("Removed %zu TPM2 token(s) sealed to outdated PCR values from %s.\n",
                               json_object_array_length(removed), a->device);
                return 0;
        }
        json_object_object_add(o, "device", json_object_new_string(a->device));
        json_object_object_add(o, "changed", json_object_new_boolean(changed));
        json_object_object_add(o, "removed_tokens", TAKE_PTR(removed));
        return json_print(o, a->common.json);
}

int verb_reseal(const EnrollArgs *a) {
        return a->finalize ? finalize(a) : reseal(a);
}
