/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Base64 and hex through OpenSSL. Decoders treat input as hostile: they
 * bound the input length and reject anything that is not the encoding. */

#include <stddef.h>

/* Base64 without line breaks. */
int base64_encode(const void *data, size_t size, char **ret);
/* Accepts standard, padded base64 with embedded whitespace (console
 * transport folds lines). @len may be (size_t) -1 for strlen. */
int base64_decode(const char *s, size_t len, void **ret, size_t *ret_size);

/* Lower-case hex, as systemd writes tpm2-policy-hash. */
int hex_encode(const void *data, size_t size, char **ret);
/* Even number of hex digits, either case, no separators. */
int hex_decode(const char *s, size_t len, void **ret, size_t *ret_size);

/* Upper bound on anything we decode: no legitimate token, blob or evidence
 * field comes close, and it keeps a hostile input from costing memory. */
#define ENCODED_INPUT_MAX (16U * 1024U * 1024U)
