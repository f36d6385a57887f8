/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Memory for key material: its own mmap'ed pages, mlock'ed so they are
 * never swapped, MADV_DONTDUMP so they never land in a core dump, and wiped
 * with explicit_bzero before they are unmapped. Never log the contents. */

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct Secret {
        size_t size;     /* bytes in use */
        size_t capacity; /* bytes usable */
        size_t mapped;   /* length of the mapping (page multiple) */
        uint8_t *data;
} Secret;

/* Allocate a zeroed secret of @size usable bytes (size may be 0). mlock
 * failure (RLIMIT_MEMLOCK) is logged at debug level and tolerated, as
 * cryptsetup does: refusing to work would be worse than an unlocked page. */
int secret_new(size_t size, Secret **ret);
int secret_new_random(size_t size, Secret **ret);
int secret_new_copy(const void *data, size_t size, Secret **ret);
Secret *secret_free(Secret *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Secret *, secret_free);

/* Base64 (no newlines) of @s, as a NUL-terminated string inside a new
 * secret (size excludes the NUL). This is the LUKS passphrase systemd
 * derives from an unsealed TPM secret. */
int secret_to_base64(const Secret *s, Secret **ret);

/* Read a whole file ("-" = stdin) of at most @max bytes straight into
 * locked memory, so no unlocked copy of the key exists. */
int secret_read_file(const char *path, size_t max, Secret **ret);

/* Make this process non-dumpable (no core dumps, no ptrace by non-root). */
void secret_harden_process(void);
