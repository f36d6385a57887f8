/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SSH host public key lines (lib/hostkey-binding.h) and the binding digest
 * over them. On the verifier side these lines come from ssh-keyscan or the
 * evidence, i.e. from the host being checked.
 *
 * Input: text lines. A line "nonce HEX" sets the nonce; every other line
 * goes to hostkey_parse_line(). The keys it accepts (at most
 * HOSTKEY_KEYS_MAX) are bound with hostkey_binding_digest(). Properties:
 * an accepted blob is a well-formed sequence of SSH strings whose first is
 * the key type; the digest does not depend on the order of the keys
 * (DESIGN.md sorts them by blob bytes). */
#include <string.h>

#include "encode-util.h"
#include "fuzz.h"
#include "hostkey-binding.h"

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void check_blob(const HostKey *k) {
        size_t off = 0;

        FUZZ_CHECK(k->type && k->blob && k->blob_size >= 4);
        FUZZ_CHECK(be32(k->blob) == strlen(k->type));
        FUZZ_CHECK(k->blob_size - 4 >= strlen(k->type));
        FUZZ_CHECK(memcmp(k->blob + 4, k->type, strlen(k->type)) == 0);
        while (off < k->blob_size) {
                FUZZ_CHECK(k->blob_size - off >= 4);
                FUZZ_CHECK(be32(k->blob + off) <= k->blob_size - off - 4);
                off += 4 + be32(k->blob + off);
        }
        FUZZ_CHECK(off == k->blob_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ void *nonce = NULL;
        HostKey keys[HOSTKEY_KEYS_MAX] = {}, reversed[HOSTKEY_KEYS_MAX];
        uint8_t d1[32], d2[32];
        size_t n_keys = 0, nonce_size = 0;
        char *line, *save = NULL;
        int r;

        text = fuzz_strndup(data, size);
        if (!text)
                return 0;

        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (strncmp(line, "nonce ", 6) == 0) {
                        void *n = NULL;
                        size_t ns = 0;
                        if (hex_decode(line + 6, (size_t) -1, &n, &ns) >= 0) {
                                free(nonce);
                                nonce = n;
                                nonce_size = ns;
                        }
                        continue;
                }
                if (n_keys >= HOSTKEY_KEYS_MAX)
                        continue;
                r = hostkey_parse_line(line, &keys[n_keys]);
                if (r < 0)
                        continue;
                check_blob(&keys[n_keys]);
                n_keys++;
        }

        r = hostkey_binding_digest(keys, n_keys, nonce, nonce_size, d1);
        if (nonce_size > HOSTKEY_NONCE_MAX)
                FUZZ_CHECK(r == -EINVAL);
        else {
                FUZZ_CHECK(r >= 0);
                for (size_t i = 0; i < n_keys; i++)
                        reversed[i] = keys[n_keys - 1 - i];
                FUZZ_CHECK(hostkey_binding_digest(reversed, n_keys, nonce, nonce_size, d2) >= 0);
                FUZZ_CHECK(memcmp(d1, d2, sizeof d1) == 0);
        }

        for (size_t i = 0; i < n_keys; i++)
                hostkey_done(&keys[i]);
        return 0;
}
