/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small cleanup/ownership helpers. libsystemd does not export its internal
 * _cleanup_ machinery, so the project carries the few macros it needs. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _const_ __attribute__((const))
#define _pure_ __attribute__((pure))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define _fallthrough_ __attribute__((fallthrough))
#define assert_not_reached() abort()

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* <sys/param.h> (pulled in by some library headers) has the same ones. */
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

/* Take ownership of a pointer/fd: return it and reset the variable so the
 * cleanup handler of the old owner does nothing. */
#define TAKE_GENERIC(var, type, nullvalue)                  \
        ({                                                  \
                type *_pvar_ = &(var);                      \
                type _var_ = *_pvar_;                       \
                type _nullvalue_ = nullvalue;               \
                *_pvar_ = _nullvalue_;                      \
                _var_;                                      \
        })
#define TAKE_PTR_TYPE(ptr, type) TAKE_GENERIC(ptr, type, NULL)
#define TAKE_PTR(ptr) TAKE_PTR_TYPE(ptr, __typeof__(ptr))
#define TAKE_FD(fd) TAKE_GENERIC(fd, int, -EBADF)

/* Errors we make up (not from a failing syscall) are marked so the logger
 * can tell them apart; the marker is stripped before the value is used. */
#define SYNTHETIC_ERRNO(num) (1 << 30 | (num))
#define ERRNO_VALUE(val) (abs(val) & ~(1 << 30))
#define IS_SYNTHETIC_ERRNO(val) ((((val) > 0 ? (val) : -(val)) & (1 << 30)) != 0)

/* Return -errno of the last libc failure, never 0 even if errno was not set. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define DEFINE_TRIVIAL_CLEANUP_FUNC_FULL(type, func, empty)     \
        static inline void func##p(type *p) {                  \
                if (*p != (empty)) {                            \
                        (void) func(*p);                        \
                        *p = (empty);                           \
                }                                               \
        }
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) DEFINE_TRIVIAL_CLEANUP_FUNC_FULL(type, func, NULL)

static inline void freep(void *p) {
        free(*(void **) p);
        *(void **) p = NULL;
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
        *fd = -EBADF;
}
#define _cleanup_close_ _cleanup_(closep)

#include <stdio.h>
static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
        *f = NULL;
}
#define _cleanup_fclose_ _cleanup_(fclosep)

#include <dirent.h>
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Wipe a stack buffer when it goes out of scope. */
static inline void erase_varp(void *p) {
        struct { void *p; size_t n; } *e = p;
        explicit_bzero(e->p, e->n);
}
#define CLEANUP_ERASE_CONCAT2(a, b) a##b
#define CLEANUP_ERASE_CONCAT(a, b) CLEANUP_ERASE_CONCAT2(a, b)
#define CLEANUP_ERASE(var)                                                               \
        _cleanup_(erase_varp) _unused_ struct { void *p; size_t n; }                     \
                CLEANUP_ERASE_CONCAT(_erase_, __COUNTER__) = { .p = &(var), .n = sizeof(var) }

/* Free a heap string after wiping it (passphrases derived from secrets). */
static inline void erase_and_freep(void *p) {
        char *s = *(char **) p;
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
        *(char **) p = NULL;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)

static inline const char *strempty(const char *s) {
        return s ?: "";
}
static inline const char *strna(const char *s) {
        return s ?: "n/a";
}
