/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "pcr-spec.h"
#include "token-json.h"

#define KEYSLOT_MAX 32 /* LUKS2_KEYSLOTS_MAX */

int token_refuse(const char **ret_reason, int error, const char *reason) {
        log_debug("Token refused: %s.", reason);
        *ret_reason = reason;
        return -ERRNO_VALUE(error);
}

int token_json_open(const char *json, const char *type, const char *wrong_type_reason, json_object **ret,
                    const char **ret_reason) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *s;
        int r;

        r = json_parse_object(json, strnlen(json, JSON_INPUT_MAX + 1), &o);
        if (r < 0)
                return token_refuse(ret_reason, r,
                                    "the token is not a JSON object, or is nested too deeply or too large");
        if (json_get_string(o, "type", &s) < 0)
                return token_refuse(ret_reason, EBADMSG, "the token has no type");
        if (!streq(s, type) || json_object_get_string_len(json_object_object_get(o, "type")) != (int) strlen(type))
                return token_refuse(ret_reason, EMEDIUMTYPE, wrong_type_reason);
        *ret = TAKE_PTR(o);
        return 0;
}

int token_json_parse_keyslot(json_object *o, int *ret, const char **ret_reason) {
        json_object *a, *e;
        const char *s;
        char *end;
        long l;

        if (json_get_array(o, "keyslots", &a) < 0)
                return token_refuse(ret_reason, EBADMSG, "'keyslots' is missing or not an array");
        /* systemd binds one slot per token; more would make "which slot"
         * ambiguous, so refuse rather than guess. */
        if (json_object_array_length(a) != 1)
                return token_refuse(ret_reason, EBADMSG, "'keyslots' does not name exactly one keyslot");
        e = json_object_array_get_idx(a, 0);
        if (!json_object_is_type(e, json_type_string))
                return token_refuse(ret_reason, EBADMSG, "the keyslot in 'keyslots' is not a string");
        s = json_object_get_string(e);
        errno = 0;
        l = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end || l < 0 || l >= KEYSLOT_MAX)
                return token_refuse(ret_reason, EBADMSG, "the keyslot in 'keyslots' is not a number from 0 to 31");
        *ret = (int) l;
        return 0;
}

int token_json_parse_pcrs(json_object *o, uint32_t *ret, const char **ret_reason) {
        json_object *a;
        uint32_t mask = 0;
        size_t n;

        if (json_get_array(o, "tpm2-pcrs", &a) < 0)
                return token_refuse(ret_reason, EBADMSG, "'tpm2-pcrs' is missing or not an array");
        n = json_object_array_length(a);
        if (n > PCR_INDEX_MAX + 1)
                return token_refuse(ret_reason, EBADMSG, "'tpm2-pcrs' lists more than 24 PCRs");
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                int64_t v;
                if (!json_object_is_type(e, json_type_int))
                        return token_refuse(ret_reason, EBADMSG, "'tpm2-pcrs' holds something other than integers");
                errno = 0;
                v = json_object_get_int64(e);
                if (errno != 0 || v < 0 || v > PCR_INDEX_MAX)
                        return token_refuse(ret_reason, EBADMSG, "'tpm2-pcrs' holds a PCR index outside 0-23");
                mask |= UINT32_C(1) << v;
        }
        *ret = mask;
        return 0;
}

int token_json_add(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int token_json_add_string(json_object *o, const char *key, const char *value) {
        return token_json_add(o, key, json_object_new_string(value));
}

json_object *token_json_new_keyslots(int keyslot) {
        json_object *slots = json_object_new_array();
        char slot[16];

        snprintf(slot, sizeof slot, "%i", keyslot);
        if (!slots || json_object_array_add(slots, json_object_new_string(slot)) < 0) {
                json_object_put(slots);
                return NULL;
        }
        return slots;
}

json_object *token_json_new_pcrs(uint32_t pcr_mask) {
        json_object *pcrs = json_object_new_array();

        for (unsigned i = 0; pcrs && i <= PCR_INDEX_MAX; i++)
                if (pcr_mask & (UINT32_C(1) << i) && json_object_array_add(pcrs, json_object_new_int((int) i)) < 0) {
                        json_object_put(pcrs);
                        pcrs = NULL;
                }
        return pcrs;
}

int token_json_to_string(json_object *o, char **ret) {
        *ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        return *ret ? 0 : -ENOMEM;
}
