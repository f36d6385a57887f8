/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "log.h"
#include "luks-util.h"
#include "mount-util.h"

static void crypt_log_cb(int level, const char *msg, void *usrptr) {
        (void) usrptr;
        /* libcryptsetup ends messages with a newline; our logger adds one. */
        size_t n = strlen(msg);
        while (n > 0 && msg[n - 1] == '\n')
                n--;
        /* Debug level only: the tool reports the failure once, in its words. */
        (void) level;
        log_debug("libcryptsetup: %.*s", (int) n, msg);
}

void luks_setup_logging(struct crypt_device *cd) {
        crypt_token_external_disable();
        crypt_set_log_callback(cd, crypt_log_cb, NULL);
}

int luks_open(const char *path, struct crypt_device **ret) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        const char *type;
        int r;

        crypt_token_external_disable();
        crypt_set_log_callback(NULL, crypt_log_cb, NULL);

        r = crypt_init(&cd, path);
        if (r < 0)
                return log_debug_errno(r, "crypt_init('%s') failed: %m", path);
        crypt_set_log_callback(cd, crypt_log_cb, NULL);

        r = crypt_load(cd, NULL, NULL);
        if (r == -EINVAL)
                return log_debug_errno(SYNTHETIC_ERRNO(ENODATA), "'%s' has no LUKS header.", path);
        if (r < 0)
                return log_debug_errno(r, "Failed to load LUKS header of '%s': %m", path);
        type = crypt_get_type(cd);
        if (!streq_ptr(type, CRYPT_LUKS2))
                return log_debug_errno(SYNTHETIC_ERRNO(EMEDIUMTYPE), "'%s' is %s, not LUKS2.", path, strna(type));

        *ret = TAKE_PTR(cd);
        return 0;
}

int luks_keyslot_max(void) {
        return crypt_keyslot_max(CRYPT_LUKS2);
}

bool luks_keyslot_in_use(struct crypt_device *cd, int keyslot) {
        crypt_keyslot_info ki = crypt_keyslot_status(cd, keyslot);
        return ki == CRYPT_SLOT_ACTIVE || ki == CRYPT_SLOT_ACTIVE_LAST;
}

int luks_volume_key_get(struct crypt_device *cd, int keyslot, const Secret *passphrase, Secret **ret_vk) {
        _cleanup_(secret_freep) Secret *vk = NULL;
        size_t vk_size;
        int r;

        if (keyslot < CRYPT_ANY_SLOT || keyslot >= luks_keyslot_max())
                return -EINVAL;
        r = crypt_get_volume_key_size(cd);
        if (r <= 0)
                return r < 0 ? r : -EINVAL;
        r = secret_new((size_t) r, &vk);
        if (r < 0)
                return r;
        vk_size = vk->size;
        r = crypt_volume_key_get(cd, keyslot, (char *) vk->data, &vk_size, (const char *) passphrase->data,
                                 passphrase->size);
        if (r < 0)
                return r;
        vk->size = vk_size;
        *ret_vk = TAKE_PTR(vk);
        return r;
}

int luks_add_keyslot_fast(struct crypt_device *cd, const Secret *vk, const Secret *passphrase) {
        struct crypt_pbkdf_type pbkdf = {
                .type = CRYPT_KDF_PBKDF2,
                .hash = "sha512",
                .iterations = 1000,
                .flags = CRYPT_PBKDF_NO_BENCHMARK,
        };
        int r;

        r = crypt_set_pbkdf_type(cd, &pbkdf);
        if (r < 0)
                return log_debug_errno(r, "Failed to set PBKDF2 parameters: %m");
        r = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, (const char *) vk->data, vk->size,
                                            (const char *) passphrase->data, passphrase->size);
        if (r < 0)
                return log_debug_errno(r, "Failed to add keyslot: %m");
        return r;
}

int luks_unlock_keyslot(struct crypt_device *cd, int keyslot, const Secret *passphrase, uint32_t flags) {
        int r;

        if (keyslot < 0 || keyslot >= luks_keyslot_max())
                return -EINVAL;
        r = crypt_activate_by_passphrase(cd, NULL, keyslot, (const char *) passphrase->data, passphrase->size, flags);
        if (r == -ENOENT || r == -EPERM)
                return -EPERM;
        return r < 0 ? r : 0;
}

/* The dm name of a block device, from sysfs (-ENOTBLK: not a dm device). */
static int dm_name_of(dev_t devno, char *buf, size_t size) {
        char p[PATH_MAX];
        _cleanup_fclose_ FILE *f = NULL;

        snprintf(p, sizeof p, "/sys/dev/block/%u:%u/dm/name", major(devno), minor(devno));
        f = fopen(p, "re");
        if (!f)
                return errno == ENOENT ? -ENOTBLK : negative_errno();
        if (!fgets(buf, (int) size, f))
                return -EIO;
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

/* Whether @devno or a device below it (its sysfs "slaves", e.g. LVM on
 * LUKS) is a dm-crypt mapping: cryptsetup and systemd-cryptsetup name
 * their dm uuids "CRYPT-<type>-...". 1 yes, 0 no, <0 unknown. */
static int stack_has_crypt(dev_t devno, unsigned depth) {
        _cleanup_closedir_ DIR *d = NULL;
        char p[PATH_MAX], line[256];
        struct dirent *de;
        int r;

        if (depth > 16)
                return -ELOOP;
        snprintf(p, sizeof p, "/sys/dev/block/%u:%u/dm/uuid", major(devno), minor(devno));
        {
                _cleanup_fclose_ FILE *f = fopen(p, "re");
                if (f && fgets(line, sizeof line, f) && strncmp(line, "CRYPT-", 6) == 0)
                        return 1;
        }
        snprintf(p, sizeof p, "/sys/dev/block/%u:%u/slaves", major(devno), minor(devno));
        d = opendir(p);
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d))) {
                unsigned ma, mi;
                char q[PATH_MAX + 300];

                if (de->d_name[0] == '.')
                        continue;
                snprintf(q, sizeof q, "%s/%s/dev", p, de->d_name);
                _cleanup_fclose_ FILE *f = fopen(q, "re");
                if (!f || !fgets(line, sizeof line, f) || sscanf(line, "%u:%u", &ma, &mi) != 2)
                        return -EIO;
                r = stack_has_crypt(makedev(ma, mi), depth + 1);
                if (r != 0)
                        return r;
        }
        return 0;
}

int luks_device_of_mount(const char *path, char **ret) {
        _cleanup_(mount_info_done) MountInfo m = {};
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        const char *dev;
        char name[256];
        int r;

        *ret = NULL;
        r = mount_info_get(path, &m);
        if (r < 0)
                return r;
        if (m.devno == 0)
                return log_debug_errno(SYNTHETIC_ERRNO(ENOTBLK), "'%s' is not mounted from a block device.", m.target);
        r = stack_has_crypt(m.devno, 0);
        if (r < 0)
                return log_debug_errno(r, "Cannot tell whether '%s' (%s) is on dm-crypt: %m", m.target, strna(m.source));
        if (r == 0) {
                log_debug("'%s' (%s) is on no dm-crypt mapping.", m.target, strna(m.source));
                return 0;
        }
        r = dm_name_of(m.devno, name, sizeof name);
        if (r < 0)
                return log_debug_errno(r, "'%s' (%s) is not a device-mapper device.", m.target, strna(m.source));

        luks_setup_logging(NULL);
        r = crypt_init_by_name(&cd, name);
        if (r < 0)
                return log_debug_errno(r, "'%s' is not an active dm-crypt mapping: %m", name);
        if (!streq_ptr(crypt_get_type(cd), CRYPT_LUKS2))
                return log_debug_errno(SYNTHETIC_ERRNO(EMEDIUMTYPE), "Mapping '%s' is not LUKS2.", name);
        dev = crypt_get_device_name(cd);
        if (!dev)
                return -ENODEV;
        *ret = strdup(dev);
        return *ret ? 1 : -ENOMEM;
}
