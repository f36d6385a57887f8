/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdlib.h>

/* run() returns <0 (-errno: failure, already logged), 0 (success), or a
 * positive exit status documented in the tool's man page. */
#define DEFINE_MAIN_FUNCTION(impl)                              \
        int main(int argc, char *argv[]) {                      \
                int _r = impl(argc, argv);                      \
                return _r < 0 ? EXIT_FAILURE : _r;              \
        }
