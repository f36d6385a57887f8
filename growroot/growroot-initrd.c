/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* In the initrd the root is not mounted yet: find the device to grow from
 * the kernel command line the way systemd's generators read it —
 * rd.luks.uuid= / rd.luks.name=UUID=NAME for an encrypted root, else root=
 * (UUID=, PARTUUID=, LABEL= or a path) — and wait for udev to create it. */
#include <blkid/blkid.h>
#include <stdio.h>
#include <time.h>

#include "growroot.h"
#include "log.h"

#define CMDLINE_MAX 4096

/* The first value of KEY= on the command line (kernel syntax: words
 * separated by spaces, no quoting needed for the keys we read). */
static int cmdline_value(const char *cmdline, const char *key, char **ret) {
        size_t kl = strlen(key);

        for (const char *p = cmdline; *p;) {
                size_t n;
                p += strspn(p, " \t\n");
                n = strcspn(p, " \t\n");
                if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
                        *ret = strndup(p + kl + 1, n - kl - 1);
                        return *ret ? 1 : -ENOMEM;
                }
                p += n;
        }
        return 0;
}

/* A tag (UUID=…) or a path, for blkid_evaluate_spec(). */
static int root_spec_from_cmdline(const char *cmdline, char **ret) {
        _cleanup_free_ char *v = NULL;
        int r;

        r = cmdline_value(cmdline, "rd.luks.uuid", &v);
        if (r == 0) {
                r = cmdline_value(cmdline, "rd.luks.name", &v);
                if (r > 0)
                        v[strcspn(v, "=")] = 0; /* UUID=NAME → UUID */
        }
        if (r < 0)
                return r;
        if (r > 0) {
                /* systemd accepts "luks-UUID" too. */
                const char *uuid = strncmp(v, "luks-", 5) == 0 ? v + 5 : v;
                return asprintf(ret, "UUID=%s", uuid) < 0 ? -ENOMEM : 0;
        }
        r = cmdline_value(cmdline, "root", &v);
        if (r < 0)
                return r;
        if (r == 0 || streq(v, "/dev/root"))
                return -ENODEV;
        *ret = TAKE_PTR(v);
        return 0;
}

int initrd_find_device(unsigned timeout_sec, char **ret) {
        _cleanup_free_ char *spec = NULL;
        char cmdline[CMDLINE_MAX];
        _cleanup_fclose_ FILE *f = fopen("/proc/cmdline", "re");
        int r;

        if (!f || !fgets(cmdline, sizeof cmdline, f))
                return log_debug_errno(errno ?: EIO, "Cannot read /proc/cmdline: %m");
        r = root_spec_from_cmdline(cmdline, &spec);
        if (r < 0)
                return log_debug_errno(r, "No rd.luks.uuid=, rd.luks.name= or root= on the kernel command line.");

        /* udev may still be creating the node: poll, as the device units
         * cryptsetup waits for would. */
        for (unsigned i = 0; i <= timeout_sec * 10; i++) {
                char *dev = blkid_evaluate_spec(spec, NULL);
                if (dev) {
                        log_debug("Root device '%s' is '%s'.", spec, dev);
                        *ret = dev;
                        return 0;
                }
                (void) nanosleep(&(struct timespec) { .tv_nsec = 100 * 1000 * 1000 }, NULL);
        }
        return log_debug_errno(SYNTHETIC_ERRNO(ENODEV), "Root device '%s' did not appear within %u s.", spec,
                               timeout_sec);
}
