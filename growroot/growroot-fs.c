/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Growing a mounted filesystem with its own ioctl (what resize2fs,
 * xfs_growfs and `btrfs filesystem resize` end up calling), without forking
 * them. */
#include <endian.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <xfs/xfs.h>

#include "growroot.h"
#include "log.h"
#include "test-hook.h"

/* Not in the uapi headers: fs/ext4/ext4.h. */
#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif
#define EXT4_FEATURE_INCOMPAT_64BIT 0x80

/* Block count and size from the ext4 superblock. Read through the block
 * device's page cache, which is where ext4 keeps its live superblock
 * buffer, so a resize done a moment ago is visible. */
static int ext4_geometry(const char *dev, uint64_t *ret_blocks, uint64_t *ret_bsize) {
        _cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
        uint8_t sb[1024];
        uint32_t lo, hi = 0, log_bs, incompat;
        uint16_t magic;

        if (fd < 0)
                return negative_errno();
        if (pread(fd, sb, sizeof sb, 1024) != (ssize_t) sizeof sb)
                return -EIO;
        memcpy(&magic, sb + 0x38, 2);
        if (le16toh(magic) != 0xEF53)
                return -EBADMSG;
        memcpy(&lo, sb + 0x4, 4);
        memcpy(&log_bs, sb + 0x18, 4);
        memcpy(&incompat, sb + 0x60, 4);
        if (le32toh(incompat) & EXT4_FEATURE_INCOMPAT_64BIT)
                memcpy(&hi, sb + 0x150, 4);
        if (le32toh(log_bs) > 6)
                return -EBADMSG;
        *ret_bsize = UINT64_C(1024) << le32toh(log_bs);
        *ret_blocks = (uint64_t) le32toh(hi) << 32 | le32toh(lo);
        return 0;
}

static int grow_ext4(int fd, const BlockStack *s, uint64_t dev_size, bool dry_run, FsPlan *p) {
        uint64_t blocks, bsize, want;
        int r;

        r = ext4_geometry(s->fs_device, &blocks, &bsize);
        if (r < 0)
                return log_debug_errno(r, "Cannot read the ext4 superblock of '%s': %m", s->fs_device);
        want = dev_size / bsize;
        p->old_size = blocks * bsize;
        p->new_size = MAX(want, blocks) * bsize;
        if (want <= blocks || dry_run)
                return want > blocks;
        if (ioctl(fd, EXT4_IOC_RESIZE_FS, &want) < 0)
                return log_debug_errno(errno, "EXT4_IOC_RESIZE_FS to %" PRIu64 " blocks failed: %m", want);
        return 1;
}

static int grow_xfs(int fd, uint64_t dev_size, bool dry_run, FsPlan *p) {
        struct xfs_fsop_geom geo = {};
        struct xfs_growfs_data g;
        uint64_t want;

        if (ioctl(fd, XFS_IOC_FSGEOMETRY, &geo) < 0)
                return log_debug_errno(errno, "XFS_IOC_FSGEOMETRY failed: %m");
        if (geo.blocksize == 0)
                return -EBADMSG;
        want = dev_size / geo.blocksize;
        p->old_size = geo.datablocks * geo.blocksize;
        p->new_size = MAX(want, geo.datablocks) * geo.blocksize;
        if (want <= geo.datablocks || dry_run)
                return want > geo.datablocks;
        g = (struct xfs_growfs_data) { .newblocks = want, .imaxpct = geo.imaxpct };
        if (ioctl(fd, XFS_IOC_FSGROWFSDATA, &g) < 0)
                return log_debug_errno(errno, "XFS_IOC_FSGROWFSDATA to %" PRIu64 " blocks failed: %m", want);
        return 1;
}

static int grow_btrfs(int fd, uint64_t dev_size, bool dry_run, FsPlan *p) {
        struct btrfs_ioctl_fs_info_args fi = {};
        struct btrfs_ioctl_dev_info_args di = { .devid = 1 };
        struct btrfs_ioctl_vol_args va = {};
        uint64_t want;

        if (ioctl(fd, BTRFS_IOC_FS_INFO, &fi) < 0)
                return log_debug_errno(errno, "BTRFS_IOC_FS_INFO failed: %m");
        if (fi.num_devices != 1 || fi.max_id != 1)
                return log_debug_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "Multi-device btrfs is not grown automatically.");
        if (ioctl(fd, BTRFS_IOC_DEV_INFO, &di) < 0)
                return log_debug_errno(errno, "BTRFS_IOC_DEV_INFO failed: %m");
        want = dev_size - dev_size % MAX(fi.sectorsize, 4096U);
        p->old_size = di.total_bytes;
        p->new_size = MAX(want, di.total_bytes);
        if (want <= di.total_bytes || dry_run)
                return want > di.total_bytes;
        strcpy(va.name, "1:max");
        if (ioctl(fd, BTRFS_IOC_RESIZE, &va) < 0)
                return log_debug_errno(errno, "BTRFS_IOC_RESIZE failed: %m");
        return 1;
}

int fs_grow(const BlockStack *s, bool dry_run, FsPlan *ret) {
        _cleanup_close_ int fd = -EBADF;
        FsPlan p = {};
        struct statfs sfs;
        uint64_t dev_size;
        int r;

        fd = open(s->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_debug_errno(errno, "Cannot open '%s': %m", s->mountpoint);
        if (fstatfs(fd, &sfs) < 0)
                return negative_errno();
        r = blockdev_size(s->fs_device, &dev_size);
        if (r < 0)
                return log_debug_errno(r, "Cannot get the size of '%s': %m", s->fs_device);

        switch ((unsigned long) sfs.f_type) {
        case EXT4_SUPER_MAGIC:
                p.type = "ext4";
                r = grow_ext4(fd, s, dev_size, dry_run, &p);
                break;
        case XFS_SUPER_MAGIC:
                p.type = "xfs";
                r = grow_xfs(fd, dev_size, dry_run, &p);
                break;
        case BTRFS_SUPER_MAGIC:
                p.type = "btrfs";
                r = grow_btrfs(fd, dev_size, dry_run, &p);
                break;
        default:
                return log_debug_errno(SYNTHETIC_ERRNO(EMEDIUMTYPE), "Filesystem type 0x%lx on '%s' is not one we grow.",
                                       (unsigned long) sfs.f_type, s->mountpoint);
        }
        if (r > 0 && !dry_run)
                test_hook("fs:resized");
        *ret = p;
        return r;
}
