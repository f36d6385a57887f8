/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sealing a LUKS secret to TPM PCRs the way systemd does, so that
 * systemd-cryptsetup opens what we seal and we open what
 * systemd-cryptenroll sealed.
 *
 * Parent: a transient primary key made from systemd's template in the owner
 * hierarchy (ECC P-256, else RSA 2048; restricted decrypt, AES-128-CFB, no
 * noDA), or — for tokens systemd ≥ 254 wrote — the persistent SRK whose
 * serialized ESYS_TR the token carries in "tpm2_srk".
 * Object: a keyedhash sealed data object whose authPolicy is
 * PolicyPCR(sha256 PCRs), secret = 32 random bytes; the LUKS passphrase is
 * base64(secret). Blob = TPM2B_PRIVATE ‖ TPM2B_PUBLIC, as systemd marshals. */

#include <stdint.h>

#include "secret.h"
#include "tpm2-util.h"

#define TPM2_SEAL_SECRET_SIZE 32U
#define TPM2_BLOB_MAX 4096U

typedef struct Tpm2SealedKey {
        uint32_t pcr_mask;
        uint16_t pcr_bank;    /* TPM2_ALG_SHA256 (sha1 is read but refused) */
        uint16_t primary_alg; /* TPM2_ALG_ECC or TPM2_ALG_RSA */
        uint8_t *blob;
        size_t blob_size;
        uint8_t policy_hash[TPM2_SHA256_SIZE];
        size_t policy_hash_size; /* 0: the token carried none */
        uint8_t *srk;         /* serialized ESYS_TR of a persistent parent, or NULL */
        size_t srk_size;
} Tpm2SealedKey;

void tpm2_sealed_key_done(Tpm2SealedKey *k);

/* Seal a fresh random secret to the current values of the sha256 PCRs in
 * @pcr_mask under systemd's transient primary. */
int tpm2_seal(Tpm2Context *c, uint32_t pcr_mask, Tpm2SealedKey *ret_key, Secret **ret_secret);

/* The same, sealed to given values of those PCRs instead of the current
 * ones (cvm-enroll reseal: the values predicted for the next boot).
 * @pcr_values: one per PCR in @pcr_mask, lowest index first; NULL = read
 * the TPM's. */
int tpm2_seal_to_values(Tpm2Context *c, uint32_t pcr_mask, const uint8_t pcr_values[][TPM2_SHA256_SIZE],
                        Tpm2SealedKey *ret_key, Secret **ret_secret);

/* Seal @secret (1..128 bytes) under systemd's transient primary with the
 * given PolicyPCR digest @policy for @pcr_mask (all zeros for no PCRs):
 * re-sealing a secret that already exists (convert-import). */
int tpm2_seal_secret(Tpm2Context *c, uint32_t pcr_mask, const uint8_t policy[TPM2_SHA256_SIZE],
                     const Secret *secret, Tpm2SealedKey *ret_key);

/* Unseal. Returns -EPERM if the PCRs no longer match the policy (checked
 * against policy_hash before the TPM is asked to unseal, so a mismatch
 * costs no dictionary-attack counter), -EBADMSG for a blob that is corrupt
 * or belongs to another TPM, -EOPNOTSUPP for what we cannot use. */
int tpm2_unseal(Tpm2Context *c, const Tpm2SealedKey *key, Secret **ret_secret);

/* Create the transient primary for @alg (0: ECC, falling back to RSA). */
int tpm2_make_primary(Tpm2Context *c, uint16_t alg, Tpm2Handle *ret, uint16_t *ret_alg);

/* Join TPM2B_PRIVATE ‖ TPM2B_PUBLIC into a token blob. */
int tpm2_blob_marshal(const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub, uint8_t **ret, size_t *ret_size);

/* Split a blob into its two marshalled halves, rejecting trailing bytes. */
int tpm2_blob_unmarshal(const uint8_t *blob, size_t size, TPM2B_PRIVATE *ret_private, TPM2B_PUBLIC *ret_public);

/* Does @key's policy digest equal PolicyPCR over @pcr_values (one per PCR
 * of its mask, lowest index first) / over the TPM's current values? 1 yes,
 * 0 no, -ENODATA if the token recorded no policy digest. Computed in
 * software: no unseal attempt, no dictionary-attack counter. */
int tpm2_policy_matches_values(const Tpm2SealedKey *key, const uint8_t pcr_values[][TPM2_SHA256_SIZE]);
int tpm2_policy_matches_now(Tpm2Context *c, const Tpm2SealedKey *key);
