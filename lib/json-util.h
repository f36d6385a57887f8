/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* json-c with strict typing: tokens and evidence are hostile input, so a
 * field of the wrong type is an error (-EBADMSG), never silently coerced
 * the way json_object_get_int() would. Missing fields are -ENOENT. */

#include <json-c/json.h>
#include <stdint.h>

#include "macro.h"
#include "options.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

#define JSON_INPUT_MAX (4U * 1024U * 1024U)
#define JSON_DEPTH_MAX 16

/* Parse exactly one JSON object (no trailing garbage). */
int json_parse_object(const char *s, size_t len, json_object **ret);

int json_get_string(json_object *o, const char *key, const char **ret);
int json_get_bool(json_object *o, const char *key, bool *ret);
int json_get_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *ret);
int json_get_array(json_object *o, const char *key, json_object **ret);
int json_get_base64(json_object *o, const char *key, void **ret, size_t *ret_size);
int json_get_hex(json_object *o, const char *key, void **ret, size_t *ret_size);

/* Print @o on stdout in @format followed by a newline (no-op for JSON_OFF). */
int json_print(json_object *o, JsonFormat format);
