/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-growroot's exit statuses and the note that a step has already
 * explained its refusal (kept apart from main() so that the fuzz target of
 * the table planner links without it). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "growroot.h"
#include "macro.h"

/* Set once a step has refused bad input in its own error line. */
static bool refused = false;

int growroot_exit_status(int r) {
        switch (ERRNO_VALUE(r)) {
        case ENOTEMPTY:
        case EOPNOTSUPP:
        case EMEDIUMTYPE:
        case ENOMEDIUM:
        case ENOTBLK:
                return EXIT_GROW_UNSUPPORTED;
        case EUCLEAN:
        case EBADMSG:
                return EXIT_GROW_CORRUPT;
        case ENOKEY:
                return EXIT_GROW_NO_KEY;
        case EROFS:
                return EXIT_GROW_READ_ONLY;
        default:
                return EXIT_FAILURE;
        }
}

void growroot_note_refusal(void) {
        refused = true;
}

bool growroot_refused(void) {
        return refused;
}
