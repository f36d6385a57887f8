/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libcryptsetup helpers shared by the tools: opening a LUKS2 header,
 * routing libcryptsetup's log into ours, adding a keyslot for a
 * full-entropy TPM secret, and checking a passphrase against one keyslot. */

#include <libcryptsetup.h>

#include "macro.h"
#include "secret.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct crypt_device *, crypt_free);

/* Route libcryptsetup's messages into our debug log (NULL: the default
 * for contexts not yet made) and never load token plugins. */
void luks_setup_logging(struct crypt_device *cd);

/* Open @path and load its LUKS2 header. LUKS1 and plain devices are
 * refused with -EMEDIUMTYPE; a device without a LUKS header gives -ENODATA.
 * Token plugins are never loaded: we parse the tokens we use ourselves. */
int luks_open(const char *path, struct crypt_device **ret);

/* The LUKS2 device (e.g. /dev/vda2) under the dm-crypt mapping that the
 * filesystem mounted at @path sits on: returns 1 and sets *@ret. Returns 0
 * (*@ret NULL) when no dm-crypt mapping is under that filesystem at all
 * (a plain partition, LVM on a plain disk): nothing to do for a caller.
 * -ENOTBLK if the mount has no block device to look at, -EMEDIUMTYPE if
 * the mapping is not LUKS2, an error also when dm-crypt is only further
 * down the stack (LVM on LUKS): encrypted, but not a layout we handle. */
int luks_device_of_mount(const char *path, char **ret);

/* Recover the volume key with @passphrase from @keyslot. Pass a real slot
 * whenever one is known: CRYPT_ANY_SLOT tries every slot, argon2id ones
 * included (seconds and hundreds of MiB each). Returns the slot used. */
int luks_volume_key_get(struct crypt_device *cd, int keyslot, const Secret *passphrase, Secret **ret_vk);

/* Add a keyslot for @passphrase with PBKDF2-SHA512, 1000 iterations, as
 * systemd-cryptenroll does for TPM secrets (they have full entropy, so a
 * slow KDF buys nothing and costs every boot). Returns the new slot. */
int luks_add_keyslot_fast(struct crypt_device *cd, const Secret *vk, const Secret *passphrase);

/* Does @passphrase open @keyslot? 0 yes, -EPERM no, other <0 error.
 * Activates no device; with CRYPT_ACTIVATE_KEYRING_KEY in @flags the volume
 * key is loaded into the kernel keyring for this context. */
int luks_unlock_keyslot(struct crypt_device *cd, int keyslot, const Secret *passphrase, uint32_t flags);
static inline int luks_test_keyslot(struct crypt_device *cd, int keyslot, const Secret *passphrase) {
        return luks_unlock_keyslot(cd, keyslot, passphrase, 0);
}

/* Keyslot count of a LUKS2 header, and whether a slot is in use. */
int luks_keyslot_max(void);
bool luks_keyslot_in_use(struct crypt_device *cd, int keyslot);
