/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What cvm-verify-host reads: host names, offered keys, expected PCRs,
 * trust anchors, and the evidence from a file or a console log. */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <tss2/tss2_mu.h>

#include "console-frame.h"
#include "encode-util.h"
#include "file-util.h"
#include "json-util.h"
#include "log.h"
#include "pcr-values.h"
#include "quote-verify.h"
#include "verify-host.h"
#include "x509-util.h"

#define TRUST_FILE_MAX (256U * 1024U)
#define KEY_FILE_MAX (1024U * 1024U)

/* ---- HOST[:PORT] ---- */

void host_spec_done(HostSpec *h) {
        free(h->host);
        *h = (HostSpec) {};
}

static int port_parse(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || v == 0 || v > 65535)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

int host_spec_parse(const char *s, HostSpec *ret) {
        const char *colon;
        size_t n;
        unsigned port = 22;
        char *host;

        if (!s || !*s || strlen(s) > 255)
                return -EINVAL;
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || close == s + 1)
                        return -EINVAL;
                if (close[1] == ':') {
                        if (port_parse(close + 2, &port) < 0)
                                return -EINVAL;
                } else if (close[1])
                        return -EINVAL;
                host = strndup(s + 1, (size_t) (close - s - 1));
        } else {
                colon = strchr(s, ':');
                if (colon && strchr(colon + 1, ':'))
                        colon = NULL; /* a bare IPv6 address */
                n = colon ? (size_t) (colon - s) : strlen(s);
                if (n == 0 || (colon && port_parse(colon + 1, &port) < 0))
                        return -EINVAL;
                host = strndup(s, n);
        }
        if (!host)
                return -ENOMEM;
        /* It becomes an argument of ssh: no option look-alikes, no spaces. */
        for (const char *p = host; *p; p++)
                if (!isgraph((unsigned char) *p) || strchr(",#*?!\"'\\", *p)) {
                        free(host);
                        return -EINVAL;
                }
        if (host[0] == '-') {
                free(host);
                return -EINVAL;
        }
        *ret = (HostSpec) { .host = host, .port = port };
        return 0;
}

int host_spec_known_hosts_name(const HostSpec *h, char **ret) {
        int k = h->port == 22 ? asprintf(ret, "%s", h->host) : asprintf(ret, "[%s]:%u", h->host, h->port);
        return k < 0 ? -ENOMEM : 0;
}

/* ---- offered keys ---- */

static bool key_known(const HostKey *keys, size_t n, const HostKey *k) {
        for (size_t i = 0; i < n; i++)
                if (keys[i].blob_size == k->blob_size && memcmp(keys[i].blob, k->blob, k->blob_size) == 0)
                        return true;
        return false;
}

int offered_keys_parse(const char *text, HostKey **ret, size_t *ret_n) {
        _cleanup_free_ char *copy = strdup(text);
        HostKey *keys = NULL;
        size_t n = 0;
        char *line, *save = NULL;
        int r = 0;

        if (!copy)
                return -ENOMEM;
        for (line = strtok_r(copy, "\n", &save); line && r >= 0; line = strtok_r(NULL, "\n", &save)) {
                HostKey k = {};
                const char *p = line + strspn(line, " \t\r");

                if (!*p || *p == '#')
                        continue;
                if (*p == '@') { /* @cert-authority, @revoked: not a plain host key */
                        r = -EBADMSG;
                        break;
                }
                /* ".pub" lines start with the key type, ssh-keyscan and
                 * known_hosts lines with the host name(s). */
                if (hostkey_parse_line(p, &k) < 0) {
                        p += strcspn(p, " \t");
                        if (hostkey_parse_line(p, &k) < 0) {
                                r = -EBADMSG;
                                break;
                        }
                }
                if (key_known(keys, n, &k)) {
                        hostkey_done(&k);
                        continue;
                }
                if (n >= HOSTKEY_KEYS_MAX) {
                        hostkey_done(&k);
                        r = -E2BIG;
                        break;
                }
                HostKey *a = realloc(keys, (n + 1) * sizeof(HostKey));
                if (!a) {
                        hostkey_done(&k);
                        r = -ENOMEM;
                        break;
                }
                keys = a;
                keys[n++] = k;
        }
        if (r >= 0 && n == 0)
                r = -ENODATA;
        if (r < 0) {
                hostkeys_free(keys, n);
                return r;
        }
        *ret = keys;
        *ret_n = n;
        return 0;
}

/* ---- expected PCRs ---- */

int expected_pcrs_load(const char *spec, VerifyPolicy *p) {
        PcrValues v;
        int r;

        r = pcr_values_load(spec, &v);
        if (r < 0 && r != -EBADMSG && r != -ENODATA && !pcr_values_spec_is_inline(spec))
                return log_error_errno(r, "Failed to read --expect-pcrs file '%s': %m", spec);
        if (r < 0)
                return r;
        p->expect_pcr_mask = v.mask;
        memcpy(p->expect_pcrs, v.values, sizeof p->expect_pcrs);
        return 0;
}

/* ---- trust anchors ---- */

void trust_done(TrustAnchors *t) {
        EVP_PKEY_free(t->pkey);
        if (t->ca)
                sk_X509_pop_free(t->ca, X509_free);
        *t = (TrustAnchors) {};
}

/* A pinned AK: PEM public key, or a TPM public area as binary TPM2B_PUBLIC
 * / TPMT_PUBLIC (tpm2_readpublic -f tss, tpm2_createak -u) or as the
 * base64 text of an evidence's ak.public. */
static int ak_pub_parse(const char *text, size_t size, TrustAnchors *t) {
        _cleanup_free_ void *decoded = NULL;
        const uint8_t *b = (const uint8_t *) text;
        size_t n = size, off = 0, dsize = 0;
        TPM2B_PUBLIC pub;

        if (strstr(text, "-----BEGIN"))
                return pkey_from_pem(text, size, &t->pkey);
        if (base64_decode(text, size, &decoded, &dsize) >= 0 && dsize > 0)
                b = decoded, n = dsize;
        if (tpm2_public_parse(b, n, &pub) >= 0)
                t->public = pub.publicArea;
        else if (Tss2_MU_TPMT_PUBLIC_Unmarshal(b, n, &off, &t->public) != TSS2_RC_SUCCESS || off != n)
                return -EBADMSG;
        t->have_public = true;
        return 0;
}

/* Append "NAME SIZE\n" + @data + "\n" to the material. */
static int material_add(char **m, size_t *n, const char *name, const char *data, size_t size) {
        char head[64];
        int k = snprintf(head, sizeof head, "%s %zu\n", name, size);
        char *p = realloc(*m, *n + (size_t) k + size + 2);

        if (!p)
                return -ENOMEM;
        memcpy(p + *n, head, (size_t) k);
        memcpy(p + *n + k, data, size);
        p[*n + k + size] = '\n';
        *n += (size_t) k + size + 1;
        p[*n] = 0;
        *m = p;
        return 0;
}

int trust_load(const VerifyArgs *a, TrustAnchors *t, char **ret_material, size_t *ret_size) {
        _cleanup_free_ char *m = NULL;
        size_t n = 0;
        int r = 0;

        if (a->ak_pub) {
                _cleanup_free_ char *text = NULL;
                size_t size = 0;

                r = read_full_file(a->ak_pub, TRUST_FILE_MAX, &text, &size);
                if (r < 0)
                        return log_error_errno(r, "Failed to read --ak-pub file '%s': %m", a->ak_pub);
                if (t && ak_pub_parse(text, size, t) < 0)
                        return log_error_errno(SYNTHETIC_ERRNO(EBADMSG),
                                               "--ak-pub file '%s' is neither a PEM public key nor a TPM public key.",
                                               a->ak_pub);
                if (material_add(&m, &n, "ak-pub", text, size) < 0)
                        return log_oom();
        }
        if (a->ca) {
                _cleanup_free_ char *text = NULL;
                size_t size = 0;

                r = read_full_file(a->ca, TRUST_FILE_MAX, &text, &size);
                if (r < 0)
                        return log_error_errno(r, "Failed to read --ca file '%s': %m", a->ca);
                if (t && x509_chain_from_pem(text, size, &t->ca) < 0)
                        return log_error_errno(SYNTHETIC_ERRNO(EBADMSG),
                                               "--ca file '%s' is not a list of PEM certificates (at most %u).", a->ca,
                                               X509_CHAIN_MAX);
                if (material_add(&m, &n, "ca", text, size) < 0)
                        return log_oom();
        }
        if (a->expect_pcrs) {
                _cleanup_free_ char *text = NULL;
                size_t size = 0;

                if (pcr_values_spec_is_inline(a->expect_pcrs))
                        r = material_add(&m, &n, "expect-pcrs", a->expect_pcrs, strlen(a->expect_pcrs));
                else {
                        r = read_full_file(a->expect_pcrs, PCR_FILE_MAX, &text, &size);
                        if (r < 0)
                                return log_error_errno(r, "Failed to read --expect-pcrs file '%s': %m",
                                                       a->expect_pcrs);
                        r = material_add(&m, &n, "expect-pcrs-file", text, size);
                }
                if (r < 0)
                        return log_oom();
        }
        if (ret_material) {
                *ret_material = m ? TAKE_PTR(m) : strdup("");
                *ret_size = n;
                if (!*ret_material)
                        return log_oom();
        }
        return 0;
}

/* ---- evidence ---- */

int evidence_text_load(const VerifyArgs *a, char **ret, size_t *ret_size, char **ret_source) {
        _cleanup_free_ char *text = NULL, *json = NULL;
        size_t size = 0, json_size = 0, line = 0;
        const char *path = a->evidence ?: a->console_log;
        int r;

        r = read_full_file(path, a->evidence ? EVIDENCE_SIZE_MAX : CONSOLE_LOG_MAX, &text, &size);
        if (r == -EFBIG)
                return r; /* the caller reports it as bad evidence */
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s': %m", path);

        if (a->evidence) {
                if (asprintf(ret_source, "%s", path) < 0)
                        return log_oom();
                *ret = TAKE_PTR(text);
                *ret_size = size;
                return 0;
        }
        r = console_frame_find(text, size, &json, &json_size, &line);
        if (r < 0)
                return r;
        if (asprintf(ret_source, "%s, block at line %zu", path, line) < 0)
                return log_oom();
        *ret = TAKE_PTR(json);
        *ret_size = json_size;
        return 0;
}

/* ---- formatting ---- */

int hostkey_format(const HostKey *k, char **ret) {
        _cleanup_free_ char *b64 = NULL;
        int r;

        r = base64_encode(k->blob, k->blob_size, &b64);
        if (r < 0)
                return r;
        return asprintf(ret, "%s %s", k->type, b64) < 0 ? -ENOMEM : 0;
}

int hostkey_fingerprint(const HostKey *k, char **ret) {
        uint8_t d[32];
        unsigned len = 0;
        _cleanup_free_ char *b64 = NULL;
        int r;

        if (EVP_Digest(k->blob, k->blob_size, d, &len, EVP_sha256(), NULL) != 1)
                return -EIO;
        r = base64_encode(d, sizeof d, &b64);
        if (r < 0)
                return r;
        b64[strcspn(b64, "=")] = 0; /* as ssh-keygen -l prints it */
        return asprintf(ret, "SHA256:%s", b64) < 0 ? -ENOMEM : 0;
}
