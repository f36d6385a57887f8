/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "unit-name.h"

static bool unit_char_is_plain(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c != 0 && strchr(":_.", c));
}

int unit_name_from_path(const char *path, const char *suffix, char **ret) {
        _cleanup_free_ char *name = NULL;
        char *t;

        if (!path || path[0] != '/')
                return -EINVAL;
        /* Each byte becomes at most 4 ("\xNN"); "-" for "/"; the NUL. */
        name = malloc(strlen(path) * 4 + strlen(suffix) + 2);
        if (!name)
                return -ENOMEM;
        t = name;
        /* Component by component: "//" and "/./" are the same path to
         * systemd (it simplifies the path first), ".." is refused. */
        for (const char *p = path; *p;) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return -EINVAL;
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (t != name)
                                *t++ = '-';
                        for (size_t i = 0; i < n; i++)
                                /* A unit name never starts with "." (a hidden file). */
                                if (!unit_char_is_plain(p[i]) || (t == name && p[i] == '.'))
                                        t += sprintf(t, "\\x%02x", (unsigned char) p[i]);
                                else
                                        *t++ = p[i];
                }
                p += n;
        }
        if (t == name)
                *t++ = '-'; /* the root directory */
        strcpy(t, suffix);
        /* PID 1 gives a longer name a hash in place of its tail (systemd's
         * unit_name_hash_long()), which systemd-escape does not print: no
         * name we could write would be the unit's. */
        if (strlen(name) >= UNIT_NAME_MAX)
                return -ENAMETOOLONG;
        *ret = TAKE_PTR(name);
        return 0;
}
