/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* The mount whose mount point is exactly @path (after realpath()), from
 * /proc/self/mountinfo through libmount. */
typedef struct MountInfo {
        char *target;  /* canonical mount point */
        char *source;  /* source path, e.g. /dev/mapper/root; NULL if none */
        char *fstype;  /* NULL if unknown */
        dev_t devno;   /* the block device: from the source node, else the
                        * mount's st_dev (0 if neither is a block device —
                        * btrfs reports an anonymous st_dev) */
} MountInfo;

/* -ENOENT if @path is not a mount point. */
int mount_info_get(const char *path, MountInfo *ret);
void mount_info_done(MountInfo *m);
