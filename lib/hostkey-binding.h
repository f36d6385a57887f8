/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The SSH host-key binding of DESIGN.md, version 1: the TPM2_Quote
 * qualifyingData that ties a quote to a set of SSH host keys:
 *
 *   SHA-256("CVM-SSH-HOSTKEY-BINDING-V1" ‖ 0x00 ‖ nonce ‖ K1 ‖ K2 …)
 *   Ki = uint32_be(len(blob)) ‖ blob, sorted by blob bytes (memcmp order,
 *   shorter first on a common prefix). */

#include <stddef.h>
#include <stdint.h>

#define HOSTKEY_BINDING_MAGIC "CVM-SSH-HOSTKEY-BINDING-V1"
#define HOSTKEY_NONCE_MAX 32U
#define HOSTKEY_BLOB_MAX 16384U /* an RSA-16384 key is ~2 KiB; far above any real key */
#define HOSTKEY_KEYS_MAX 64U

typedef struct HostKey {
        char *type;     /* "ssh-ed25519" … */
        uint8_t *blob;  /* SSH wire-format public key */
        size_t blob_size;
} HostKey;

void hostkey_done(HostKey *k);
void hostkeys_free(HostKey *keys, size_t n);

/* Parse one line in .pub / known_hosts-value format: "TYPE BASE64 [comment]".
 * The blob must start with the SSH string TYPE (so a key can't be relabelled)
 * and be internally well-formed as a sequence of SSH strings. */
int hostkey_parse_line(const char *line, HostKey *ret);

int hostkey_binding_digest(const HostKey *keys, size_t n_keys, const uint8_t *nonce, size_t nonce_size,
                           uint8_t ret[32]);
