/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <string.h>

#include "encode-util.h"
#include "file-util.h"
#include "json-util.h"
#include "log.h"
#include "pcr-values.h"

static int pcr_value_parse(const char *s, size_t n, uint8_t ret[PCR_VALUE_SIZE]) {
        _cleanup_free_ void *d = NULL;
        size_t size = 0;

        if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2, n -= 2;
        if (hex_decode(s, n, &d, &size) < 0 || size != PCR_VALUE_SIZE)
                return -EBADMSG;
        memcpy(ret, d, PCR_VALUE_SIZE);
        return 0;
}

static int pcr_set(PcrValues *p, const char *idx, size_t idx_len, const char *val, size_t val_len) {
        unsigned v = 0;

        if (idx_len == 0 || idx_len > 2 || (idx_len == 2 && idx[0] == '0'))
                return -EBADMSG;
        for (size_t i = 0; i < idx_len; i++) {
                if (!isdigit((unsigned char) idx[i]))
                        return -EBADMSG;
                v = v * 10 + (unsigned) (idx[i] - '0');
        }
        if (v > PCR_INDEX_MAX || (p->mask & (UINT32_C(1) << v)))
                return -EBADMSG;
        if (pcr_value_parse(val, val_len, p->values[v]) < 0)
                return -EBADMSG;
        p->mask |= UINT32_C(1) << v;
        return 0;
}

static int pcrs_from_text(const char *text, PcrValues *p) {
        _cleanup_free_ char *copy = strdup(text);
        char *line, *save = NULL;
        int r;

        if (!copy)
                return -ENOMEM;
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char squeezed[512], *item, *save2 = NULL;
                size_t n = 0;

                line[strcspn(line, "#")] = 0;
                for (char *c = line; *c && n + 1 < sizeof squeezed; c++)
                        if (!isspace((unsigned char) *c))
                                squeezed[n++] = *c;
                squeezed[n] = 0;
                if (n == 0 || streq(squeezed, "sha256:"))
                        continue;
                if (n + 1 >= sizeof squeezed)
                        return -EBADMSG;
                for (item = strtok_r(squeezed, ",", &save2); item; item = strtok_r(NULL, ",", &save2)) {
                        size_t k = strcspn(item, "=:");
                        if (!item[k])
                                return -EBADMSG;
                        r = pcr_set(p, item, k, item + k + 1, strlen(item + k + 1));
                        if (r < 0)
                                return r;
                }
        }
        return p->mask ? 0 : -ENODATA;
}

static int pcrs_from_json(const char *text, size_t size, PcrValues *p) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *pcrs, *bank;
        int r;

        r = json_parse_object(text, size, &o);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(o, "pcrs", &pcrs))
                pcrs = o;
        if (!json_object_is_type(pcrs, json_type_object) || !json_object_object_get_ex(pcrs, "sha256", &bank) ||
            !json_object_is_type(bank, json_type_object))
                return -EBADMSG;
        json_object_object_foreach(bank, key, val) {
                if (!json_object_is_type(val, json_type_string))
                        return -EBADMSG;
                r = pcr_set(p, key, strlen(key), json_object_get_string(val),
                            (size_t) json_object_get_string_len(val));
                if (r < 0)
                        return r;
        }
        return p->mask ? 0 : -ENODATA;
}

bool pcr_values_spec_is_inline(const char *spec) {
        return isdigit((unsigned char) spec[0]) && spec[strspn(spec, "0123456789")] == '=';
}

int pcr_values_parse(const char *text, size_t size, PcrValues *ret) {
        PcrValues p = {};
        int r;

        if (memchr(text, 0, size))
                return -EBADMSG;
        if (text[strspn(text, " \t\r\n")] == '{')
                r = pcrs_from_json(text, size, &p);
        else
                r = pcrs_from_text(text, &p);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

int pcr_values_load(const char *spec, PcrValues *ret) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        if (pcr_values_spec_is_inline(spec))
                return pcr_values_parse(spec, strlen(spec), ret);
        r = read_full_file(spec, PCR_FILE_MAX, &text, &size);
        if (r < 0)
                return r;
        return pcr_values_parse(text, size, ret);
}

int pcr_values_select(const PcrValues *v, uint32_t mask, uint8_t ret[][PCR_VALUE_SIZE]) {
        size_t n = 0;

        if ((mask & v->mask) != mask)
                return -ENOENT;
        for (unsigned i = 0; i <= PCR_INDEX_MAX; i++)
                if (mask & (UINT32_C(1) << i))
                        memcpy(ret[n++], v->values[i], PCR_VALUE_SIZE);
        return 0;
}
