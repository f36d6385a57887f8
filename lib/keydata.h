/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The legacy cleartext key file cloud-init's growpart left in RHEL CVM
 * images: /cc_growpart_keydata = {"key": BASE64, "slot": N}. The decoded key
 * bytes are the passphrase of LUKS keyslot N. We read it (once) to migrate
 * away from it, and destroy it after its slot is gone. */

#include "secret.h"

#define KEYDATA_PATH_DEFAULT "/cc_growpart_keydata"
#define KEYDATA_FILE_MAX 4096

/* -ENOENT if the file does not exist; -EBADMSG if it is malformed. */
int keydata_read(const char *path, Secret **ret_key, int *ret_slot);

/* Overwrite with zeros, fsync, unlink, fsync the directory. 0 if it was
 * already gone. */
int keydata_destroy(const char *path);
