/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the fuzz targets. Each fuzz-*.c defines LLVMFuzzerTestOneInput;
 * with -Dfuzz=true it is linked with libFuzzer (clang), otherwise with
 * fuzz-main.c, whose main() replays corpus files and directories so that
 * every target is also a plain program and a test of the "unit" suite. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the code under test broke. abort() rather than assert(): it
 * must fire in every build type, and libFuzzer and the replay main() both
 * treat the signal as a finding and keep the input. */
#define FUZZ_CHECK(cond)                                                                      \
        do {                                                                                  \
                if (!(cond)) {                                                                \
                        fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond); \
                        abort();                                                              \
                }                                                                             \
        } while (0)

/* The input as a NUL-terminated string (hostile text parsers take C
 * strings). NULL only when out of memory, which the caller then skips. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                return NULL;
        if (size > 0)
                __builtin_memcpy(s, data, size);
        s[size] = 0;
        return s;
}
