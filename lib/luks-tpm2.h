/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* systemd-tpm2 tokens on a LUKS2 header: iterate them, and unlock a
 * token's own keyslot with its TPM-unsealed secret. Shared by cvm-enroll
 * (check, wipe-temporary, status) and cvm-growroot (online resize). */

#include <libcryptsetup.h>

#include "tpm2-token.h"

/* Called for each token of type systemd-tpm2. @parse_error < 0 if the
 * token could not be parsed (then @t is empty). A negative return stops
 * the iteration and is returned. */
typedef int (*luks_tpm2_token_cb)(struct crypt_device *cd, int token_id, const Tpm2Token *t, int parse_error,
                                  void *userdata);
int luks_tpm2_foreach_token(struct crypt_device *cd, luks_tpm2_token_cb cb, void *userdata);

/* Unseal @t's secret and prove base64(secret) opens @t's keyslot, with
 * crypt_activate_by_passphrase(cd, NULL, slot, …, @activate_flags): no
 * device is activated; CRYPT_ACTIVATE_KEYRING_KEY loads the volume key
 * into the kernel keyring (what crypt_resize needs). Returns 0 and the
 * passphrase, -EPERM if PCRs don't match or the passphrase doesn't open
 * the slot, other <0 on errors. */
int luks_tpm2_unlock(struct crypt_device *cd, Tpm2Context *c, const Tpm2Token *t, uint32_t activate_flags,
                     Secret **ret_passphrase);

/* Add a keyslot + systemd-tpm2 token for a fresh secret sealed to @pcr_mask,
 * using @vk (the volume key). Returns the token id; *ret_keyslot the slot. */
int luks_tpm2_enroll(struct crypt_device *cd, Tpm2Context *c, const Secret *vk, uint32_t pcr_mask, bool temporary,
                     int *ret_keyslot);

/* The same, sealed to given PCR values (one per PCR in @pcr_mask, lowest
 * index first; NULL: the current ones), the token marked by @flags. */
#define LUKS_TPM2_TEMPORARY 1U
#define LUKS_TPM2_RESEAL_PENDING 2U
int luks_tpm2_enroll_to_values(struct crypt_device *cd, Tpm2Context *c, const Secret *vk, uint32_t pcr_mask,
                               const uint8_t pcr_values[][TPM2_SHA256_SIZE], unsigned flags, int *ret_keyslot);
