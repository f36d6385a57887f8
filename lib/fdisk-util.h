/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libfdisk/libfdisk.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct fdisk_context *, fdisk_unref_context);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct fdisk_partition *, fdisk_unref_partition);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct fdisk_table *, fdisk_unref_table);

/* A libfdisk context on @fd (which the caller owns and has locked),
 * non-interactive, with libfdisk's messages routed to our debug log and
 * its warnings collected: *ret_warned is set when libfdisk reported that
 * a GPT header or table is corrupt. */
int fdisk_open_fd(int fd, const char *path, bool readonly, bool *warned_corrupt, struct fdisk_context **ret);
