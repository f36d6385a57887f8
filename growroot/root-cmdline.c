/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file-util.h"
#include "log.h"
#include "root-cmdline.h"

/* The kernel accepts up to 2048 bytes on x86 (COMMAND_LINE_SIZE), some
 * architectures more: room for all of them. */
#define CMDLINE_MAX 65536

int proc_cmdline_read(char **ret) {
        const char *e = getenv("CVM_PROC_CMDLINE");
        size_t size;
        int r;

        if (e) {
                *ret = strdup(e);
                return *ret ? 0 : -ENOMEM;
        }
        r = read_full_file("/proc/cmdline", CMDLINE_MAX, ret, &size);
        if (r < 0)
                return log_debug_errno(r, "Cannot read /proc/cmdline: %m");
        return 0;
}

#define WHITESPACE " \t\n"

/* Calls @fn for each word until it returns non-zero. Kernel syntax: words
 * separated by white space, which double quotes protect (root="LABEL=a b"
 * or root=LABEL="a b"); the quotes are not part of the value, for the
 * kernel and for systemd alike. */
static int cmdline_foreach(const char *cmdline, int (*fn)(const char *w, size_t n, void *u), void *userdata) {
        _cleanup_free_ char *word = malloc(strlen(cmdline) + 1);

        if (!word)
                return -ENOMEM;
        for (const char *p = cmdline; *p;) {
                bool quoted = false;
                size_t n = 0;
                int r;

                p += strspn(p, WHITESPACE);
                for (; *p && (quoted || !strchr(WHITESPACE, *p)); p++)
                        if (*p == '"')
                                quoted = !quoted;
                        else
                                word[n++] = *p;
                if (n > 0) {
                        r = fn(word, n, userdata);
                        if (r != 0)
                                return r;
                }
        }
        return 0;
}

struct lookup {
        const char *key; /* or the whole word */
        bool last;       /* keep looking: the last KEY= wins */
        char *value;
};

static int match_word(const char *w, size_t n, void *userdata) {
        const struct lookup *l = userdata;
        return n == strlen(l->key) && strncmp(w, l->key, n) == 0;
}

bool cmdline_has_word(const char *cmdline, const char *word) {
        return cmdline_foreach(cmdline, match_word, &(struct lookup) { .key = word }) > 0;
}

static int match_key(const char *w, size_t n, void *userdata) {
        struct lookup *l = userdata;
        size_t kl = strlen(l->key);

        if (n <= kl || strncmp(w, l->key, kl) != 0 || w[kl] != '=')
                return 0;
        if (n == kl + 1) {
                /* "KEY=" names nothing: as the last one it unsets KEY
                 * (root= then names no device), else it is passed over. */
                if (l->last) {
                        free(l->value);
                        l->value = NULL;
                }
                return 0;
        }
        free(l->value);
        l->value = strndup(w + kl + 1, n - kl - 1);
        if (!l->value)
                return -ENOMEM;
        return l->last ? 0 : 1;
}

/* The first (or with @last the last) value of KEY=. */
static int cmdline_value(const char *cmdline, const char *key, bool last, char **ret) {
        struct lookup l = { .key = key, .last = last };
        int r = cmdline_foreach(cmdline, match_key, &l);
        if (r < 0) {
                free(l.value);
                return r;
        }
        if (!l.value)
                return 0;
        *ret = l.value;
        return 1;
}

static bool is_false(const char *v) {
        return streq(v, "0") || streq(v, "no") || streq(v, "false") || streq(v, "off");
}

static bool luks_disabled(const char *cmdline) {
        _cleanup_free_ char *rd = NULL, *all = NULL;

        if (cmdline_value(cmdline, "rd.luks", /* last= */ true, &rd) > 0 && is_false(rd))
                return true;
        return cmdline_value(cmdline, "luks", /* last= */ true, &all) > 0 && is_false(all);
}

int cmdline_root_spec(const char *cmdline, char **ret) {
        _cleanup_free_ char *v = NULL;
        int r = 0;

        /* rd.luks=0 (or luks=0): the initrd opens no LUKS volume, the root
         * is root=, as for systemd-cryptsetup-generator. */
        if (!luks_disabled(cmdline)) {
                r = cmdline_value(cmdline, "rd.luks.uuid", /* last= */ false, &v);
                if (r == 0) {
                        r = cmdline_value(cmdline, "rd.luks.name", /* last= */ false, &v);
                        if (r > 0)
                                v[strcspn(v, "=")] = 0; /* UUID=NAME → UUID */
                }
        }
        if (r < 0)
                return r;
        if (r > 0) {
                /* systemd accepts "luks-UUID" too. */
                const char *uuid = strncmp(v, "luks-", 5) == 0 ? v + 5 : v;
                if (!*uuid)
                        return -ENODEV;
                return asprintf(ret, "UUID=%s", uuid) < 0 ? -ENOMEM : 0;
        }
        /* Several root=: the last one counts, for the kernel and for
         * systemd's fstab generator (a boot loader appends to the image's
         * command line). Several rd.luks.uuid= are several volumes: the
         * first is taken as the root's. */
        r = cmdline_value(cmdline, "root", /* last= */ true, &v);
        if (r < 0)
                return r;
        if (r == 0 || streq(v, "/dev/root"))
                return -ENODEV;
        *ret = TAKE_PTR(v);
        return 0;
}
