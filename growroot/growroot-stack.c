/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Resolving what lies under a mount point: mount → (dm-crypt LUKS2) →
 * partition → whole disk, through statx() or libmount, and sysfs. We follow devices by
 * number, not by name: names under /dev/mapper or /dev/disk are udev's
 * business and may not exist in an initrd. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "growroot.h"
#include "log.h"
#include "mount-util.h"

void block_stack_done(BlockStack *s) {
        free(s->fs_device);
        free(s->crypt_name);
        free(s->part_device);
        free(s->disk);
        free(s->mountpoint);
        free(s->fstype);
        *s = (BlockStack) {};
}

static int sysfs_read(dev_t devno, const char *attr, char *buf, size_t size) {
        _cleanup_free_ char *p = NULL;
        _cleanup_fclose_ FILE *f = NULL;

        if (asprintf(&p, "/sys/dev/block/%u:%u/%s", major(devno), minor(devno), attr) < 0)
                return -ENOMEM;
        f = fopen(p, "re");
        if (!f)
                return negative_errno();
        if (!fgets(buf, (int) size, f))
                return -ENODATA;
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

static int devno_from_string(const char *s, dev_t *ret) {
        unsigned ma, mi;
        if (sscanf(s, "%u:%u", &ma, &mi) != 2)
                return -EBADMSG;
        *ret = makedev(ma, mi);
        return 0;
}

/* /dev/<kernel name> of a block device number. */
static int devnode(dev_t devno, char **ret) {
        char link[PATH_MAX], target[PATH_MAX];
        ssize_t n;

        snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major(devno), minor(devno));
        n = readlink(link, target, sizeof target - 1);
        if (n < 0)
                return negative_errno();
        target[n] = 0;
        return asprintf(ret, "/dev/%s", strrchr(target, '/') + 1) < 0 ? -ENOMEM : 0;
}

/* The one device under a dm device (dm-crypt has exactly one). */
static int dm_slave(dev_t devno, dev_t *ret) {
        _cleanup_closedir_ DIR *d = NULL;
        char p[PATH_MAX], buf[32];
        struct dirent *de;
        int found = 0, r;

        snprintf(p, sizeof p, "/sys/dev/block/%u:%u/slaves", major(devno), minor(devno));
        d = opendir(p);
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                char attr[PATH_MAX];
                if (de->d_name[0] == '.')
                        continue;
                if (++found > 1)
                        return -ENOTUNIQ;
                snprintf(attr, sizeof attr, "slaves/%s/dev", de->d_name);
                r = sysfs_read(devno, attr, buf, sizeof buf);
                if (r < 0)
                        return r;
                r = devno_from_string(buf, ret);
                if (r < 0)
                        return r;
        }
        return found == 1 ? 0 : -ENODEV;
}

/* Partition → (partno, whole disk). Not a partition: partno 0, disk = itself. */
static int part_parent(dev_t devno, unsigned *ret_partno, dev_t *ret_disk) {
        char buf[32];
        int r;

        r = sysfs_read(devno, "partition", buf, sizeof buf);
        if (r == -ENOENT) {
                *ret_partno = 0;
                *ret_disk = devno;
                return 0;
        }
        if (r < 0)
                return r;
        if (sscanf(buf, "%u", ret_partno) != 1 || *ret_partno == 0)
                return -EBADMSG;
        r = sysfs_read(devno, "../dev", buf, sizeof buf);
        if (r < 0)
                return r;
        return devno_from_string(buf, ret_disk);
}

static int stack_from_devno(dev_t devno, BlockStack *s) {
        char buf[256];
        dev_t disk;
        int r;

        r = devnode(devno, &s->fs_device);
        if (r < 0)
                return log_debug_errno(r, "Block device %u:%u not in sysfs: %m", major(devno), minor(devno));

        if (sysfs_read(devno, "dm/uuid", buf, sizeof buf) >= 0) {
                /* dm-crypt uuids look like CRYPT-LUKS2-<uuid>-<name>. */
                if (strncmp(buf, "CRYPT-LUKS1-", 12) == 0)
                        return log_refusal_errno(SYNTHETIC_ERRNO(EMEDIUMTYPE),
                                                 "'%s' is LUKS1; only LUKS2 grows online.", s->fs_device);
                if (strncmp(buf, "CRYPT-LUKS2-", 12) != 0)
                        return log_refusal_errno(SYNTHETIC_ERRNO(EOPNOTSUPP),
                                                 "'%s' is a device-mapper device other than LUKS2 (%s); not growing it.",
                                                 s->fs_device, buf);
                r = sysfs_read(devno, "dm/name", buf, sizeof buf);
                if (r < 0)
                        return r;
                s->crypt_name = strdup(buf);
                if (!s->crypt_name)
                        return -ENOMEM;
                r = dm_slave(devno, &devno);
                if (r < 0)
                        return log_debug_errno(r, "Cannot find the device under '%s': %m", s->fs_device);
        }

        r = part_parent(devno, &s->partno, &disk);
        if (r < 0)
                return log_debug_errno(r, "Cannot resolve the disk of %u:%u: %m", major(devno), minor(devno));
        if (s->partno > 0) {
                r = devnode(devno, &s->part_device);
                if (r < 0)
                        return r;
        }
        return devnode(disk, &s->disk);
}

int block_stack_from_device(const char *dev, BlockStack *ret) {
        BlockStack s = {};
        struct stat st;
        int r;

        if (stat(dev, &st) < 0)
                return log_debug_errno(errno, "Cannot stat '%s': %m", dev);
        if (!S_ISBLK(st.st_mode))
                return log_refusal_errno(SYNTHETIC_ERRNO(ENOTBLK), "'%s' is not a block device.", dev);
        r = stack_from_devno(st.st_rdev, &s);
        if (r < 0) {
                block_stack_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

/* The mount at @path without libmount, in the usual case: @path is the
 * root of a mount (statx()'s STATX_ATTR_MOUNT_ROOT, Linux 5.8) of an ext4
 * or xfs, whose st_dev is then its block device. Everything else (btrfs
 * reports an anonymous st_dev; an older kernel; not a mount point; a
 * filesystem we refuse, whose name the refusal gives) goes to libmount.
 * Why: loading libmount, with libselinux and pcre2, costs a no-op run under
 * TCG more than all the rest of its work (bench/growroot). 1 when found, 0
 * when libmount is to decide. */
static int mount_info_quick(const char *path, MountInfo *ret) {
        _cleanup_free_ char *target = NULL, *sys = NULL;
        const char *kind;
        struct statx stx;
        struct statfs sfs;
        dev_t devno;

        target = realpath(path, NULL);
        if (!target || statx(AT_FDCWD, target, AT_NO_AUTOMOUNT, STATX_TYPE, &stx) < 0 ||
            !(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) || !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ||
            statfs(target, &sfs) < 0)
                return 0;
        kind = fs_kind((unsigned long) sfs.f_type);
        devno = makedev(stx.stx_dev_major, stx.stx_dev_minor);
        if (!kind || streq(kind, "btrfs") || major(devno) == 0 ||
            asprintf(&sys, "/sys/dev/block/%u:%u", major(devno), minor(devno)) < 0 || access(sys, F_OK) < 0)
                return 0;
        *ret = (MountInfo) {
                .target = TAKE_PTR(target),
                .fstype = strdup(kind),
                .devno = devno,
        };
        return ret->fstype ? 1 : -ENOMEM;
}

int block_stack_from_mount(const char *path, BlockStack *ret) {
        _cleanup_(mount_info_done) MountInfo m = {};
        BlockStack s = {};
        int r;

        r = mount_info_quick(path, &m);
        if (r == 0)
                r = mount_info_get(path, &m);
        if (r < 0)
                return r;
        if (m.devno == 0)
                return log_refusal_errno(SYNTHETIC_ERRNO(ENOTBLK), "'%s' is not on a block device.", m.target);
        r = stack_from_devno(m.devno, &s);
        if (r < 0) {
                block_stack_done(&s);
                return r;
        }
        s.fstype = TAKE_PTR(m.fstype);
        s.mountpoint = TAKE_PTR(m.target);
        *ret = s;
        return 0;
}
