/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "test-hook.h"

#if ENABLE_TEST_HOOKS
void test_hook(const char *point) {
        const char *want = getenv("CVM_TEST_ABORT_AT");

        log_debug("Reached step '%s'.", point);
        if (want && streq(want, point)) {
                fprintf(stderr, "%s: test hook: aborting at '%s'\n", program_invocation_short_name, point);
                fflush(stderr);
                _exit(134);
        }
}
#endif
