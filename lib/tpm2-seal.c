/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <tss2/tss2_mu.h>

#include "log.h"
#include "pcr-spec.h"
#include "tpm2-seal.h"

#define PRIMARY_ATTRS                                                                           \
        (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |                 \
         TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH)

/* A macro, not a const object: C requires constant initializers. */
#define AES128_CFB { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB }

/* systemd 252's primary templates. Same template + same owner seed = same
 * key, which is why the primary need not be stored. */
static const TPM2B_PUBLIC primary_template_ecc = {
        .size = sizeof(TPMT_PUBLIC),
        .publicArea = {
                .type = TPM2_ALG_ECC,
                .nameAlg = TPM2_ALG_SHA256,
                .objectAttributes = PRIMARY_ATTRS,
                .parameters.eccDetail = {
                        .symmetric = AES128_CFB,
                        .scheme.scheme = TPM2_ALG_NULL,
                        .curveID = TPM2_ECC_NIST_P256,
                        .kdf.scheme = TPM2_ALG_NULL,
                },
        },
};

static const TPM2B_PUBLIC primary_template_rsa = {
        .size = sizeof(TPMT_PUBLIC),
        .publicArea = {
                .type = TPM2_ALG_RSA,
                .nameAlg = TPM2_ALG_SHA256,
                .objectAttributes = PRIMARY_ATTRS,
                .parameters.rsaDetail = {
                        .symmetric = AES128_CFB,
                        .scheme.scheme = TPM2_ALG_NULL,
                        .keyBits = 2048,
                },
        },
};

void tpm2_sealed_key_done(Tpm2SealedKey *k) {
        if (!k)
                return;
        free(k->blob);
        free(k->srk);
        *k = (Tpm2SealedKey) {};
}

int tpm2_make_primary(Tpm2Context *c, uint16_t alg, Tpm2Handle *ret, uint16_t *ret_alg) {
        static const TPM2B_SENSITIVE_CREATE empty_sensitive = {};
        static const TPM2B_DATA no_outside_info = {};
        static const TPML_PCR_SELECTION no_creation_pcrs = {};
        ESYS_TR tr = ESYS_TR_NONE;
        TSS2_RC rc = TSS2_RC_SUCCESS;

        if (alg != 0 && alg != TPM2_ALG_ECC && alg != TPM2_ALG_RSA)
                return log_debug_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "Unsupported primary key algorithm 0x%04x.", alg);

        if (alg == 0 || alg == TPM2_ALG_ECC) {
                rc = TPM2_CALL(c, Esys_CreatePrimary(c->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                                     ESYS_TR_NONE, &empty_sensitive, &primary_template_ecc,
                                                     &no_outside_info, &no_creation_pcrs, &tr, NULL, NULL, NULL,
                                                     NULL));
                if (rc == TSS2_RC_SUCCESS)
                        alg = TPM2_ALG_ECC;
                else if (alg == TPM2_ALG_ECC)
                        return log_debug_errno(tpm2_rc_to_errno(rc), "Failed to create ECC primary key: %s",
                                               tpm2_rc_string(rc));
                else
                        log_debug("No ECC primary key (%s), trying RSA.", tpm2_rc_string(rc));
        }
        if (tr == ESYS_TR_NONE) {
                rc = TPM2_CALL(c, Esys_CreatePrimary(c->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                                     ESYS_TR_NONE, &empty_sensitive, &primary_template_rsa,
                                                     &no_outside_info, &no_creation_pcrs, &tr, NULL, NULL, NULL,
                                                     NULL));
                if (rc != TSS2_RC_SUCCESS)
                        return log_debug_errno(tpm2_rc_to_errno(rc), "Failed to create RSA primary key: %s",
                                               tpm2_rc_string(rc));
                alg = TPM2_ALG_RSA;
        }

        *ret = (Tpm2Handle) { .ctx = c, .tr = tr, .flush = true };
        if (ret_alg)
                *ret_alg = alg;
        return 0;
}

/* A session salted with the parent key, so the sealed secret crosses the
 * bus encrypted (DECRYPT: first command parameter; ENCRYPT: first response
 * parameter). Salting needs no shared secret: the TPM decrypts the salt with
 * the parent's private key.
 *
 * The session authorizes one command only: continueSession is clear, so
 * the TPM ends it itself when that command succeeds (TPM 2.0 Part 1,
 * session attributes), one TPM2_FlushContext fewer on every TCTI (each
 * costs ~10 ms through a vTPM under TCG). The caller then calls
 * session_spent(); a failed command leaves the session loaded, and the
 * handle's release flushes it. Policy commands (PolicyPCR) take the
 * session as a handle, not as an authorization: they do not end it. */
static int start_session(Tpm2Context *c, const Tpm2Handle *salt_key, TPM2_SE type, TPMA_SESSION attrs,
                         Tpm2Handle *ret) {
        static const TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB };
        ESYS_TR session = ESYS_TR_NONE;
        TSS2_RC rc;

        rc = TPM2_CALL(c, Esys_StartAuthSession(c->esys, salt_key->tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                ESYS_TR_NONE, NULL, type, &sym, TPM2_ALG_SHA256, &session));
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc), "Failed to start TPM session: %s", tpm2_rc_string(rc));
        *ret = (Tpm2Handle) { .ctx = c, .tr = session, .flush = true };

        rc = Esys_TRSess_SetAttributes(c->esys, session, attrs, 0xFF);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc), "Failed to set session attributes: %s",
                                       tpm2_rc_string(rc));
        return 0;
}

/* The command the session authorized succeeded: the TPM has ended it.
 * ESYS keeps its record of it until Esys_Finalize(). */
static void session_spent(Tpm2Handle *session) {
        session->flush = false;
}

int tpm2_blob_marshal(const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *buf = malloc(sizeof(*priv) + sizeof(*pub));
        size_t off = 0;

        if (!buf)
                return -ENOMEM;
        if (Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(*priv) + sizeof(*pub), &off) != TSS2_RC_SUCCESS ||
            Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(*priv) + sizeof(*pub), &off) != TSS2_RC_SUCCESS)
                return -EIO;
        *ret = TAKE_PTR(buf);
        *ret_size = off;
        return 0;
}

int tpm2_blob_unmarshal(const uint8_t *blob, size_t size, TPM2B_PRIVATE *ret_private, TPM2B_PUBLIC *ret_public) {
        TPM2B_PRIVATE priv = {};
        TPM2B_PUBLIC pub = {};
        size_t off = 0, pub_off;

        if (!blob || size == 0 || size > TPM2_BLOB_MAX)
                return -EBADMSG;
        if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob, size, &off, &priv) != TSS2_RC_SUCCESS)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "TPM2 blob: bad TPM2B_PRIVATE.");
        pub_off = off;
        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob, size, &off, &pub) != TSS2_RC_SUCCESS)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "TPM2 blob: bad TPM2B_PUBLIC.");
        /* tss2-mu unmarshals the TPMT_PUBLIC inside without checking that it
         * fills exactly the size the TPM2B claims, so a blob whose size field
         * lies would be accepted (and re-marshalled correctly for the TPM).
         * A blob that is not what it says it is is refused. */
        if (off - pub_off != 2 + (((size_t) blob[pub_off] << 8) | blob[pub_off + 1]))
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "TPM2 blob: wrong TPM2B_PUBLIC size.");
        if (off != size)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "TPM2 blob: %zu trailing bytes.", size - off);
        if (pub.publicArea.type != TPM2_ALG_KEYEDHASH)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "TPM2 blob is not a sealed data object.");
        *ret_private = priv;
        *ret_public = pub;
        return 0;
}

int tpm2_seal_secret(Tpm2Context *c, uint32_t pcr_mask, const uint8_t policy[TPM2_SHA256_SIZE],
                     const Secret *secret, Tpm2SealedKey *ret_key) {
        _cleanup_(tpm2_handle_release) Tpm2Handle primary = TPM2_HANDLE_NULL, session = TPM2_HANDLE_NULL;
        _cleanup_(Esys_Freep) TPM2B_PRIVATE *priv = NULL;
        _cleanup_(Esys_Freep) TPM2B_PUBLIC *pub = NULL;
        _cleanup_free_ uint8_t *blob = NULL;
        TPM2B_SENSITIVE_CREATE sensitive = {};
        TPM2B_PUBLIC template;
        uint16_t alg;
        size_t blob_size;
        TSS2_RC rc;
        int r;

        CLEANUP_ERASE(sensitive);

        if (pcr_mask >> (PCR_INDEX_MAX + 1) || !secret || secret->size == 0 ||
            secret->size > sizeof(sensitive.sensitive.data.buffer))
                return -EINVAL;

        r = tpm2_make_primary(c, 0, &primary, &alg);
        if (r < 0)
                return r;
        r = start_session(c, &primary, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT, &session);
        if (r < 0)
                return r;

        template = (TPM2B_PUBLIC) {
                .size = sizeof(TPMT_PUBLIC),
                .publicArea = {
                        .type = TPM2_ALG_KEYEDHASH,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT,
                        .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
                        .unique.keyedHash.size = TPM2_SHA256_SIZE,
                        .authPolicy.size = TPM2_SHA256_SIZE,
                },
        };
        memcpy(template.publicArea.authPolicy.buffer, policy, TPM2_SHA256_SIZE);

        sensitive.size = sizeof(sensitive.sensitive);
        sensitive.sensitive.data.size = (uint16_t) secret->size;
        memcpy(sensitive.sensitive.data.buffer, secret->data, secret->size);

        rc = TPM2_CALL(c, Esys_Create(c->esys, primary.tr, session.tr, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                                      &template, &(TPM2B_DATA) {}, &(TPML_PCR_SELECTION) {}, &priv, &pub, NULL,
                                      NULL, NULL));
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc), "Failed to create sealed object: %s",
                                       tpm2_rc_string(rc));
        session_spent(&session);

        r = tpm2_blob_marshal(priv, pub, &blob, &blob_size);
        if (r < 0)
                return r;

        *ret_key = (Tpm2SealedKey) {
                .pcr_mask = pcr_mask,
                .pcr_bank = TPM2_ALG_SHA256,
                .primary_alg = alg,
                .blob = TAKE_PTR(blob),
                .blob_size = blob_size,
                .policy_hash_size = TPM2_SHA256_SIZE,
        };
        memcpy(ret_key->policy_hash, policy, TPM2_SHA256_SIZE);
        return 0;
}

int tpm2_seal(Tpm2Context *c, uint32_t pcr_mask, Tpm2SealedKey *ret_key, Secret **ret_secret) {
        return tpm2_seal_to_values(c, pcr_mask, NULL, ret_key, ret_secret);
}

int tpm2_seal_to_values(Tpm2Context *c, uint32_t pcr_mask, const uint8_t pcr_values[][TPM2_SHA256_SIZE],
                        Tpm2SealedKey *ret_key, Secret **ret_secret) {
        _cleanup_(secret_freep) Secret *secret = NULL;
        uint8_t values[PCR_INDEX_MAX + 1][TPM2_SHA256_SIZE];
        uint8_t policy[TPM2_SHA256_SIZE] = {};
        int r;

        if (pcr_mask >> (PCR_INDEX_MAX + 1))
                return -EINVAL;

        /* No PCRs: no PolicyPCR, the policy stays all zeros — what systemd
         * does for --tpm2-pcrs= (bound to this TPM, not to its state). */
        if (pcr_mask != 0) {
                /* Given values (predicted for the next boot) go into the
                 * policy the same way: the TPM checks only the digest. */
                if (pcr_values)
                        memcpy(values, pcr_values, (size_t) pcr_mask_count(pcr_mask) * TPM2_SHA256_SIZE);
                else {
                        r = tpm2_pcr_read(c, pcr_mask, values);
                        if (r < 0)
                                return r;
                }
                r = tpm2_policy_pcr_update(policy, pcr_mask, (const uint8_t (*)[TPM2_SHA256_SIZE]) values);
                if (r < 0)
                        return r;
        }

        r = secret_new_random(TPM2_SEAL_SECRET_SIZE, &secret);
        if (r < 0)
                return r;
        r = tpm2_seal_secret(c, pcr_mask, policy, secret, ret_key);
        if (r < 0)
                return r;
        *ret_secret = TAKE_PTR(secret);
        return 0;
}

static int load_parent(Tpm2Context *c, const Tpm2SealedKey *key, Tpm2Handle *ret) {
        ESYS_TR tr = ESYS_TR_NONE;
        TSS2_RC rc;

        if (!key->srk)
                return tpm2_make_primary(c, key->primary_alg, ret, NULL);

        /* Persistent SRK: ESYS checks the TPM's name of the handle against
         * the serialized one, so a swapped key at that handle is refused. */
        rc = Esys_TR_Deserialize(c->esys, key->srk, key->srk_size, &tr);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc) == -ENOTRECOVERABLE ? -EBADMSG : tpm2_rc_to_errno(rc),
                                       "Failed to load the token's SRK reference: %s", tpm2_rc_string(rc));
        *ret = (Tpm2Handle) { .ctx = c, .tr = tr, .flush = false };
        return 0;
}

static int unseal_once(Tpm2Context *c, const Tpm2SealedKey *key, const Tpm2Handle *object,
                       const Tpm2Handle *parent, Secret **ret_secret) {
        _cleanup_(tpm2_handle_release) Tpm2Handle session = TPM2_HANDLE_NULL;
        _cleanup_(Esys_Freep) TPM2B_SENSITIVE_DATA *data = NULL;
        TPML_PCR_SELECTION sel;
        TSS2_RC rc;
        int r;

        r = start_session(c, parent, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT, &session);
        if (r < 0)
                return r;

        if (key->pcr_mask != 0) {
                tpm2_pcr_selection(key->pcr_mask, &sel);
                rc = TPM2_CALL(c, Esys_PolicyPCR(c->esys, session.tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                 &(TPM2B_DIGEST) {}, &sel));
                if (rc != TSS2_RC_SUCCESS)
                        return log_debug_errno(tpm2_rc_to_errno(rc), "TPM2_PolicyPCR failed: %s",
                                               tpm2_rc_string(rc));
        }

        /* No TPM2_PolicyGetDigest comparing the session's digest with the
         * token's tpm2-policy-hash (tpm2_unseal() compared that hash with
         * the blob's authPolicy): the TPM compares the session's digest
         * with the authPolicy itself when it unseals, and refuses with
         * TPM_RC_POLICY_FAIL (-EPERM, as the comparison returned; a
         * policy failure does not count towards dictionary-attack
         * lockout). One TPM command fewer. */
        rc = TPM2_CALL(c, Esys_Unseal(c->esys, object->tr, session.tr, ESYS_TR_NONE, ESYS_TR_NONE, &data));
        if (rc != TSS2_RC_SUCCESS && tpm2_rc_to_errno(rc) == -EPERM)
                return log_debug_errno(SYNTHETIC_ERRNO(EPERM), "Current PCR values do not match the token's policy: %s",
                                       tpm2_rc_string(rc));
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc), "TPM2_Unseal failed: %s", tpm2_rc_string(rc));
        session_spent(&session);

        r = secret_new_copy(data->buffer, data->size, ret_secret);
        explicit_bzero(data->buffer, sizeof(data->buffer));
        return r;
}

int tpm2_unseal(Tpm2Context *c, const Tpm2SealedKey *key, Secret **ret_secret) {
        _cleanup_(tpm2_handle_release) Tpm2Handle parent = TPM2_HANDLE_NULL, object = TPM2_HANDLE_NULL;
        TPM2B_PRIVATE priv;
        TPM2B_PUBLIC pub;
        ESYS_TR tr = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        if (key->pcr_bank != TPM2_ALG_SHA256)
                return log_debug_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "Only the sha256 PCR bank is supported.");
        if (key->pcr_mask >> (PCR_INDEX_MAX + 1))
                return -EINVAL;

        r = tpm2_blob_unmarshal(key->blob, key->blob_size, &priv, &pub);
        if (r < 0)
                return r;
        /* The token's policy hash must be the policy its object was sealed
         * to (TPM2_Load checks that the public area, authPolicy included,
         * belongs to the private part), as a digest matching the hash would
         * otherwise not open it. */
        if (key->policy_hash_size > 0 &&
            (pub.publicArea.authPolicy.size != key->policy_hash_size ||
             memcmp(pub.publicArea.authPolicy.buffer, key->policy_hash, key->policy_hash_size) != 0))
                return log_debug_errno(SYNTHETIC_ERRNO(EPERM),
                                       "The token's tpm2-policy-hash is not the policy its sealed object requires.");
        r = load_parent(c, key, &parent);
        if (r < 0)
                return r;

        rc = TPM2_CALL(c, Esys_Load(c->esys, parent.tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv,
                                    &pub, &tr));
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tpm2_rc_to_errno(rc) == -ENOTRECOVERABLE ? -EBADMSG : tpm2_rc_to_errno(rc),
                                       "Failed to load sealed object (wrong TPM or parent?): %s",
                                       tpm2_rc_string(rc));
        object = (Tpm2Handle) { .ctx = c, .tr = tr, .flush = true };

        /* PCRs may be extended between PolicyPCR and Unseal; like
         * systemd, try again a few times in that case. */
        for (unsigned attempt = 0;; attempt++) {
                r = unseal_once(c, key, &object, &parent, ret_secret);
                if (r != -ESTALE || attempt >= 3)
                        return r;
                log_debug("PCRs changed during unseal, retrying.");
        }
}

int tpm2_policy_matches_values(const Tpm2SealedKey *key, const uint8_t pcr_values[][TPM2_SHA256_SIZE]) {
        uint8_t digest[TPM2_SHA256_SIZE] = {};
        int r;

        if (key->policy_hash_size != TPM2_SHA256_SIZE)
                return -ENODATA;
        if (key->pcr_mask != 0) {
                r = tpm2_policy_pcr_update(digest, key->pcr_mask, pcr_values);
                if (r < 0)
                        return r;
        }
        return memcmp(digest, key->policy_hash, sizeof digest) == 0;
}

int tpm2_policy_matches_now(Tpm2Context *c, const Tpm2SealedKey *key) {
        uint8_t values[PCR_INDEX_MAX + 1][TPM2_SHA256_SIZE];
        int r;

        if (key->policy_hash_size != TPM2_SHA256_SIZE)
                return -ENODATA;
        if (key->pcr_mask >> (PCR_INDEX_MAX + 1))
                return -EINVAL;
        if (key->pcr_mask != 0) {
                r = tpm2_pcr_read(c, key->pcr_mask, values);
                if (r < 0)
                        return r;
        }
        return tpm2_policy_matches_values(key, (const uint8_t (*)[TPM2_SHA256_SIZE]) values);
}
