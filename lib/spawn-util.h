/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Running a helper program (sshd -T, ssh-keyscan, ssh) and capturing its
 * standard output. No shell is involved: argv goes to execvp() as is. */

#include <stdbool.h>
#include <stddef.h>

/* Run @argv[0] (looked up in PATH) with @argv, stdin from /dev/null,
 * stderr inherited unless @quiet (then /dev/null), and return what it
 * wrote to stdout (NUL-terminated, at most @max bytes, else -EFBIG after
 * the child is reaped). Returns the exit status (0–255) of the child, or
 * -ECHILD if it died from a signal, or -errno if it could not be run. */
int spawn_capture(char *const argv[], size_t max, bool quiet, char **ret, size_t *ret_size);
