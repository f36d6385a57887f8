/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit statuses (documented in cvm-growroot(8)). */
enum {
        EXIT_GROW_UNSUPPORTED = 3, /* layout we don't grow: partition not last, LUKS1, unknown fs, … */
        EXIT_GROW_CORRUPT = 4,     /* corrupt/inconsistent table: GPT header bad, disk smaller than table */
        EXIT_GROW_NO_KEY = 5,      /* LUKS needs a key and neither the TPM nor a legacy key gave one */
        EXIT_GROW_READ_ONLY = 6,   /* device is read-only */
};

/* Map an errno from a step to the exit status above (or 1). */
int growroot_exit_status(int r);

/* Refusing bad input (a layout we don't grow, a corrupt table, a read-only
 * disk): the step that finds it says what is wrong in one error-level line,
 * naming the device and the reason, and main() adds no second, vaguer
 * "Failed to …: Directory not empty". Returns -ERRNO_VALUE(error). */
void growroot_note_refusal(void);
bool growroot_refused(void);
#define log_refusal_errno(error, ...) (growroot_note_refusal(), log_error_errno(error, __VA_ARGS__))

/* The device stack under a mount point (or under --device). */
typedef struct BlockStack {
        char *fs_device;     /* what the filesystem sits on: /dev/dm-0 or /dev/vda2 */
        char *crypt_name;    /* dm-crypt mapping name, or NULL */
        char *part_device;   /* the partition: /dev/vda2, or NULL (whole disk) */
        char *disk;          /* the whole disk: /dev/vda */
        unsigned partno;     /* kernel partition number, 0 if none */
        char *mountpoint;    /* NULL with --device and nothing mounted */
        char *fstype;        /* libmount's name of the mounted filesystem, or NULL */
} BlockStack;

void block_stack_done(BlockStack *s);
int block_stack_from_mount(const char *path, BlockStack *ret);
int block_stack_from_device(const char *dev, BlockStack *ret);

/* Partition step. */
typedef struct PartPlan {
        const char *label;        /* "gpt" or "dos" */
        uint64_t sector_size;
        uint64_t start, old_end, new_end; /* sectors, inclusive */
        uint64_t kernel_size;     /* what the kernel thinks the partition spans, in sectors */
        bool relocate_backup;     /* GPT backup header not at the end of the disk */
} PartPlan;

/* 1 if something is to do, 0 if not. Writes nothing. */
int part_plan(const BlockStack *s, PartPlan *ret);
/* The part of the plan that comes from the table alone (all but
 * kernel_size): @c is a libfdisk context on @fd, the disk s->disk, and
 * @corrupt libfdisk's complaint about the table, if it had one. Only
 * s->disk and s->partno are used. 0 or a refusal. */
struct fdisk_context;
/* 1 if sector 0 holds a protective MBR (an entry of type 0xEE). */
int has_protective_mbr(int fd);

int part_plan_table(struct fdisk_context *c, int fd, const BlockStack *s, const char *corrupt, PartPlan *ret);
/* Apply (re-planning under the disk lock first). 1 changed, 0 nothing to do. */
int part_apply(const BlockStack *s, PartPlan *ret);

/* LUKS2 step: grow the active dm-crypt mapping to its device. 1 changed
 * (or would, with @dry_run), 0 nothing to do. -ENOKEY if a key was needed
 * and neither a TPM2 token nor the legacy key file gave one. With @dry_run,
 * @planned_size is the size the partition would have after the partition
 * step (0: its current size), so the plan shows what a real run would do. */
typedef struct LuksPlan {
        uint64_t old_size, new_size; /* bytes of the mapping */
        const char *unlocked_with;   /* "none", "tpm2", "keydata" */
        int keyslot;
        unsigned tpm2_commands;
        int tpm2_error;              /* why the TPM did not open (tpm2_context_new()), 0 if it did or was not needed */
} LuksPlan;
int luks_grow(const BlockStack *s, const char *tpm2_device, const char *keydata, bool dry_run,
              uint64_t planned_size, LuksPlan *ret);

/* Filesystem step. */
typedef struct FsPlan {
        const char *type; /* "ext4", "xfs", "btrfs" */
        uint64_t old_size, new_size; /* bytes */
} FsPlan;
/* 0 if the filesystem at s->mountpoint is one we grow, else a refusal
 * (-EMEDIUMTYPE, -EOPNOTSUPP). Checked before any step writes, so bad
 * input leaves the disk untouched. */
int fs_check(const BlockStack *s);
/* With @dry_run, @planned_size is the size the device under the filesystem
 * would have after the earlier steps (0: its current size). */
int fs_grow(const BlockStack *s, bool dry_run, uint64_t planned_size, FsPlan *ret);

int blockdev_size(const char *path, uint64_t *ret);

/* The filesystem type by its statfs() magic (what the kernel says, not
 * what mountinfo's text claims): "ext4", "xfs", "btrfs", or NULL. */
const char *fs_kind(unsigned long f_type);

/* Unmap libfdisk once the partition step is done (growroot-lazy.c). */
void growroot_unload_partition_libs(void);

/* --initrd without --device: the root's device from the kernel command
 * line, waiting up to @timeout_sec for it to appear. */
int initrd_find_device(unsigned timeout_sec, char **ret);
