/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "macro.h"
#include "pcr-spec.h"

static const char *const pcr_names[] = {
        [0] = "platform-code",       [1] = "platform-config",     [2] = "external-code",
        [3] = "external-config",     [4] = "boot-loader-code",    [5] = "boot-loader-config",
        [7] = "secure-boot-policy",  [9] = "kernel-initrd",       [10] = "ima",
        [11] = "kernel-boot",        [12] = "kernel-config",      [13] = "sysexts",
        [14] = "shim-policy",        [15] = "system-identity",
};

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int pcr_index_from_word(const char *w, size_t n) {
        unsigned v = 0;

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(pcr_names); i++)
                if (pcr_names[i] && strlen(pcr_names[i]) == n && strncmp(pcr_names[i], w, n) == 0)
                        return (int) i;
        if (n > 2)
                return -ERANGE;
        for (size_t i = 0; i < n; i++) {
                if (w[i] < '0' || w[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (w[i] - '0');
        }
        if (n == 2 && w[0] == '0') /* no leading zeros: "07" is a typo, not 7 */
                return -EINVAL;
        if (v > PCR_INDEX_MAX)
                return -ERANGE;
        return (int) v;
}

int pcr_mask_from_string(const char *s, uint32_t *ret_mask) {
        uint32_t mask = 0;
        const char *p = s;

        if (!s || !ret_mask)
                return -EINVAL;
        while (*p) {
                size_t n = strcspn(p, "+,");
                int idx = pcr_index_from_word(p, n);
                if (idx < 0)
                        return idx;
                mask |= UINT32_C(1) << idx;
                p += n;
                if (*p) {
                        p++;
                        if (!*p) /* trailing separator */
                                return -EINVAL;
                }
        }
        *ret_mask = mask;
        return 0;
}

int pcr_mask_to_string(uint32_t mask, char **ret) {
        char buf[3 * (PCR_INDEX_MAX + 1) + 1] = "";
        size_t n = 0;

        if (!ret)
                return -EINVAL;
        for (unsigned i = 0; i <= PCR_INDEX_MAX; i++)
                if (mask & (UINT32_C(1) << i))
                        n += (size_t) snprintf(buf + n, sizeof buf - n, "%s%u", n > 0 ? "+" : "", i);
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

int pcr_mask_count(uint32_t mask) {
        return __builtin_popcount(mask);
}

int pcr_values_from_string(const char *s, uint32_t *ret_mask, uint8_t ret_values[][PCR_VALUE_SIZE]) {
        uint8_t values[PCR_INDEX_MAX + 1][PCR_VALUE_SIZE];
        uint32_t mask = 0;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;
        while (*p) {
                size_t item = strcspn(p, ","), k = strcspn(p, "=");
                const char *hex;
                size_t hex_len;
                int idx;

                if (k >= item)
                        return -EINVAL;
                idx = pcr_index_from_word(p, k);
                if (idx < 0 || (mask & (UINT32_C(1) << idx)))
                        return -EINVAL;
                hex = p + k + 1;
                hex_len = item - k - 1;
                if (hex_len >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
                        hex += 2, hex_len -= 2;
                if (hex_len != 2 * PCR_VALUE_SIZE)
                        return -EINVAL;
                for (size_t i = 0; i < PCR_VALUE_SIZE; i++) {
                        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        values[idx][i] = (uint8_t) (hi << 4 | lo);
                }
                mask |= UINT32_C(1) << idx;
                p += item;
                if (*p == ',' && *++p == 0)
                        return -EINVAL; /* trailing comma */
        }
        *ret_mask = mask;
        memcpy(ret_values, values, sizeof values);
        return 0;
}
