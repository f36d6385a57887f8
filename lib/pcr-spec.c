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
