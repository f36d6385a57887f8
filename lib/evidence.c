/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>

#include "encode-util.h"
#include "evidence.h"
#include "json-util.h"

void evidence_done(Evidence *e) {
        if (!e)
                return;
        hostkeys_free(e->host_keys, e->n_host_keys);
        free(e->attest);
        free(e->signature);
        free(e->ak_public);
        free(e->ak_certificate);
        free(e->ak_source);
        free(e->ek_certificate);
        free(e->boot_id);
        free(e->created);
        *e = (Evidence) {};
}

/* ---- writing ---- */

static int add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_string(json_object *o, const char *key, const char *s) {
        return add(o, key, json_object_new_string(s));
}

static int add_base64(json_object *o, const char *key, const void *data, size_t size) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = base64_encode(data, size, &s);
        if (r < 0)
                return r;
        return add_string(o, key, s);
}

static int add_hex(json_object *o, const char *key, const void *data, size_t size) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = hex_encode(data, size, &s);
        if (r < 0)
                return r;
        return add_string(o, key, s);
}

static int host_keys_to_json(const Evidence *e, json_object **ret) {
        _cleanup_(json_object_putp) json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < e->n_host_keys; i++) {
                _cleanup_free_ char *b64 = NULL, *line = NULL;
                int r;

                r = base64_encode(e->host_keys[i].blob, e->host_keys[i].blob_size, &b64);
                if (r < 0)
                        return r;
                if (asprintf(&line, "%s %s", e->host_keys[i].type, b64) < 0)
                        return -ENOMEM;
                if (json_object_array_add(a, json_object_new_string(line)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

static int pcrs_to_json(const Evidence *e, json_object **ret) {
        _cleanup_(json_object_putp) json_object *pcrs = json_object_new_object(), *bank = json_object_new_object();
        int r;

        if (!pcrs || !bank)
                return -ENOMEM;
        for (unsigned i = 0; i <= PCR_INDEX_MAX; i++) {
                char key[4];

                if (!(e->pcr_mask & (UINT32_C(1) << i)))
                        continue;
                (void) snprintf(key, sizeof key, "%u", i);
                r = add_hex(bank, key, e->pcr_values[i], EVIDENCE_PCR_SIZE);
                if (r < 0)
                        return r;
        }
        r = add(pcrs, "sha256", TAKE_PTR(bank));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(pcrs);
        return 0;
}

int evidence_to_json(const Evidence *e, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *quote = json_object_new_object(),
                                                *ak = json_object_new_object(), *ek = NULL, *keys = NULL,
                                                *pcrs = NULL;
        int r;

        assert(e);
        assert(ret);
        if (!o || !quote || !ak)
                return -ENOMEM;

        r = host_keys_to_json(e, &keys);
        if (r < 0)
                return r;
        r = pcrs_to_json(e, &pcrs);
        if (r < 0)
                return r;
        r = add_base64(quote, "attest", e->attest, e->attest_size);
        if (r >= 0)
                r = add_base64(quote, "signature", e->signature, e->signature_size);
        if (r >= 0)
                r = add_base64(ak, "public", e->ak_public, e->ak_public_size);
        if (r >= 0 && e->ak_source)
                r = add_string(ak, "source", e->ak_source);
        if (r >= 0 && e->ak_certificate)
                r = add_string(ak, "certificate", e->ak_certificate);
        if (r >= 0 && e->ek_certificate) {
                ek = json_object_new_object();
                r = ek ? add_string(ek, "certificate", e->ek_certificate) : -ENOMEM;
        }
        if (r < 0)
                return r;

        /* Field order is the order of docs/EVIDENCE.md (json-c keeps it). */
        r = add(o, "version", json_object_new_int(EVIDENCE_VERSION));
        if (r >= 0)
                r = add(o, "host_keys", TAKE_PTR(keys));
        if (r >= 0)
                r = add_hex(o, "nonce", e->nonce, e->nonce_size);
        if (r >= 0)
                r = add(o, "quote", TAKE_PTR(quote));
        if (r >= 0)
                r = add(o, "pcrs", TAKE_PTR(pcrs));
        if (r >= 0)
                r = add(o, "ak", TAKE_PTR(ak));
        if (r >= 0 && ek)
                r = add(o, "ek", TAKE_PTR(ek));
        if (r >= 0 && e->boot_id)
                r = add_string(o, "boot_id", e->boot_id);
        if (r >= 0 && e->created)
                r = add_string(o, "created", e->created);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

/* ---- reading ---- */

typedef struct ParseState {
        const char *field;
} ParseState;

static int fail(ParseState *s, const char *field, int r) {
        s->field = field;
        return r;
}

static int get_object(ParseState *s, json_object *o, const char *key, const char *field, bool required,
                      json_object **ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v)) {
                *ret = NULL;
                return required ? fail(s, field, -ENOENT) : 0;
        }
        if (!json_object_is_type(v, json_type_object))
                return fail(s, field, -EBADMSG);
        *ret = v;
        return 1;
}

static int get_blob(ParseState *s, json_object *o, const char *key, const char *field, size_t max,
                    uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ void *data = NULL;
        size_t size = 0;
        int r;

        r = json_get_base64(o, key, &data, &size);
        if (r < 0)
                return fail(s, field, r == -E2BIG ? -E2BIG : r == -ENOENT ? -ENOENT : -EBADMSG);
        if (size == 0)
                return fail(s, field, -EBADMSG);
        if (size > max)
                return fail(s, field, -E2BIG);
        *ret = TAKE_PTR(data);
        *ret_size = size;
        return 0;
}

/* Printable ASCII only: these strings end up on the user's terminal. */
static bool text_ok(const char *t, size_t n, bool allow_newlines) {
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) t[i];
                if (!((c >= 0x20 && c < 0x7f) || (allow_newlines && (c == '\n' || c == '\r'))))
                        return false;
        }
        return true;
}

static int get_text(ParseState *s, json_object *o, const char *key, const char *field, size_t max, bool required,
                    bool multiline, char **ret) {
        json_object *v;
        const char *t;
        size_t n;
        char *copy;

        if (!json_object_object_get_ex(o, key, &v)) {
                *ret = NULL;
                return required ? fail(s, field, -ENOENT) : 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return fail(s, field, -EBADMSG);
        t = json_object_get_string(v);
        n = (size_t) json_object_get_string_len(v);
        if (n > max)
                return fail(s, field, -E2BIG);
        if (n == 0 || strlen(t) != n || !text_ok(t, n, multiline))
                return fail(s, field, -EBADMSG);
        copy = strndup(t, n);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

static int parse_host_keys(ParseState *s, json_object *root, Evidence *e) {
        json_object *a;
        size_t n;
        int r;

        r = json_get_array(root, "host_keys", &a);
        if (r < 0)
                return fail(s, "host_keys", r);
        n = json_object_array_length(a);
        if (n == 0)
                return fail(s, "host_keys", -EBADMSG);
        if (n > HOSTKEY_KEYS_MAX)
                return fail(s, "host_keys", -E2BIG);
        e->host_keys = calloc(n, sizeof(HostKey));
        if (!e->host_keys)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(a, i);
                const char *line;
                size_t len;

                if (!json_object_is_type(v, json_type_string))
                        return fail(s, "host_keys", -EBADMSG);
                line = json_object_get_string(v);
                len = (size_t) json_object_get_string_len(v);
                /* Exactly "TYPE BASE64": no comment, no stray whitespace,
                 * so the list reads back as it was written. */
                if (strlen(line) != len || strchr(line, '\t') || strchr(line, '\n') || strchr(line, '\r') ||
                    strchr(line, ' ') != strrchr(line, ' ') || line[0] == ' ' || len == 0 || line[len - 1] == ' ')
                        return fail(s, "host_keys", -EBADMSG);
                r = hostkey_parse_line(line, &e->host_keys[i]);
                if (r < 0)
                        return fail(s, "host_keys", r == -ENOMEM ? r : -EBADMSG);
                e->n_host_keys++;
                for (size_t j = 0; j < i; j++)
                        if (e->host_keys[j].blob_size == e->host_keys[i].blob_size &&
                            memcmp(e->host_keys[j].blob, e->host_keys[i].blob, e->host_keys[i].blob_size) == 0)
                                return fail(s, "host_keys", -ENOTUNIQ);
        }
        return 0;
}

static int pcr_index_parse(const char *k, unsigned *ret) {
        size_t n = strlen(k);
        unsigned v = 0;

        /* Decimal, no sign, no leading zero: one spelling per PCR. */
        if (n == 0 || n > 2 || (n == 2 && k[0] == '0'))
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                if (k[i] < '0' || k[i] > '9')
                        return -EBADMSG;
                v = v * 10 + (unsigned) (k[i] - '0');
        }
        if (v > PCR_INDEX_MAX)
                return -ERANGE;
        *ret = v;
        return 0;
}

static int parse_pcrs(ParseState *s, json_object *root, Evidence *e) {
        json_object *pcrs, *bank;
        int r;

        r = get_object(s, root, "pcrs", "pcrs", true, &pcrs);
        if (r < 0)
                return r;
        /* Only the sha256 bank is defined in version 1. */
        if (json_object_object_length(pcrs) != 1)
                return fail(s, "pcrs", -EBADMSG);
        r = get_object(s, pcrs, "sha256", "pcrs.sha256", true, &bank);
        if (r < 0)
                return r;
        if (json_object_object_length(bank) == 0)
                return fail(s, "pcrs.sha256", -EBADMSG);

        json_object_object_foreach(bank, key, val) {
                _cleanup_free_ void *d = NULL;
                size_t n = 0;
                unsigned idx;

                if (pcr_index_parse(key, &idx) < 0 || (e->pcr_mask & (UINT32_C(1) << idx)))
                        return fail(s, "pcrs.sha256", -EBADMSG);
                if (!json_object_is_type(val, json_type_string) ||
                    hex_decode(json_object_get_string(val), (size_t) json_object_get_string_len(val), &d, &n) < 0 ||
                    n != EVIDENCE_PCR_SIZE)
                        return fail(s, "pcrs.sha256", -EBADMSG);
                memcpy(e->pcr_values[idx], d, EVIDENCE_PCR_SIZE);
                e->pcr_mask |= UINT32_C(1) << idx;
        }
        return 0;
}

static int parse_root(ParseState *s, json_object *root, Evidence *e) {
        _cleanup_free_ void *nonce = NULL;
        json_object *quote, *ak, *ek;
        size_t nonce_size = 0;
        int64_t version;
        int r;

        r = json_get_int(root, "version", 0, INT32_MAX, &version);
        if (r < 0)
                return fail(s, "version", r == -ERANGE ? -EBADMSG : r);
        if (version != EVIDENCE_VERSION)
                return fail(s, "version", -EPROTONOSUPPORT);

        r = parse_host_keys(s, root, e);
        if (r < 0)
                return r;

        r = json_get_hex(root, "nonce", &nonce, &nonce_size);
        if (r < 0)
                return fail(s, "nonce", r == -ENOENT ? r : -EBADMSG);
        if (nonce_size > HOSTKEY_NONCE_MAX)
                return fail(s, "nonce", -E2BIG);
        if (nonce_size > 0)
                memcpy(e->nonce, nonce, nonce_size);
        e->nonce_size = nonce_size;

        r = get_object(s, root, "quote", "quote", true, &quote);
        if (r < 0)
                return r;
        r = get_blob(s, quote, "attest", "quote.attest", EVIDENCE_BLOB_MAX, &e->attest, &e->attest_size);
        if (r < 0)
                return r;
        r = get_blob(s, quote, "signature", "quote.signature", EVIDENCE_BLOB_MAX, &e->signature,
                     &e->signature_size);
        if (r < 0)
                return r;

        r = parse_pcrs(s, root, e);
        if (r < 0)
                return r;

        r = get_object(s, root, "ak", "ak", true, &ak);
        if (r < 0)
                return r;
        r = get_blob(s, ak, "public", "ak.public", EVIDENCE_BLOB_MAX, &e->ak_public, &e->ak_public_size);
        if (r < 0)
                return r;
        r = get_text(s, ak, "source", "ak.source", EVIDENCE_TEXT_MAX, false, false, &e->ak_source);
        if (r < 0)
                return r;
        r = get_text(s, ak, "certificate", "ak.certificate", EVIDENCE_CERT_MAX, false, true, &e->ak_certificate);
        if (r < 0)
                return r;

        r = get_object(s, root, "ek", "ek", false, &ek);
        if (r < 0)
                return r;
        if (ek) {
                r = get_text(s, ek, "certificate", "ek.certificate", EVIDENCE_CERT_MAX, false, true,
                             &e->ek_certificate);
                if (r < 0)
                        return r;
        }

        r = get_text(s, root, "boot_id", "boot_id", EVIDENCE_TEXT_MAX, true, false, &e->boot_id);
        if (r < 0)
                return r;
        return get_text(s, root, "created", "created", EVIDENCE_TEXT_MAX, true, false, &e->created);
}

int evidence_parse(const char *text, size_t size, Evidence *ret, const char **ret_field) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        ParseState s = { .field = "" };
        Evidence e = {};
        int r;

        if (!text || !ret)
                return -EINVAL;
        if (size > EVIDENCE_SIZE_MAX)
                r = -E2BIG;
        else {
                r = json_parse_object(text, size, &root);
                if (r >= 0)
                        r = parse_root(&s, root, &e);
        }
        if (r < 0) {
                evidence_done(&e);
                if (ret_field)
                        *ret_field = s.field;
                return r;
        }
        *ret = e;
        return 0;
}
