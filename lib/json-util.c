/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "encode-util.h"
#include "json-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free);

int json_parse_object(const char *s, size_t len, json_object **ret) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;

        if (!s || !ret)
                return -EINVAL;
        if (len > JSON_INPUT_MAX)
                return -E2BIG;
        tok = json_tokener_new_ex(JSON_DEPTH_MAX);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        o = json_tokener_parse_ex(tok, s, (int) len);
        if (json_tokener_get_error(tok) != json_tokener_success)
                return -EBADMSG;
        /* Only whitespace may follow the object. */
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
                if (!strchr(" \t\r\n", s[i]))
                        return -EBADMSG;
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        *ret = TAKE_PTR(o);
        return 0;
}

static int json_get_typed(json_object *o, const char *key, json_type type, json_object **ret) {
        json_object *v;

        if (!o || !key || !ret)
                return -EINVAL;
        if (!json_object_object_get_ex(o, key, &v))
                return -ENOENT;
        if (!json_object_is_type(v, type))
                return -EBADMSG;
        *ret = v;
        return 0;
}

int json_get_string(json_object *o, const char *key, const char **ret) {
        json_object *v;
        int r;

        r = json_get_typed(o, key, json_type_string, &v);
        if (r < 0)
                return r;
        *ret = json_object_get_string(v);
        return 0;
}

int json_get_bool(json_object *o, const char *key, bool *ret) {
        json_object *v;
        int r;

        r = json_get_typed(o, key, json_type_boolean, &v);
        if (r < 0)
                return r;
        *ret = json_object_get_boolean(v);
        return 0;
}

int json_get_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *ret) {
        json_object *v;
        int64_t i;
        int r;

        r = json_get_typed(o, key, json_type_int, &v);
        if (r < 0)
                return r;
        errno = 0;
        i = json_object_get_int64(v);
        if (errno != 0 || i < min || i > max)
                return -ERANGE;
        *ret = i;
        return 0;
}

int json_get_array(json_object *o, const char *key, json_object **ret) {
        return json_get_typed(o, key, json_type_array, ret);
}

int json_get_base64(json_object *o, const char *key, void **ret, size_t *ret_size) {
        const char *s;
        int r;

        r = json_get_string(o, key, &s);
        if (r < 0)
                return r;
        return base64_decode(s, (size_t) json_object_get_string_len(json_object_object_get(o, key)),
                             ret, ret_size);
}

int json_get_hex(json_object *o, const char *key, void **ret, size_t *ret_size) {
        const char *s;
        int r;

        r = json_get_string(o, key, &s);
        if (r < 0)
                return r;
        return hex_decode(s, (size_t) json_object_get_string_len(json_object_object_get(o, key)),
                          ret, ret_size);
}

int json_print(json_object *o, JsonFormat format) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

        if (format == JSON_OFF)
                return 0;
        flags |= format == JSON_PRETTY ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                       : JSON_C_TO_STRING_PLAIN;
        if (puts(json_object_to_json_string_ext(o, flags)) == EOF || fflush(stdout) != 0)
                return -EIO;
        return 0;
}
