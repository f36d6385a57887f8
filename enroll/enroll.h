/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "options.h"
#include "tpm2-util.h"

struct crypt_device;

/* Exit status (cvm-enroll(8)): --root= names a filesystem with no dm-crypt
 * mapping under it; nothing was done. The first-boot unit counts it as
 * success, so a plain image shows no failed unit. */
#define EXIT_NOT_ENCRYPTED 2

typedef enum UnlockMethod {
        UNLOCK_AUTO,     /* a TPM2 token that opens now, else the legacy key file */
        UNLOCK_KEY_FILE,
        UNLOCK_KEYDATA,
        UNLOCK_TPM2,
} UnlockMethod;

typedef struct EnrollArgs {
        CommonArgs common;
        const char *device;
        uint32_t pcr_mask;
        UnlockMethod unlock;
        const char *unlock_path; /* key file or keydata file */
        const char *keydata;     /* legacy key file considered by wipe-temporary */
        bool temporary;
        /* reseal */
        const char **replace;    /* "OLD=NEW" paths, n_replace of them */
        size_t n_replace;
        const char *eventlog;    /* NULL: EVENTLOG_PATH_DEFAULT */
        bool finalize;
        bool dry_run;
        const char *srk_pub;     /* seal-offline: target SRK public key file */
        const char *pcr_values;  /* seal-offline: target PCR values; reseal (tests): seal to these; FILE or IDX=HEX,... */
} EnrollArgs;

/* Open the LUKS2 volume of @a and the TPM, logging what failed; @refusal
 * (e.g. ", refusing to wipe anything") is appended to the TPM error. */
int enroll_open(const EnrollArgs *a, const char *refusal, struct crypt_device **ret_cd, Tpm2Context **ret_tpm);

/* Refuse, with one error line "'DEV' is read-only; cannot @what.", when
 * @a's LUKS2 device cannot be written: checked before a step writes, so
 * nothing is unsealed or half-done for a write that must fail. */
int enroll_refuse_read_only(const EnrollArgs *a, const char *what);

int verb_tpm2(const EnrollArgs *a);
int verb_check(const EnrollArgs *a);
int verb_status(const EnrollArgs *a);
int verb_wipe_temporary(const EnrollArgs *a);
int verb_reseal(const EnrollArgs *a);
int verb_seal_offline(const EnrollArgs *a);
int verb_convert_import(const EnrollArgs *a);
