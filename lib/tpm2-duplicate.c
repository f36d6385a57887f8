/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "encode-util.h"
#include "log.h"
#include "openssl-util.h"
#include "quote-verify.h"
#include "tpm2-duplicate.h"
#include "tpm2-util.h"
#include "x509-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MAC *, EVP_MAC_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MAC_CTX *, EVP_MAC_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free);

#define MD_MAX 64U

static const char *hash_name(TPMI_ALG_HASH alg) {
        switch (alg) {
        case TPM2_ALG_SHA256:
                return "SHA256";
        case TPM2_ALG_SHA384:
                return "SHA384";
        default:
                return NULL;
        }
}

static size_t hash_size(TPMI_ALG_HASH alg) {
        return alg == TPM2_ALG_SHA256 ? 32 : alg == TPM2_ALG_SHA384 ? 48 : 0;
}

static void be32(uint8_t b[4], uint32_t v) {
        b[0] = (uint8_t) (v >> 24), b[1] = (uint8_t) (v >> 16), b[2] = (uint8_t) (v >> 8), b[3] = (uint8_t) v;
}

int tpm2_kdfa(TPMI_ALG_HASH alg, const uint8_t *key, size_t key_size, const char *label, const uint8_t *u,
              size_t u_size, const uint8_t *v, size_t v_size, size_t bits, uint8_t *ret) {
        _cleanup_(EVP_MAC_freep) EVP_MAC *mac = NULL;
        const char *md = hash_name(alg);
        size_t hs = hash_size(alg), done = 0;
        uint8_t block[MD_MAX], lbits[4];

        CLEANUP_ERASE(block);

        if (!md || bits == 0 || bits % 8 != 0 || bits > UINT32_MAX || !label)
                return -EINVAL;
        mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        if (!mac)
                return -EIO;
        be32(lbits, (uint32_t) bits);
        for (uint32_t i = 1; done < bits / 8; i++) {
                _cleanup_(EVP_MAC_CTX_freep) EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
                OSSL_PARAM params[] = {
                        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *) md, 0),
                        OSSL_PARAM_construct_end(),
                };
                uint8_t counter[4];
                size_t n = 0;

                be32(counter, i);
                if (!ctx || EVP_MAC_init(ctx, key, key_size, params) <= 0 ||
                    EVP_MAC_update(ctx, counter, 4) <= 0 ||
                    EVP_MAC_update(ctx, (const uint8_t *) label, strlen(label) + 1) <= 0 ||
                    (u_size > 0 && EVP_MAC_update(ctx, u, u_size) <= 0) ||
                    (v_size > 0 && EVP_MAC_update(ctx, v, v_size) <= 0) || EVP_MAC_update(ctx, lbits, 4) <= 0 ||
                    EVP_MAC_final(ctx, block, &n, sizeof block) <= 0 || n != hs)
                        return -EIO;
                n = MIN(hs, bits / 8 - done);
                memcpy(ret + done, block, n);
                done += n;
        }
        return 0;
}

int tpm2_kdfe(TPMI_ALG_HASH alg, const uint8_t *z, size_t z_size, const char *label, const uint8_t *u,
              size_t u_size, const uint8_t *v, size_t v_size, size_t bits, uint8_t *ret) {
        const EVP_MD *md = EVP_get_digestbyname(hash_name(alg) ?: "");
        size_t hs = hash_size(alg), done = 0;
        uint8_t block[MD_MAX];

        CLEANUP_ERASE(block);

        if (!md || bits == 0 || bits % 8 != 0 || !label)
                return -EINVAL;
        for (uint32_t i = 1; done < bits / 8; i++) {
                _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
                uint8_t counter[4];
                unsigned n = 0;

                be32(counter, i);
                if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) <= 0 || EVP_DigestUpdate(ctx, counter, 4) <= 0 ||
                    EVP_DigestUpdate(ctx, z, z_size) <= 0 ||
                    EVP_DigestUpdate(ctx, label, strlen(label) + 1) <= 0 ||
                    (u_size > 0 && EVP_DigestUpdate(ctx, u, u_size) <= 0) ||
                    (v_size > 0 && EVP_DigestUpdate(ctx, v, v_size) <= 0) ||
                    EVP_DigestFinal_ex(ctx, block, &n) <= 0 || n != hs)
                        return -EIO;
                memcpy(ret + done, block, MIN(hs, bits / 8 - done));
                done += MIN(hs, bits / 8 - done);
        }
        return 0;
}

int tpm2_object_name(const TPMT_PUBLIC *pub, TPM2B_NAME *ret) {
        const EVP_MD *md = EVP_get_digestbyname(hash_name(pub->nameAlg) ?: "");
        uint8_t buf[sizeof(TPMT_PUBLIC)];
        size_t off = 0;
        unsigned n = 0;

        if (!md)
                return -EOPNOTSUPP;
        if (Tss2_MU_TPMT_PUBLIC_Marshal(pub, buf, sizeof buf, &off) != TSS2_RC_SUCCESS)
                return -EBADMSG;
        ret->name[0] = (uint8_t) (pub->nameAlg >> 8);
        ret->name[1] = (uint8_t) pub->nameAlg;
        if (EVP_Digest(buf, off, ret->name + 2, &n, md, NULL) <= 0)
                return -EIO;
        ret->size = (uint16_t) (2 + n);
        return 0;
}

const char *tpm2_srk_public_invalid_reason(const TPMT_PUBLIC *pub) {
        const TPMT_SYM_DEF_OBJECT *sym;
        TPMA_OBJECT a = pub->objectAttributes;

        if (pub->type != TPM2_ALG_RSA && pub->type != TPM2_ALG_ECC)
                return "it is neither an RSA nor an ECC key";
        if (!hash_name(pub->nameAlg))
                return "its name algorithm is neither sha256 nor sha384";
        if (!(a & TPMA_OBJECT_RESTRICTED) || !(a & TPMA_OBJECT_DECRYPT) || (a & TPMA_OBJECT_SIGN_ENCRYPT))
                return "it is not a storage key (restricted, decrypt, not sign)";
        if (pub->type == TPM2_ALG_RSA) {
                sym = &pub->parameters.rsaDetail.symmetric;
                if (pub->parameters.rsaDetail.scheme.scheme != TPM2_ALG_NULL)
                        return "its RSA scheme is not NULL, as a storage key's must be";
                if (pub->parameters.rsaDetail.keyBits < 2048 || pub->parameters.rsaDetail.keyBits > 4096 ||
                    pub->unique.rsa.size * 8U != pub->parameters.rsaDetail.keyBits)
                        return "its RSA modulus is not 2048-4096 bits or does not match its key size";
        } else {
                sym = &pub->parameters.eccDetail.symmetric;
                if (pub->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 &&
                    pub->parameters.eccDetail.curveID != TPM2_ECC_NIST_P384)
                        return "its curve is neither NIST P-256 nor P-384";
                if (pub->parameters.eccDetail.kdf.scheme != TPM2_ALG_NULL ||
                    pub->parameters.eccDetail.scheme.scheme != TPM2_ALG_NULL)
                        return "its ECC scheme or KDF is not NULL, as a storage key's must be";
        }
        if (sym->algorithm != TPM2_ALG_AES || sym->mode.aes != TPM2_ALG_CFB ||
            (sym->keyBits.aes != 128 && sym->keyBits.aes != 256))
                return "its symmetric algorithm is not AES-128/256-CFB";
        return NULL;
}

/* A PEM key gets systemd's SRK template around it (tpm2-seal.c). */
static int public_from_pem(const char *pem, size_t size, TPM2B_PUBLIC *ret, const char **ret_reason) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        _cleanup_(BN_freep) BIGNUM *x = NULL, *y = NULL, *n = NULL, *e = NULL;
        TPMT_PUBLIC p = {
                .nameAlg = TPM2_ALG_SHA256,
                .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
                                    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                    TPMA_OBJECT_USERWITHAUTH,
        };
        char group[64] = "";

        if (pkey_from_pem(pem, size, &pkey) < 0)
                return -EBADMSG;
        if (EVP_PKEY_is_a(pkey, "EC")) {
                if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL) <=
                            0 ||
                    !streq(group, "prime256v1")) {
                        *ret_reason = "a PEM EC key must be on NIST P-256 (systemd's SRK template)";
                        return log_debug_errno(SYNTHETIC_ERRNO(EMEDIUMTYPE), "PEM SRK: not a P-256 key.");
                }
                if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) <= 0 ||
                    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) <= 0)
                        return -EBADMSG;
                p.type = TPM2_ALG_ECC;
                p.parameters.eccDetail = (TPMS_ECC_PARMS) {
                        .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB },
                        .scheme.scheme = TPM2_ALG_NULL,
                        .curveID = TPM2_ECC_NIST_P256,
                        .kdf.scheme = TPM2_ALG_NULL,
                };
                if (BN_bn2binpad(x, p.unique.ecc.x.buffer, 32) != 32 ||
                    BN_bn2binpad(y, p.unique.ecc.y.buffer, 32) != 32)
                        return -EBADMSG;
                p.unique.ecc.x.size = p.unique.ecc.y.size = 32;
        } else if (EVP_PKEY_is_a(pkey, "RSA")) {
                int bits;

                if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) <= 0 ||
                    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) <= 0)
                        return -EBADMSG;
                bits = BN_num_bits(n);
                if (bits != 2048 && bits != 3072 && bits != 4096) {
                        *ret_reason = "a PEM RSA key must have 2048, 3072 or 4096 bits";
                        return log_debug_errno(SYNTHETIC_ERRNO(EMEDIUMTYPE), "PEM SRK: RSA key of %i bits.", bits);
                }
                p.type = TPM2_ALG_RSA;
                p.parameters.rsaDetail = (TPMS_RSA_PARMS) {
                        .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB },
                        .scheme.scheme = TPM2_ALG_NULL,
                        .keyBits = (uint16_t) bits,
                        .exponent = BN_is_word(e, 65537) ? 0 : (uint32_t) BN_get_word(e),
                };
                if (BN_bn2binpad(n, p.unique.rsa.buffer, bits / 8) != bits / 8)
                        return -EBADMSG;
                p.unique.rsa.size = (uint16_t) (bits / 8);
        } else {
                *ret_reason = "a PEM key must be RSA or EC";
                return log_debug_errno(SYNTHETIC_ERRNO(EMEDIUMTYPE), "PEM SRK: neither RSA nor EC.");
        }

        *ret = (TPM2B_PUBLIC) { .size = sizeof(TPMT_PUBLIC), .publicArea = p };
        return 0;
}

int tpm2_srk_public_load(const uint8_t *data, size_t size, TPM2B_PUBLIC *ret, const char **ret_reason) {
        TPM2B_PUBLIC pub = {};
        const char *reason = NULL;
        size_t off = 0;
        int r;

        if (!data || size == 0)
                return -EBADMSG;
        if (memmem(data, size, "-----BEGIN", 10)) {
                r = public_from_pem((const char *) data, size, &pub, &reason);
                if (r < 0) {
                        if (ret_reason)
                                *ret_reason = reason;
                        return r;
                }
        } else if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(data, size, &off, &pub) == TSS2_RC_SUCCESS && off == size &&
                   size >= 2 && ((size_t) data[0] << 8 | data[1]) == size - 2) {
                /* exact TPM2B_PUBLIC */
        } else {
                off = 0;
                pub = (TPM2B_PUBLIC) {};
                if (Tss2_MU_TPMT_PUBLIC_Unmarshal(data, size, &off, &pub.publicArea) != TSS2_RC_SUCCESS ||
                    off != size)
                        return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG),
                                               "SRK public: neither PEM nor TPM2B_PUBLIC nor TPMT_PUBLIC.");
                pub.size = (uint16_t) size;
        }
        reason = tpm2_srk_public_invalid_reason(&pub.publicArea);
        if (reason) {
                if (ret_reason)
                        *ret_reason = reason;
                return log_debug_errno(SYNTHETIC_ERRNO(EMEDIUMTYPE), "SRK public: %s.", reason);
        }
        *ret = pub;
        return 0;
}

/* ECC: ephemeral key on the SRK's curve; Z = x(d_e · Q_srk). */
static int seed_ecc(const TPMT_PUBLIC *srk, uint8_t *seed, size_t seed_size, TPM2B_ENCRYPTED_SECRET *ret) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *peer = NULL, *eph = NULL;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(BN_freep) BIGNUM *x = NULL, *y = NULL;
        bool p256 = srk->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256;
        size_t field = p256 ? 32 : 48, zlen = sizeof(((TPMS_ECC_POINT *) NULL)->x.buffer);
        TPMS_ECC_POINT point = {};
        uint8_t z[sizeof point.x.buffer];
        size_t off = 0;
        int r;

        CLEANUP_ERASE(z);

        r = tpm2_public_to_pkey(srk, &peer);
        if (r < 0)
                return log_debug_errno(r == -EOPNOTSUPP ? -EMEDIUMTYPE : -EBADMSG,
                                       "SRK public: the ECC point is not on its curve.");
        eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", p256 ? "P-256" : "P-384");
        if (!eph)
                return -EIO;
        ctx = EVP_PKEY_CTX_new(eph, NULL);
        if (!ctx || EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, peer) <= 0 ||
            EVP_PKEY_derive(ctx, z, &zlen) <= 0 || zlen != field)
                return log_debug_errno(SYNTHETIC_ERRNO(EIO), "ECDH with the SRK failed.");

        if (EVP_PKEY_get_bn_param(eph, OSSL_PKEY_PARAM_EC_PUB_X, &x) <= 0 ||
            EVP_PKEY_get_bn_param(eph, OSSL_PKEY_PARAM_EC_PUB_Y, &y) <= 0 ||
            BN_bn2binpad(x, point.x.buffer, (int) field) != (int) field ||
            BN_bn2binpad(y, point.y.buffer, (int) field) != (int) field)
                return -EIO;
        point.x.size = point.y.size = (uint16_t) field;

        r = tpm2_kdfe(srk->nameAlg, z, zlen, "DUPLICATE", point.x.buffer, point.x.size, srk->unique.ecc.x.buffer,
                      srk->unique.ecc.x.size, seed_size * 8, seed);
        if (r < 0)
                return r;

        if (Tss2_MU_TPMS_ECC_POINT_Marshal(&point, ret->secret, sizeof ret->secret, &off) != TSS2_RC_SUCCESS)
                return -EIO;
        ret->size = (uint16_t) off;
        return 0;
}

/* RSA: random seed, OAEP with the SRK's nameAlg and label "DUPLICATE\0". */
static int seed_rsa(const TPMT_PUBLIC *srk, uint8_t *seed, size_t seed_size, TPM2B_ENCRYPTED_SECRET *ret) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *peer = NULL;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        size_t out = sizeof ret->secret;
        unsigned char *label;
        int r;

        r = tpm2_public_to_pkey(srk, &peer);
        if (r < 0)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "SRK public: not a usable RSA key.");
        if (RAND_bytes(seed, (int) seed_size) != 1)
                return -EIO;
        ctx = EVP_PKEY_CTX_new(peer, NULL);
        if (!ctx || EVP_PKEY_encrypt_init(ctx) <= 0 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, hash_name(srk->nameAlg), NULL) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, hash_name(srk->nameAlg), NULL) <= 0)
                return -EIO;
        label = OPENSSL_memdup("DUPLICATE", sizeof "DUPLICATE");
        if (!label)
                return -ENOMEM;
        if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, sizeof "DUPLICATE") <= 0) {
                OPENSSL_free(label);
                return -EIO;
        }
        if (EVP_PKEY_encrypt(ctx, ret->secret, &out, seed, seed_size) <= 0)
                return log_debug_errno(SYNTHETIC_ERRNO(EIO), "RSA-OAEP encryption of the seed failed.");
        ret->size = (uint16_t) out;
        return 0;
}

int tpm2_duplicate_seal(const TPMT_PUBLIC *srk, const uint8_t policy[32], const Secret *secret,
                        Tpm2Duplicate *ret) {
        _cleanup_(secret_freep) Secret *plain = NULL;
        _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *cctx = NULL;
        Tpm2Duplicate d = {};
        TPMT_SENSITIVE sens = {};
        TPM2B_NAME name = {};
        uint8_t seed[MD_MAX], sym_key[32], hmac_key[MD_MAX], unique_in[sizeof sens.seedValue.buffer + 128];
        const size_t hs = hash_size(srk->nameAlg);
        const TPMT_SYM_DEF_OBJECT *sym;
        size_t off = 0, mac_len = 0, enc_off;
        int outl = 0, finl = 0, r;

        CLEANUP_ERASE(sens);
        CLEANUP_ERASE(seed);
        CLEANUP_ERASE(sym_key);
        CLEANUP_ERASE(hmac_key);
        CLEANUP_ERASE(unique_in);

        if (tpm2_srk_public_invalid_reason(srk))
                return -EMEDIUMTYPE;
        if (!secret || secret->size == 0 || secret->size > sizeof sens.sensitive.bits.buffer)
                return -EINVAL;
        sym = srk->type == TPM2_ALG_RSA ? &srk->parameters.rsaDetail.symmetric
                                        : &srk->parameters.eccDetail.symmetric;

        /* The sealed object: what tpm2_seal() makes, minus fixedTPM and
         * fixedParent (an imported object cannot have them). unique =
         * H(seedValue ‖ data), which TPM2_Import checks. */
        sens.sensitiveType = TPM2_ALG_KEYEDHASH;
        sens.seedValue.size = TPM2_SHA256_SIZE;
        if (RAND_bytes(sens.seedValue.buffer, TPM2_SHA256_SIZE) != 1)
                return -EIO;
        sens.sensitive.bits.size = (uint16_t) secret->size;
        memcpy(sens.sensitive.bits.buffer, secret->data, secret->size);

        d.public = (TPM2B_PUBLIC) {
                .size = sizeof(TPMT_PUBLIC),
                .publicArea = {
                        .type = TPM2_ALG_KEYEDHASH,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = 0,
                        .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
                        .authPolicy.size = TPM2_SHA256_SIZE,
                        .unique.keyedHash.size = TPM2_SHA256_SIZE,
                },
        };
        memcpy(d.public.publicArea.authPolicy.buffer, policy, TPM2_SHA256_SIZE);
        memcpy(unique_in, sens.seedValue.buffer, TPM2_SHA256_SIZE);
        memcpy(unique_in + TPM2_SHA256_SIZE, secret->data, secret->size);
        if (EVP_Digest(unique_in, TPM2_SHA256_SIZE + secret->size, d.public.publicArea.unique.keyedHash.buffer,
                       NULL, EVP_sha256(), NULL) <= 0)
                return -EIO;
        r = tpm2_object_name(&d.public.publicArea, &name);
        if (r < 0)
                return r;

        /* Marshalled TPM2B_SENSITIVE: the plaintext of the outer wrapper. */
        r = secret_new(2 + sizeof(TPMT_SENSITIVE), &plain);
        if (r < 0)
                return r;
        off = 2;
        if (Tss2_MU_TPMT_SENSITIVE_Marshal(&sens, plain->data, plain->capacity, &off) != TSS2_RC_SUCCESS)
                return -EIO;
        plain->data[0] = (uint8_t) ((off - 2) >> 8);
        plain->data[1] = (uint8_t) (off - 2);
        plain->size = off;

        r = srk->type == TPM2_ALG_ECC ? seed_ecc(srk, seed, hs, &d.seed) : seed_rsa(srk, seed, hs, &d.seed);
        if (r < 0)
                return r;

        r = tpm2_kdfa(srk->nameAlg, seed, hs, "STORAGE", name.name, name.size, NULL, 0, sym->keyBits.aes, sym_key);
        if (r < 0)
                return r;
        r = tpm2_kdfa(srk->nameAlg, seed, hs, "INTEGRITY", NULL, 0, NULL, 0, hs * 8, hmac_key);
        if (r < 0)
                return r;

        /* TPM2B_PRIVATE = TPM2B_DIGEST(outerHMAC) ‖ encrypted sensitive. */
        enc_off = 2 + hs;
        if (enc_off + plain->size > sizeof d.duplicate.buffer)
                return -E2BIG;
        cctx = EVP_CIPHER_CTX_new();
        if (!cctx ||
            EVP_EncryptInit_ex(cctx, sym->keyBits.aes == 128 ? EVP_aes_128_cfb128() : EVP_aes_256_cfb128(), NULL,
                               sym_key, (const uint8_t[16]) {}) <= 0 ||
            EVP_EncryptUpdate(cctx, d.duplicate.buffer + enc_off, &outl, plain->data, (int) plain->size) <= 0 ||
            EVP_EncryptFinal_ex(cctx, d.duplicate.buffer + enc_off + outl, &finl) <= 0 ||
            (size_t) (outl + finl) != plain->size)
                return -EIO;

        {
                uint8_t mac_in[sizeof d.duplicate.buffer + sizeof name.name];
                memcpy(mac_in, d.duplicate.buffer + enc_off, plain->size);
                memcpy(mac_in + plain->size, name.name, name.size);
                if (!EVP_Q_mac(NULL, "HMAC", NULL, hash_name(srk->nameAlg), NULL, hmac_key, hs, mac_in,
                               plain->size + name.size, d.duplicate.buffer + 2, hs, &mac_len) ||
                    mac_len != hs)
                        return -EIO;
        }
        d.duplicate.buffer[0] = (uint8_t) (hs >> 8);
        d.duplicate.buffer[1] = (uint8_t) hs;
        d.duplicate.size = (uint16_t) (enc_off + plain->size);

        *ret = d;
        return 0;
}

/* One function per type: tss2-mu's marshallers differ in their argument type. */
#define DEFINE_MARSHAL(fname, type, mu)                                                         \
        int fname(const type *p, uint8_t **ret, size_t *ret_size) {                             \
                _cleanup_free_ uint8_t *buf = malloc(sizeof(type));                             \
                size_t off = 0;                                                                 \
                if (!buf)                                                                       \
                        return -ENOMEM;                                                         \
                if (mu(p, buf, sizeof(type), &off) != TSS2_RC_SUCCESS)                          \
                        return -EIO;                                                            \
                *ret = TAKE_PTR(buf);                                                           \
                *ret_size = off;                                                                \
                return 0;                                                                       \
        }
DEFINE_MARSHAL(tpm2_duplicate_marshal_public, TPM2B_PUBLIC, Tss2_MU_TPM2B_PUBLIC_Marshal)
DEFINE_MARSHAL(tpm2_duplicate_marshal_private, TPM2B_PRIVATE, Tss2_MU_TPM2B_PRIVATE_Marshal)
DEFINE_MARSHAL(tpm2_duplicate_marshal_seed, TPM2B_ENCRYPTED_SECRET, Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal)

int tpm2_duplicate_parse_private(const uint8_t *data, size_t size, TPM2B_PRIVATE *ret) {
        TPM2B_PRIVATE p = {};
        size_t off = 0;

        if (!data || Tss2_MU_TPM2B_PRIVATE_Unmarshal(data, size, &off, &p) != TSS2_RC_SUCCESS || off != size ||
            p.size == 0)
                return -EBADMSG;
        *ret = p;
        return 0;
}

int tpm2_duplicate_parse_seed(const uint8_t *data, size_t size, TPM2B_ENCRYPTED_SECRET *ret) {
        TPM2B_ENCRYPTED_SECRET s = {};
        size_t off = 0;

        if (!data || Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(data, size, &off, &s) != TSS2_RC_SUCCESS ||
            off != size || s.size == 0)
                return -EBADMSG;
        *ret = s;
        return 0;
}
