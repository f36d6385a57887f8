/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <libmount/libmount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "log.h"
#include "mount-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_table *, mnt_unref_table);

void mount_info_done(MountInfo *m) {
        free(m->target);
        free(m->source);
        free(m->fstype);
        *m = (MountInfo) {};
}

static int strdup_or_null(const char *s, char **ret) {
        *ret = s ? strdup(s) : NULL;
        return s && !*ret ? -ENOMEM : 0;
}

int mount_info_get(const char *path, MountInfo *ret) {
        _cleanup_(mnt_unref_tablep) struct libmnt_table *tb = NULL;
        _cleanup_(mount_info_done) MountInfo m = {};
        struct libmnt_fs *fs;
        struct stat st;

        m.target = realpath(path, NULL);
        if (!m.target)
                return log_debug_errno(errno, "Cannot resolve '%s': %m", path);
        tb = mnt_new_table_from_file("/proc/self/mountinfo");
        if (!tb)
                return log_debug_errno(SYNTHETIC_ERRNO(EIO), "Cannot read /proc/self/mountinfo.");
        fs = mnt_table_find_target(tb, m.target, MNT_ITER_BACKWARD);
        if (!fs || !streq_ptr(mnt_fs_get_target(fs), m.target))
                return log_debug_errno(SYNTHETIC_ERRNO(ENOENT), "'%s' is not a mount point.", m.target);
        if (strdup_or_null(mnt_fs_get_srcpath(fs), &m.source) < 0 ||
            strdup_or_null(mnt_fs_get_fstype(fs), &m.fstype) < 0)
                return -ENOMEM;

        /* btrfs reports an anonymous device number; its source path is real. */
        if (m.source && stat(m.source, &st) >= 0 && S_ISBLK(st.st_mode))
                m.devno = st.st_rdev;
        else if (major(mnt_fs_get_devno(fs)) != 0)
                m.devno = mnt_fs_get_devno(fs);

        *ret = m;
        m = (MountInfo) {};
        return 0;
}
