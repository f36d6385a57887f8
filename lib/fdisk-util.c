/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fdisk-util.h"
#include "log.h"

/* libfdisk talks through an "ask" callback; answer nothing, log
 * everything, and keep its first report of a corrupt table (it would
 * silently repair from the other copy on write; we want to decide, and
 * the user wants to know which copy was bad). */
static int ask_cb(struct fdisk_context *cxt, struct fdisk_ask *ask, void *data) {
        char **corrupt = data;
        const char *msg;

        (void) cxt;
        switch (fdisk_ask_get_type(ask)) {
        case FDISK_ASKTYPE_INFO:
        case FDISK_ASKTYPE_WARN:
        case FDISK_ASKTYPE_WARNX:
                msg = fdisk_ask_print_get_mesg(ask);
                if (!msg)
                        return 0;
                log_debug("libfdisk: %s", msg);
                if (corrupt && !*corrupt && (strstr(msg, "corrupt") || strstr(msg, "invalid"))) {
                        *corrupt = strdup(msg);
                        if (!*corrupt)
                                return -ENOMEM;
                }
                return 0;
        default:
                return -EINVAL; /* no dialogs: a question means we asked for too little */
        }
}

int fdisk_open_fd(int fd, const char *path, bool readonly, char **ret_corrupt, struct fdisk_context **ret) {
        /* Declared before the context, so cleanup unrefs the context
         * first: the callback points at this local until it is unset
         * below, and must never see it freed. */
        _cleanup_free_ char *corrupt = NULL;
        _cleanup_(fdisk_unref_contextp) struct fdisk_context *c = NULL;
        int r;

        c = fdisk_new_context();
        if (!c)
                return -ENOMEM;
        r = fdisk_set_ask(c, ask_cb, ret_corrupt ? &corrupt : NULL);
        if (r < 0)
                return r;
        r = fdisk_disable_dialogs(c, 1);
        if (r < 0)
                return r;
        r = fdisk_assign_device_by_fd(c, fd, path, readonly);
        if (r < 0)
                return log_debug_errno(r, "libfdisk cannot use '%s': %m", path);
        /* Later messages (on write) are only logged. */
        r = fdisk_set_ask(c, ask_cb, NULL);
        if (r < 0)
                return r;
        if (ret_corrupt)
                *ret_corrupt = TAKE_PTR(corrupt);
        *ret = TAKE_PTR(c);
        return 0;
}
