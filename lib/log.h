/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging: to the journal with structured fields when our stderr is the
 * journal stream systemd gave us, to stderr otherwise. lib/ code logs at
 * debug level only; tools log each failure once, at error level. */

#include <syslog.h>

#include "macro.h"

void log_setup(const char *ident);
void log_set_max_level(int level);
int log_get_max_level(void);
int log_level_from_string(const char *s);

/* A field added to every journal entry (e.g. "CVM_DEVICE", "/dev/vda2"),
 * so `journalctl CVM_DEVICE=…` finds all messages about one device.
 * value == NULL removes it. Up to 8 fields. */
int log_set_field(const char *key, const char *value);

/* Returns -ERRNO_VALUE(error) (or 0 if error == 0), so callers can
 * `return log_error_errno(r, …);`. %m in fmt expands to strerror(error). */
int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...)
        _printf_(6, 7);

#define log_full_errno(level, error, ...)                                                     \
        ({                                                                                  \
                int _l = (level), _e = (error);                                             \
                (log_get_max_level() >= _l)                                                 \
                        ? log_internal(_l, _e, __FILE__, __LINE__, __func__, __VA_ARGS__)   \
                        : -ERRNO_VALUE(_e);                                                 \
        })
#define log_full(level, ...) (void) log_full_errno(level, 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(SYNTHETIC_ERRNO(ENOMEM), "Out of memory.")
