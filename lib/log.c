/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <dlfcn.h>
#include <systemd/sd-journal.h>

#include "log.h"

#define LOG_FIELDS_MAX 8

static int max_level = LOG_INFO;
static const char *ident = "cvm";
static bool to_journal;
static char *fields[LOG_FIELDS_MAX];

/* libsystemd (and the seven libraries it pulls in) is loaded only when we
 * actually log to the journal: every boot runs these tools, and under
 * emulation each shared library costs milliseconds at exec time. */
static int (*sym_sd_journal_sendv)(const struct iovec *iov, int n);

static bool journal_load(void) {
        void *dl;

        if (sym_sd_journal_sendv)
                return true;
        dl = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!dl)
                return false;
        sym_sd_journal_sendv = (int (*)(const struct iovec *, int)) dlsym(dl, "sd_journal_sendv");
        return sym_sd_journal_sendv != NULL;
}

/* systemd sets JOURNAL_STREAM=dev:ino when stderr is connected to the
 * journal; only then is sd_journal_send() the same sink as stderr, and we
 * switch to it to get structured fields (same check systemd itself uses). */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == (dev_t) dev && st.st_ino == (ino_t) ino;
}

int log_level_from_string(const char *s) {
        static const char *const names[] = {
                [LOG_EMERG] = "emerg",   [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
                [LOG_ERR] = "err",       [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info",     [LOG_DEBUG] = "debug",
        };
        char *end;
        long l;

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return (int) i;
        errno = 0;
        l = strtol(s, &end, 10);
        if (errno != 0 || *end || end == s || l < LOG_EMERG || l > LOG_DEBUG)
                return -EINVAL;
        return (int) l;
}

void log_setup(const char *name) {
        const char *e = getenv("CVM_LOG_LEVEL");
        int l;

        ident = name;
        to_journal = stderr_is_journal() && journal_load();
        l = log_level_from_string(e);
        if (l >= 0)
                max_level = l;
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_set_field(const char *key, const char *value) {
        size_t kl = strlen(key);
        int free_slot = -1;

        for (int i = 0; i < LOG_FIELDS_MAX; i++) {
                if (!fields[i]) {
                        if (free_slot < 0)
                                free_slot = i;
                        continue;
                }
                if (strncmp(fields[i], key, kl) == 0 && fields[i][kl] == '=') {
                        free(fields[i]);
                        fields[i] = NULL;
                        if (free_slot < 0)
                                free_slot = i;
                }
        }
        if (!value)
                return 0;
        if (free_slot < 0)
                return -ENOSPC;
        if (asprintf(&fields[free_slot], "%s=%s", key, value) < 0) {
                fields[free_slot] = NULL;
                return -ENOMEM;
        }
        return 0;
}

static void log_to_journal(int level, int error, const char *file, int line, const char *func,
                           const char *msg) {
        char prio[32], errno_field[32], line_field[32];
        _cleanup_free_ char *m = NULL, *code_file = NULL, *code_func = NULL, *id = NULL;
        struct iovec iov[8 + LOG_FIELDS_MAX];
        size_t n = 0;

        if (asprintf(&m, "MESSAGE=%s", msg) < 0 || asprintf(&code_file, "CODE_FILE=%s", file) < 0 ||
            asprintf(&code_func, "CODE_FUNC=%s", func) < 0 ||
            asprintf(&id, "SYSLOG_IDENTIFIER=%s", ident) < 0)
                return;
        snprintf(prio, sizeof prio, "PRIORITY=%i", level);
        snprintf(line_field, sizeof line_field, "CODE_LINE=%i", line);

#define IOV(s) iov[n++] = (struct iovec) { .iov_base = (void *) (s), .iov_len = strlen(s) }
        IOV(m);
        IOV(prio);
        IOV(id);
        IOV(code_file);
        IOV(line_field);
        IOV(code_func);
        if (error != 0) {
                snprintf(errno_field, sizeof errno_field, "ERRNO=%i", ERRNO_VALUE(error));
                IOV(errno_field);
        }
        for (int i = 0; i < LOG_FIELDS_MAX; i++)
                if (fields[i])
                        IOV(fields[i]);
#undef IOV
        (void) sym_sd_journal_sendv(iov, (int) n);
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...) {
        char buf[2048];
        va_list ap;
        int saved = errno;

        /* glibc's printf expands %m from errno, so hand it the value to show. */
        errno = ERRNO_VALUE(error);
        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);

        if (to_journal)
                log_to_journal(level, error, file, line, func, buf);
        else
                fprintf(stderr, "%s: %s\n", ident, buf);

        errno = saved;
        return error == 0 ? 0 : -ERRNO_VALUE(error);
}
