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
#define EXT4_FEATURE_COMPAT_SPARSE_SUPER2 0x0200
#define EXT4_FEATURE_RO_COMPAT_SPARSE_SUPER 0x0001
#define EXT4_FEATURE_RO_COMPAT_BIGALLOC 0x0200
#define EXT4_FEATURE_INCOMPAT_META_BG 0x0010
#define EXT4_FEATURE_INCOMPAT_64BIT 0x0080

/* What the plan needs from the ext4 superblock. */
typedef struct Ext4Geometry {
        uint64_t blocks, bsize;
        uint32_t first_data_block, blocks_per_group, itb_per_group, cluster_ratio;
        uint32_t compat, incompat, ro_compat, reserved_gdt, desc_size, first_meta_bg, backup_bgs[2];
} Ext4Geometry;

static uint32_t sb_le32(const uint8_t *sb, size_t off) {
        uint32_t v;
        memcpy(&v, sb + off, 4);
        return le32toh(v);
}

static uint16_t sb_le16(const uint8_t *sb, size_t off) {
        uint16_t v;
        memcpy(&v, sb + off, 2);
        return le16toh(v);
}

/* The ext4 superblock's geometry. Read through the block device's page
 * cache, which is where ext4 keeps its live superblock buffer, so a resize
 * done a moment ago is visible. */
static int ext4_geometry(const char *dev, Ext4Geometry *ret) {
        _cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
        uint8_t sb[1024];
        uint32_t log_bs, log_cs, ipg, isize;
        Ext4Geometry g = {};

        if (fd < 0)
                return negative_errno();
        if (pread(fd, sb, sizeof sb, 1024) != (ssize_t) sizeof sb)
                return -EIO;
        if (sb_le16(sb, 0x38) != 0xEF53)
                return -EBADMSG;
        log_bs = sb_le32(sb, 0x18);
        log_cs = sb_le32(sb, 0x1C);
        if (log_bs > 6)
                return -EBADMSG;
        g.bsize = UINT64_C(1024) << log_bs;
        g.compat = sb_le32(sb, 0x5C);
        g.incompat = sb_le32(sb, 0x60);
        g.ro_compat = sb_le32(sb, 0x64);
        g.blocks = sb_le32(sb, 0x4);
        if (g.incompat & EXT4_FEATURE_INCOMPAT_64BIT)
                g.blocks |= (uint64_t) sb_le32(sb, 0x150) << 32;
        g.first_data_block = sb_le32(sb, 0x14);
        g.blocks_per_group = sb_le32(sb, 0x20);
        ipg = sb_le32(sb, 0x28);
        isize = sb_le16(sb, 0x58) ?: 128;
        g.itb_per_group = (uint32_t) (((uint64_t) ipg * isize + g.bsize - 1) / g.bsize);
        g.cluster_ratio = (g.ro_compat & EXT4_FEATURE_RO_COMPAT_BIGALLOC) && log_cs >= log_bs && log_cs - log_bs < 32
                                  ? UINT32_C(1) << (log_cs - log_bs)
                                  : 1;
        g.reserved_gdt = sb_le16(sb, 0xCE);
        g.desc_size = (g.incompat & EXT4_FEATURE_INCOMPAT_64BIT) ? sb_le16(sb, 0xFE) : 32;
        g.first_meta_bg = sb_le32(sb, 0x104);
        g.backup_bgs[0] = sb_le32(sb, 0x24C);
        g.backup_bgs[1] = sb_le32(sb, 0x250);
        *ret = g;
        return 0;
}

static bool is_power_of(uint64_t n, unsigned b) {
        while (n > 1 && n % b == 0)
                n /= b;
        return n == 1;
}

/* fs/ext4/balloc.c: ext4_bg_has_super(). */
static bool ext4_group_has_super(const Ext4Geometry *g, uint64_t group) {
        if (group == 0)
                return true;
        if (g->compat & EXT4_FEATURE_COMPAT_SPARSE_SUPER2)
                return group == g->backup_bgs[0] || group == g->backup_bgs[1];
        if (group <= 1 || !(g->ro_compat & EXT4_FEATURE_RO_COMPAT_SPARSE_SUPER))
                return true;
        return group % 2 == 1 && (is_power_of(group, 3) || is_power_of(group, 5) || is_power_of(group, 7));
}

/* How many of @want blocks EXT4_IOC_RESIZE_FS will really use. The kernel
 * (fs/ext4/resize.c: ext4_resize_fs()) silently leaves out a last block
 * group too small to hold its own metadata (superblock backup, descriptors,
 * reserved GDT, bitmaps, inode table), as resize2fs does. Planning with
 * @want itself would "grow" that filesystem again at every boot: the ioctl
 * succeeds and changes nothing, and a rerun would never be a no-op. */
static uint64_t ext4_usable_blocks(const Ext4Geometry *g, uint64_t want) {
        uint64_t group, start, overhead, desc_per_block, gdb = 0, ngroups;

        if (g->blocks_per_group == 0 || g->desc_size < 32 || g->desc_size > g->bsize || want <= g->first_data_block)
                return want; /* odd superblock: the check after the ioctl still tells the truth */
        desc_per_block = g->bsize / g->desc_size;
        group = (want - 1 - g->first_data_block) / g->blocks_per_group;
        start = g->first_data_block + group * g->blocks_per_group;
        if ((g->incompat & EXT4_FEATURE_INCOMPAT_META_BG) && group >= (uint64_t) g->first_meta_bg * desc_per_block) {
                uint64_t first = group / desc_per_block * desc_per_block;
                gdb = group == first || group == first + 1 || group == first + desc_per_block - 1;
        } else if (ext4_group_has_super(g, group)) {
                /* The kernel counts the descriptor blocks of the
                 * filesystem as it is before the resize. */
                ngroups = (g->blocks - g->first_data_block + g->blocks_per_group - 1) / g->blocks_per_group;
                gdb = (ngroups + desc_per_block - 1) / desc_per_block;
        }
        overhead = gdb + (ext4_group_has_super(g, group) ? 1 + (uint64_t) g->reserved_gdt : 0);
        if (start + overhead + 2 + g->itb_per_group + g->cluster_ratio >= want)
                return start;
        return want;
}

static int grow_ext4(int fd, const BlockStack *s, uint64_t dev_size, bool dry_run, FsPlan *p) {
        Ext4Geometry g, after;
        uint64_t want;
        int r;

        r = ext4_geometry(s->fs_device, &g);
        if (r < 0)
                return log_debug_errno(r, "Cannot read the ext4 superblock of '%s': %m", s->fs_device);
        want = ext4_usable_blocks(&g, dev_size / g.bsize);
        p->old_size = g.blocks * g.bsize;
        p->new_size = MAX(want, g.blocks) * g.bsize;
        if (want <= g.blocks || dry_run)
                return want > g.blocks;
        if (ioctl(fd, EXT4_IOC_RESIZE_FS, &want) < 0)
                return log_debug_errno(errno, "EXT4_IOC_RESIZE_FS to %" PRIu64 " blocks failed: %m", want);
        /* Report what the kernel did, not what we asked for: should it ever
         * leave out more than we foresaw, "changed" stays true only when
         * something grew. */
        r = ext4_geometry(s->fs_device, &after);
        if (r < 0)
                return log_debug_errno(r, "Cannot read the ext4 superblock of '%s' back: %m", s->fs_device);
        p->new_size = after.blocks * after.bsize;
        return after.blocks > g.blocks;
}

static int grow_xfs(int fd, uint64_t dev_size, bool dry_run, FsPlan *p) {
        struct xfs_fsop_geom geo = {}, after = {};
        /* Zeroed whole, padding included: the kernel gets no stack bytes
         * (valgrind memcheck flagged the 4 padding bytes after imaxpct). */
        struct xfs_growfs_data g = {};
        uint64_t want;

        if (ioctl(fd, XFS_IOC_FSGEOMETRY, &geo) < 0)
                return log_debug_errno(errno, "XFS_IOC_FSGEOMETRY failed: %m");
        if (geo.blocksize == 0)
                return -EBADMSG;
        want = dev_size / geo.blocksize;
        /* The kernel (xfs_growfs_data_private()) drops a last AG shorter
         * than XFS_MIN_AG_BLOCKS without saying so: plan the same, or a
         * rerun would never be a no-op. */
        if (geo.agblocks > 0 && want % geo.agblocks != 0 && want % geo.agblocks < XFS_MIN_AG_BLOCKS)
                want -= want % geo.agblocks;
        p->old_size = geo.datablocks * geo.blocksize;
        p->new_size = MAX(want, geo.datablocks) * geo.blocksize;
        if (want <= geo.datablocks || dry_run)
                return want > geo.datablocks;
        g.newblocks = want;
        g.imaxpct = geo.imaxpct;
        if (ioctl(fd, XFS_IOC_FSGROWFSDATA, &g) < 0)
                return log_debug_errno(errno, "XFS_IOC_FSGROWFSDATA to %" PRIu64 " blocks failed: %m", want);
        /* Report what the kernel did, not what we asked for. */
        if (ioctl(fd, XFS_IOC_FSGEOMETRY, &after) < 0)
                return log_debug_errno(errno, "XFS_IOC_FSGEOMETRY failed: %m");
        p->new_size = after.datablocks * after.blocksize;
        return after.datablocks > geo.datablocks;
}

static int grow_btrfs(int fd, uint64_t dev_size, bool dry_run, FsPlan *p) {
        struct btrfs_ioctl_fs_info_args fi = {};
        struct btrfs_ioctl_dev_info_args di = { .devid = 1 };
        struct btrfs_ioctl_vol_args va = {};
        uint64_t want;

        if (ioctl(fd, BTRFS_IOC_FS_INFO, &fi) < 0)
                return log_debug_errno(errno, "BTRFS_IOC_FS_INFO failed: %m");
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

static const char *fs_name(const BlockStack *s) {
        return s->fstype ?: "an unknown filesystem";
}

const char *fs_kind(unsigned long f_type) {
        switch (f_type) {
        case EXT4_SUPER_MAGIC:
                return "ext4";
        case XFS_SUPER_MAGIC:
                return "xfs";
        case BTRFS_SUPER_MAGIC:
                return "btrfs";
        default:
                return NULL;
        }
}

static int fs_open(const BlockStack *s, int *ret_fd, const char **ret_kind) {
        _cleanup_close_ int fd = -EBADF;
        struct statfs sfs;
        const char *kind;

        fd = open(s->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_debug_errno(errno, "Cannot open '%s': %m", s->mountpoint);
        if (fstatfs(fd, &sfs) < 0)
                return negative_errno();
        kind = fs_kind((unsigned long) sfs.f_type);
        if (!kind)
                return log_refusal_errno(SYNTHETIC_ERRNO(EMEDIUMTYPE),
                                         "'%s' is %s (magic 0x%lx); only ext4, xfs and btrfs grow.", s->mountpoint,
                                         fs_name(s), (unsigned long) sfs.f_type);
        if (streq(kind, "btrfs")) {
                struct btrfs_ioctl_fs_info_args fi = {};

                if (ioctl(fd, BTRFS_IOC_FS_INFO, &fi) < 0)
                        return log_debug_errno(errno, "BTRFS_IOC_FS_INFO failed: %m");
                if (fi.num_devices != 1 || fi.max_id != 1)
                        return log_refusal_errno(SYNTHETIC_ERRNO(EOPNOTSUPP),
                                                 "'%s' is a btrfs on %llu devices; only a single-device btrfs "
                                                 "grows automatically.", s->mountpoint,
                                                 (unsigned long long) fi.num_devices);
        }
        *ret_fd = TAKE_FD(fd);
        *ret_kind = kind;
        return 0;
}

int fs_check(const BlockStack *s) {
        _cleanup_close_ int fd = -EBADF;
        const char *kind;

        return fs_open(s, &fd, &kind);
}

int fs_grow(const BlockStack *s, bool dry_run, uint64_t planned_size, FsPlan *ret) {
        _cleanup_close_ int fd = -EBADF;
        FsPlan p = {};
        uint64_t dev_size;
        int r;

        r = fs_open(s, &fd, &p.type);
        if (r < 0)
                return r;
        r = blockdev_size(s->fs_device, &dev_size);
        if (r < 0)
                return log_debug_errno(r, "Cannot get the size of '%s': %m", s->fs_device);
        /* A dry run has not grown the device yet: plan against the size
         * the earlier steps would have given it. */
        if (dry_run)
                dev_size = MAX(dev_size, planned_size);

        if (streq(p.type, "ext4"))
                r = grow_ext4(fd, s, dev_size, dry_run, &p);
        else if (streq(p.type, "xfs"))
                r = grow_xfs(fd, dev_size, dry_run, &p);
        else
                r = grow_btrfs(fd, dev_size, dry_run, &p);
        if (r < 0)
                return r;
        if (r > 0 && !dry_run)
                test_hook("fs:resized");
        *ret = p;
        return r;
}
