/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "evidence.h"
#include "hostkey-binding.h"
#include "options.h"

#define AUTHCHECK_RUNTIME_DIR "/run/cvm-authcheck"
#define AUTHCHECK_EVIDENCE_NAME "evidence.json"
#define AUTHCHECK_HOST_KEYS_DIR "/etc/ssh"
#define AUTHCHECK_SSHD_CONFIG "/etc/ssh/sshd_config"
#define AUTHCHECK_SSHD "/usr/sbin/sshd"
#define AUTHCHECK_CONSOLE "/dev/console"
#define AUTHCHECK_PCRS_DEFAULT UINT32_C(0xFFFF) /* 0–15 */

typedef struct AuthcheckArgs {
        CommonArgs common;
        const char *host_keys_dir;   /* scan this directory instead of asking sshd */
        const char *sshd_config;     /* sshd -T -f this */
        const char *runtime_dir;
        const char *output;          /* extra copy of the evidence */
        const char *console;         /* NULL: don't print the framed block */
        uint32_t pcr_mask;
} AuthcheckArgs;

/* authcheck-keys.c: the public host keys sshd uses (see there), sorted
 * by file name, each checked against its private key. */
int host_keys_load(const AuthcheckArgs *a, HostKey **ret, size_t *ret_n);

/* authcheck-evidence.c: quote the keys with the AK and fill in evidence. */
int evidence_create(const AuthcheckArgs *a, const HostKey *keys, size_t n_keys, const uint8_t *nonce,
                    size_t nonce_size, Evidence *ret);
int evidence_format(const Evidence *e, JsonFormat format, char **ret);
