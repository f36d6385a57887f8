/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libfdisk/libfdisk.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct fdisk_context *, fdisk_unref_context);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct fdisk_partition *, fdisk_unref_partition);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct fdisk_table *, fdisk_unref_table);

/* A libfdisk context on @fd (which the caller owns and has locked),
 * non-interactive, with libfdisk's messages routed to our debug log. If
 * libfdisk reported a corrupt GPT header or table while reading the label,
 * *ret_corrupt (if not NULL) is set to its first such message (free() it),
 * else to NULL. */
int fdisk_open_fd(int fd, const char *path, bool readonly, char **ret_corrupt, struct fdisk_context **ret);
