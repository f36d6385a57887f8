/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sealing to a TPM that is not here: build, in software, a sealed data
 * object and wrap it as a TPM2_Import duplicate for a target storage key
 * (SRK) of which only the public area is known (TPM 2.0 part 1, "Protected
 * Storage" and "Duplication": outer wrapper only, no inner wrapper).
 *
 *   seed     RSA SRK: random, RSA-OAEP(nameAlg, label "DUPLICATE\0");
 *            ECC SRK: ephemeral ECDH, seed = KDFe(nameAlg, Z, "DUPLICATE",
 *            ephemeral.x, srk.x), the ephemeral point is the encrypted seed
 *   symKey   KDFa(nameAlg, seed, "STORAGE", Name(object), -, symBits)
 *   hmacKey  KDFa(nameAlg, seed, "INTEGRITY", -, -, digestBits)
 *   dup      AES-CFB(symKey, IV 0, TPM2B_SENSITIVE)
 *   private  TPM2B_DIGEST(HMAC(hmacKey, dup ‖ Name(object))) ‖ dup
 *
 * nameAlg and the AES key size are the SRK's. The object is what
 * tpm2_seal() makes (keyedhash, nameAlg sha256, authPolicy = PolicyPCR
 * digest), except that fixedTPM/fixedParent are clear, as TPM2_Import
 * requires of a duplicated object. */

#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "secret.h"

/* KDFa (SP 800-108 counter mode with HMAC, TPM 2.0 part 1 §11.4.10.2):
 * HMAC(key, i ‖ label ‖ 0 ‖ u ‖ v ‖ bits) for i = 1, 2, …, 32-bit
 * big-endian counters. @bits must be a multiple of 8; @ret gets bits/8. */
int tpm2_kdfa(TPMI_ALG_HASH alg, const uint8_t *key, size_t key_size, const char *label, const uint8_t *u,
              size_t u_size, const uint8_t *v, size_t v_size, size_t bits, uint8_t *ret);

/* KDFe (SP 800-56A concatenation KDF, part 1 §11.4.10.3):
 * H(i ‖ Z ‖ label ‖ 0 ‖ u ‖ v) for i = 1, 2, … */
int tpm2_kdfe(TPMI_ALG_HASH alg, const uint8_t *z, size_t z_size, const char *label, const uint8_t *u,
              size_t u_size, const uint8_t *v, size_t v_size, size_t bits, uint8_t *ret);

/* Name = nameAlg ‖ H_nameAlg(marshalled TPMT_PUBLIC). */
int tpm2_object_name(const TPMT_PUBLIC *pub, TPM2B_NAME *ret);

/* The SRK public key as the image builder gets it: a marshalled
 * TPM2B_PUBLIC (tpm2_readpublic -o, "tss" format) or TPMT_PUBLIC, or a PEM
 * public key (then the rest of the public area is systemd's SRK template:
 * nameAlg sha256, AES-128-CFB). Then checked with
 * tpm2_srk_public_invalid_reason(). -EBADMSG: not a public key at all;
 * -EMEDIUMTYPE: a key, but not one a duplicate can be made for, and
 * *ret_reason (if not NULL) says why in a static phrase. */
int tpm2_srk_public_load(const uint8_t *data, size_t size, TPM2B_PUBLIC *ret, const char **ret_reason);

/* Why @pub cannot be the parent of an import (a static phrase for the
 * user), or NULL. Accepted: restricted decrypt (storage) keys, not signing,
 * RSA 2048–4096 with a NULL scheme or ECC P-256/P-384, AES-CFB 128/256
 * symmetric, nameAlg sha256/sha384. */
const char *tpm2_srk_public_invalid_reason(const TPMT_PUBLIC *pub);

typedef struct Tpm2Duplicate {
        TPM2B_PUBLIC public;          /* the sealed object */
        TPM2B_PRIVATE duplicate;      /* outer-wrapped TPM2B_SENSITIVE */
        TPM2B_ENCRYPTED_SECRET seed;  /* encrypted to the SRK */
} Tpm2Duplicate;

/* Make a duplicate of a sealed object holding @secret (1..128 bytes) with
 * authPolicy @policy, importable under @srk only. */
int tpm2_duplicate_seal(const TPMT_PUBLIC *srk, const uint8_t policy[32], const Secret *secret,
                        Tpm2Duplicate *ret);

/* Marshalled forms (as tpm2_import -u/-i/-s read them) and back. Parsing
 * is exact: no trailing bytes, sizes that match. */
int tpm2_duplicate_marshal_public(const TPM2B_PUBLIC *p, uint8_t **ret, size_t *ret_size);
int tpm2_duplicate_marshal_private(const TPM2B_PRIVATE *p, uint8_t **ret, size_t *ret_size);
int tpm2_duplicate_marshal_seed(const TPM2B_ENCRYPTED_SECRET *s, uint8_t **ret, size_t *ret_size);
int tpm2_duplicate_parse_private(const uint8_t *data, size_t size, TPM2B_PRIVATE *ret);
int tpm2_duplicate_parse_seed(const uint8_t *data, size_t size, TPM2B_ENCRYPTED_SECRET *ret);
