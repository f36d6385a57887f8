/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The JSON both LUKS2 token types of cvm-enroll share: "systemd-tpm2"
 * (tpm2-token.h) and "cvm-tpm2-import" (tpm2-import-token.h). A token is
 * hostile input (the host writes the LUKS2 header), so every refusal comes
 * with a reason for the user: a static string that names the field but
 * never echoes the token's bytes, which would otherwise reach the console
 * and the journal verbatim. */

#include <json-c/json.h>
#include <stdint.h>

/* Sets *ret_reason to @reason and returns -@error. */
int token_refuse(const char **ret_reason, int error, const char *reason);

/* Parse @json as one JSON object whose "type" is exactly @type (the whole
 * string: json-c keeps a "\u0000" inside it, and libcryptsetup, reading the
 * type as a C string, would have sent "systemd-tpm2\u0000junk" as one of
 * ours). Refused with -EMEDIUMTYPE and @wrong_type_reason if it is another
 * type. */
int token_json_open(const char *json, const char *type, const char *wrong_type_reason, json_object **ret,
                    const char **ret_reason);

/* "keyslots": exactly one slot, as a decimal string 0-31. */
int token_json_parse_keyslot(json_object *o, int *ret, const char **ret_reason);
/* "tpm2-pcrs": an array of at most 24 PCR indexes 0-23, as a mask. */
int token_json_parse_pcrs(json_object *o, uint32_t *ret, const char **ret_reason);

/* Adds @v under @key, taking ownership of @v; -ENOMEM if @v is NULL (a
 * failed json_object_new_*()) or cannot be added. */
int token_json_add(json_object *o, const char *key, json_object *v);
int token_json_add_string(json_object *o, const char *key, const char *value);
/* The "keyslots" and "tpm2-pcrs" arrays as systemd 252 writes them, or
 * NULL when out of memory (token_json_add() then fails). */
json_object *token_json_new_keyslots(int keyslot);
json_object *token_json_new_pcrs(uint32_t pcr_mask);
/* The token as compact text, without escaped slashes, as systemd writes it. */
int token_json_to_string(json_object *o, char **ret);
