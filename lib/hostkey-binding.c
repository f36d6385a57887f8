/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/evp.h>

#include "encode-util.h"
#include "hostkey-binding.h"
#include "macro.h"

void hostkey_done(HostKey *k) {
        if (!k)
                return;
        free(k->type);
        free(k->blob);
        *k = (HostKey) {};
}

void hostkeys_free(HostKey *keys, size_t n) {
        for (size_t i = 0; keys && i < n; i++)
                hostkey_done(&keys[i]);
        free(keys);
}

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* The blob must be a sequence of SSH strings (uint32 length + bytes) that
 * exactly fills it, the first of which is the key type. */
static int blob_check(const uint8_t *b, size_t n, const char *type) {
        size_t off = 0, tl = strlen(type);
        bool first = true;

        if (n == 0)
                return -EBADMSG;
        while (off < n) {
                uint32_t len;
                if (n - off < 4)
                        return -EBADMSG;
                len = be32(b + off);
                off += 4;
                if (len > n - off)
                        return -EBADMSG;
                if (first && (len != tl || memcmp(b + off, type, tl) != 0))
                        return -EBADMSG;
                first = false;
                off += len;
        }
        return 0;
}

int hostkey_parse_line(const char *line, HostKey *ret) {
        _cleanup_free_ char *type = NULL;
        _cleanup_free_ void *blob = NULL;
        size_t tl, bl, blob_size;
        const char *p = line;
        int r;

        if (!line || !ret)
                return -EINVAL;
        p += strspn(p, " \t");
        tl = strcspn(p, " \t\r\n");
        if (tl == 0 || tl > 64)
                return -EBADMSG;
        for (size_t i = 0; i < tl; i++)
                if (!(p[i] >= 'a' && p[i] <= 'z') && !(p[i] >= '0' && p[i] <= '9') && !strchr("-@.", p[i]))
                        return -EBADMSG;
        type = strndup(p, tl);
        if (!type)
                return -ENOMEM;
        p += tl;
        p += strspn(p, " \t");
        bl = strcspn(p, " \t\r\n");
        if (bl == 0 || bl > HOSTKEY_BLOB_MAX * 4 / 3 + 4)
                return -EBADMSG;
        r = base64_decode(p, bl, &blob, &blob_size);
        if (r < 0)
                return r;
        r = blob_check(blob, blob_size, type);
        if (r < 0)
                return r;

        *ret = (HostKey) { .type = TAKE_PTR(type), .blob = TAKE_PTR(blob), .blob_size = blob_size };
        return 0;
}

static int blob_compare(const void *a, const void *b) {
        const HostKey *x = *(const HostKey *const *) a, *y = *(const HostKey *const *) b;
        int c = memcmp(x->blob, y->blob, MIN(x->blob_size, y->blob_size));

        if (c != 0)
                return c;
        return x->blob_size < y->blob_size ? -1 : x->blob_size > y->blob_size;
}

int hostkey_binding_digest(const HostKey *keys, size_t n_keys, const uint8_t *nonce, size_t nonce_size,
                           uint8_t ret[32]) {
        _cleanup_free_ const HostKey **sorted = NULL;
        EVP_MD_CTX *md;
        unsigned len = 0;
        int ok;

        if ((!keys && n_keys > 0) || n_keys > HOSTKEY_KEYS_MAX || nonce_size > HOSTKEY_NONCE_MAX ||
            (!nonce && nonce_size > 0))
                return -EINVAL;
        sorted = calloc(n_keys + 1, sizeof(*sorted));
        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < n_keys; i++)
                sorted[i] = &keys[i];
        qsort(sorted, n_keys, sizeof(*sorted), blob_compare);

        md = EVP_MD_CTX_new();
        if (!md)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(md, HOSTKEY_BINDING_MAGIC, sizeof(HOSTKEY_BINDING_MAGIC)) && /* incl. the 0x00 */
             (nonce_size == 0 || EVP_DigestUpdate(md, nonce, nonce_size));
        for (size_t i = 0; ok && i < n_keys; i++) {
                uint8_t l[4] = { (uint8_t) (sorted[i]->blob_size >> 24), (uint8_t) (sorted[i]->blob_size >> 16),
                                 (uint8_t) (sorted[i]->blob_size >> 8), (uint8_t) sorted[i]->blob_size };
                ok = EVP_DigestUpdate(md, l, sizeof l) &&
                     EVP_DigestUpdate(md, sorted[i]->blob, sorted[i]->blob_size);
        }
        ok = ok && EVP_DigestFinal_ex(md, ret, &len) && len == 32;
        EVP_MD_CTX_free(md);
        return ok ? 0 : -EIO;
}
