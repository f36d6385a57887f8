/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Growing an active LUKS2 mapping online. When the volume key lives in the
 * kernel keyring (the default for LUKS2), crypt_resize() needs the key
 * loaded into this context first, or it fails with EPERM — the case
 * systemd-growfs gives up on. We unseal the systemd-tpm2 token's secret
 * and open only that token's keyslot (never "any slot": an argon2id slot
 * tried first costs seconds and ~290 MiB). */
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "growroot.h"
#include "keydata.h"
#include "log.h"
#include "luks-tpm2.h"
#include "luks-util.h"
#include "test-hook.h"

int blockdev_size(const char *path, uint64_t *ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

        if (fd < 0)
                return negative_errno();
        if (ioctl(fd, BLKGETSIZE64, ret) < 0)
                return negative_errno();
        return 0;
}

typedef struct Unlock {
        const char *tpm2_device;
        int tpm_error; /* the TPM failed to open: no further token is tried */
        unsigned n_commands;
        int keyslot;
} Unlock;

static int unlock_cb(struct crypt_device *cd, int token_id, const Tpm2Token *t, int parse_error, void *userdata) {
        _cleanup_(tpm2_context_freep) Tpm2Context *tpm = NULL;
        Unlock *u = userdata;
        int r;

        if (parse_error < 0 || u->keyslot >= 0 || u->tpm_error < 0)
                return 0;
        /* A TPM context per token, freed before the next one: through the
         * kernel's resource manager its objects are then flushed when it
         * closes, and need no TPM2_FlushContext of their own. */
        r = tpm2_context_new(u->tpm2_device, &tpm);
        if (r < 0) {
                u->tpm_error = log_debug_errno(r, "No TPM: %m");
                return 0;
        }
        tpm2_context_defer_flush(tpm);
        r = luks_tpm2_unlock(cd, tpm, t, CRYPT_ACTIVATE_KEYRING_KEY, NULL);
        u->n_commands += tpm->n_commands;
        if (r < 0) {
                log_debug_errno(r, "TPM2 token %i does not unlock: %m", token_id);
                return 0;
        }
        u->keyslot = t->keyslot;
        return 0;
}

/* Load the volume key into the keyring: TPM2 tokens first, then the legacy
 * key file (left for cvm-enroll to wipe after migration). */
static int load_volume_key(struct crypt_device *cd, const char *tpm2_device, const char *keydata, LuksPlan *p) {
        _cleanup_(secret_freep) Secret *key = NULL;
        Unlock u = { .tpm2_device = tpm2_device, .keyslot = -1 };
        int slot, r;

        r = luks_tpm2_foreach_token(cd, unlock_cb, &u);
        p->tpm2_commands = u.n_commands;
        p->tpm2_error = u.tpm_error;
        if (r < 0)
                return r;
        if (u.keyslot >= 0) {
                p->unlocked_with = "tpm2";
                p->keyslot = u.keyslot;
                return 0;
        }

        r = keydata_read(keydata, &key, &slot);
        if (r == -ENOENT)
                return log_debug_errno(SYNTHETIC_ERRNO(ENOKEY), "No TPM2 token unlocks and there is no %s.", keydata);
        if (r < 0)
                return log_debug_errno(r, "Cannot use legacy key file '%s': %m", keydata);
        r = luks_unlock_keyslot(cd, slot, key, CRYPT_ACTIVATE_KEYRING_KEY);
        if (r < 0)
                return log_debug_errno(r == -EPERM ? -ENOKEY : r, "Legacy key does not open keyslot %i: %m", slot);
        p->unlocked_with = "keydata";
        p->keyslot = slot;
        return 0;
}

/* The no-op check of every boot but the first, without libcryptsetup
 * (whose initialisation, crypto backend included, is most of a no-op run's
 * time): the active dm-crypt table, from the kernel, gives the mapping's
 * length, its data offset and its encryption sector size, which is all
 * luks_grow() compares. 1 when the mapping already spans its device (@ret
 * filled in), 0 when it does not or anything is unexpected (then
 * libcryptsetup decides). The table's key field is the volume key in hex
 * when the key is not in the kernel keyring: the buffer is locked secret
 * memory, wiped when freed, and DM_SECURE_DATA_FLAG makes the kernel wipe
 * its copy, as libcryptsetup's own table queries do. */
static int luks_quick_noop(const BlockStack *s, uint64_t dev_size, LuksPlan *ret) {
        _cleanup_(secret_freep) Secret *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct dm_ioctl *io;
        struct dm_target_spec *t;
        uint64_t offset = 0, sector_size = 512, new_size;
        char *params, *tok, *save = NULL;
        const size_t size = 16384;
        unsigned n = 0, nopt = 0;

        if (strlen(s->crypt_name) >= DM_NAME_LEN)
                return 0;
        if (secret_new(size, &buf) < 0)
                return 0;
        io = (struct dm_ioctl *) buf->data;
        *io = (struct dm_ioctl) {
                .version = { DM_VERSION_MAJOR, 0, 0 },
                .data_size = size,
                .data_start = sizeof(struct dm_ioctl),
                .flags = DM_STATUS_TABLE_FLAG | DM_SECURE_DATA_FLAG,
        };
        strcpy(io->name, s->crypt_name);
        fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
        if (fd < 0 || ioctl(fd, DM_TABLE_STATUS, io) < 0)
                return 0;
        if ((io->flags & DM_BUFFER_FULL_FLAG) || io->target_count != 1 || io->data_start < sizeof(struct dm_ioctl) ||
            io->data_size > size || io->data_start + sizeof(*t) >= io->data_size)
                return 0;
        t = (struct dm_target_spec *) (buf->data + io->data_start);
        params = (char *) (t + 1);
        buf->data[size - 1] = 0;
        if (t->sector_start != 0 || strncmp(t->target_type, "crypt", sizeof t->target_type) != 0)
                return 0;

        /* <cipher> <key> <iv_offset> <device> <offset> [<#opt> <opt>...] */
        for (tok = strtok_r(params, " ", &save); tok; tok = strtok_r(NULL, " ", &save), n++) {
                if (n == 4 && sscanf(tok, "%" SCNu64, &offset) != 1)
                        return 0;
                if (n == 5 && sscanf(tok, "%u", &nopt) != 1)
                        return 0;
                if (n > 5 && strncmp(tok, "sector_size:", 12) == 0 &&
                    (sscanf(tok + 12, "%" SCNu64, &sector_size) != 1 || sector_size < 512 || sector_size > 4096))
                        return 0;
        }
        if (n < 5 || offset > dev_size / 512)
                return 0;
        new_size = dev_size - offset * 512;
        new_size -= new_size % sector_size;
        if (new_size > t->length * 512)
                return 0;
        *ret = (LuksPlan) {
                .old_size = t->length * 512,
                .new_size = t->length * 512,
                .unlocked_with = "none",
                .keyslot = -1,
        };
        return 1;
}

int luks_grow(const BlockStack *s, const char *tpm2_device, const char *keydata, bool dry_run,
              uint64_t planned_size, LuksPlan *ret) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        struct crypt_active_device cad;
        const char *under = s->part_device ?: s->disk;
        LuksPlan p = { .unlocked_with = "none", .keyslot = -1 };
        uint64_t dev_size;
        int r;

        /* Unless a dry run plans against a partition the partition step
         * has not grown yet. */
        if (!dry_run || planned_size == 0) {
                r = blockdev_size(under, &dev_size);
                if (r >= 0 && luks_quick_noop(s, dev_size, ret) > 0) {
                        log_debug("LUKS2 mapping '%s' already spans '%s' (dm table): nothing to do.", s->crypt_name,
                                  under);
                        return 0;
                }
        }
        luks_setup_logging(NULL);
        r = crypt_init_by_name(&cd, s->crypt_name);
        if (r < 0)
                return log_debug_errno(r, "Cannot find active LUKS mapping '%s': %m", s->crypt_name);
        luks_setup_logging(cd);
        if (!streq_ptr(crypt_get_type(cd), CRYPT_LUKS2))
                return log_refusal_errno(SYNTHETIC_ERRNO(EMEDIUMTYPE), "'%s' is not LUKS2; only LUKS2 grows online.",
                                         s->crypt_name);
        r = crypt_get_active_device(cd, s->crypt_name, &cad);
        if (r < 0)
                return r;
        r = blockdev_size(under, &dev_size);
        if (r < 0)
                return log_debug_errno(r, "Cannot get the size of '%s': %m", under);
        /* A dry run has not grown the partition: plan against the size the
         * partition step would have given it. */
        if (dry_run)
                dev_size = MAX(dev_size, planned_size);

        p.old_size = cad.size * 512;
        p.new_size = dev_size > cad.offset * 512 ? dev_size - cad.offset * 512 : 0;
        /* dm-crypt sizes are multiples of the encryption sector size. */
        p.new_size -= p.new_size % (uint64_t) MAX(crypt_get_sector_size(cd), 512);
        if (p.new_size <= p.old_size) {
                p.new_size = p.old_size;
                *ret = p;
                return 0;
        }
        if (dry_run) {
                *ret = p;
                return 1;
        }

        /* Without a keyring key (e.g. opened with --disable-keyring) the
         * kernel table carries the key and no unlock is needed. */
        r = crypt_resize(cd, s->crypt_name, 0);
        if (r == -EPERM) {
                r = load_volume_key(cd, tpm2_device, keydata, &p);
                if (r < 0) {
                        *ret = p;
                        return r;
                }
                test_hook("luks:key-loaded");
                r = crypt_resize(cd, s->crypt_name, 0);
        }
        if (r < 0)
                return log_debug_errno(r, "crypt_resize('%s') failed: %m", s->crypt_name);
        test_hook("luks:resized");
        *ret = p;
        return 1;
}
