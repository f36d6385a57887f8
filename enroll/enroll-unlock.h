/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libcryptsetup.h>

#include "enroll.h"
#include "secret.h"
#include "tpm2-util.h"

/* Get the volume key using an existing key chosen by @method (logs the
 * failure). Returns the keyslot that opened. */
int enroll_get_volume_key(struct crypt_device *cd, Tpm2Context *tpm, UnlockMethod method, const char *path,
                          Secret **ret_vk);
