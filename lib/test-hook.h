/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Fault injection for crash-safety tests: with -Dtest-hooks=true,
 * CVM_TEST_ABORT_AT=POINT makes the tool die abruptly (_exit, no cleanup,
 * like a power cut as far as the disk is concerned) when it reaches the
 * named step boundary. Compiled out of packaged builds. */

#include "config.h"

#if ENABLE_TEST_HOOKS
void test_hook(const char *point);
#else
static inline void test_hook(const char *point) {
        (void) point;
}
#endif
