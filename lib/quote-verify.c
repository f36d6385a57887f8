/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "log.h"
#include "openssl-util.h"
#include "quote-verify.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM_BLD *, OSSL_PARAM_BLD_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM *, OSSL_PARAM_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ECDSA_SIG *, ECDSA_SIG_free);

#define RSA_BITS_MIN 2048U

int quote_attest_parse(const uint8_t *data, size_t size, TPMS_ATTEST *ret) {
        TPMS_ATTEST a = {};
        size_t off = 0;

        if (!data || !ret)
                return -EINVAL;
        if (Tss2_MU_TPMS_ATTEST_Unmarshal(data, size, &off, &a) != TSS2_RC_SUCCESS || off != size)
                return -EBADMSG;
        *ret = a;
        if (a.magic != TPM2_GENERATED_VALUE)
                return -EPROTO;
        if (a.type != TPM2_ST_ATTEST_QUOTE)
                return -EMEDIUMTYPE;
        return 0;
}

int quote_signature_parse(const uint8_t *data, size_t size, TPMT_SIGNATURE *ret) {
        TPMT_SIGNATURE s = {};
        size_t off = 0;

        if (!data || !ret)
                return -EINVAL;
        if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(data, size, &off, &s) != TSS2_RC_SUCCESS || off != size)
                return -EBADMSG;
        *ret = s;
        return 0;
}

bool tpm2_public_is_ak(const TPMT_PUBLIC *pub) {
        TPMA_OBJECT need = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_RESTRICTED |
                           TPMA_OBJECT_SIGN_ENCRYPT;

        /* A restricted signing key only signs digests the TPM itself made
         * (or vouched for with a ticket), so a quote from it can't be forged
         * with TPM2_Sign; fixedTPM keeps it from being duplicated elsewhere. */
        return (pub->type == TPM2_ALG_RSA || pub->type == TPM2_ALG_ECC) &&
               (pub->objectAttributes & need) == need && !(pub->objectAttributes & TPMA_OBJECT_DECRYPT);
}

int tpm2_public_parse(const uint8_t *data, size_t size, TPM2B_PUBLIC *ret) {
        TPM2B_PUBLIC p = {};
        size_t off = 0;

        if (!data || !ret)
                return -EINVAL;
        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(data, size, &off, &p) != TSS2_RC_SUCCESS || off != size)
                return -EBADMSG;
        /* tss2-mu does not check that the TPMT_PUBLIC fills exactly the size
         * the TPM2B claims (found by fuzz-tpm2-quote): a key whose size field
         * lies is not the key it claims to be; an empty one (size 0) is no
         * key at all. */
        if (off <= 2 || off - 2 != (((size_t) data[0] << 8) | data[1]))
                return -EBADMSG;
        *ret = p;
        return 0;
}

TPMI_ALG_HASH tpm2_signature_hash(const TPMT_SIGNATURE *sig) {
        switch (sig->sigAlg) {
        case TPM2_ALG_RSASSA:
                return sig->signature.rsassa.hash;
        case TPM2_ALG_RSAPSS:
                return sig->signature.rsapss.hash;
        case TPM2_ALG_ECDSA:
                return sig->signature.ecdsa.hash;
        default:
                return TPM2_ALG_NULL;
        }
}

static const EVP_MD *hash_md(TPMI_ALG_HASH alg) {
        /* No SHA-1: a collision would let one signature cover two quotes. */
        switch (alg) {
        case TPM2_ALG_SHA256:
                return EVP_sha256();
        case TPM2_ALG_SHA384:
                return EVP_sha384();
        case TPM2_ALG_SHA512:
                return EVP_sha512();
        default:
                return NULL;
        }
}

int quote_pcr_digest(TPMI_ALG_HASH alg, const uint8_t values[][QUOTE_PCR_VALUE_SIZE], size_t n, uint8_t *ret,
                     size_t *ret_size) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = NULL;
        const EVP_MD *type = hash_md(alg);
        unsigned len = 0;

        if (!ret || !ret_size || (!values && n > 0))
                return -EINVAL;
        if (!type)
                return -EOPNOTSUPP;
        md = EVP_MD_CTX_new();
        if (!md)
                return -ENOMEM;
        if (!EVP_DigestInit_ex(md, type, NULL) ||
            (n > 0 && !EVP_DigestUpdate(md, values, n * QUOTE_PCR_VALUE_SIZE)) ||
            !EVP_DigestFinal_ex(md, ret, &len))
                return -EIO;
        *ret_size = len;
        return 0;
}

static int rsa_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **ret) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = NULL;
        _cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
        _cleanup_(BN_freep) BIGNUM *n = NULL, *e = NULL;
        const TPMS_RSA_PARMS *p = &pub->parameters.rsaDetail;
        EVP_PKEY *pkey = NULL;

        if (p->keyBits < RSA_BITS_MIN || pub->unique.rsa.size * 8U != p->keyBits)
                return -EOPNOTSUPP;
        n = BN_bin2bn(pub->unique.rsa.buffer, pub->unique.rsa.size, NULL);
        e = BN_new();
        if (!n || !e || !BN_set_word(e, p->exponent == 0 ? 65537 : p->exponent))
                return -ENOMEM;
        bld = OSSL_PARAM_BLD_new();
        if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
                return -ENOMEM;
        params = OSSL_PARAM_BLD_to_param(bld);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (!params || !ctx)
                return -ENOMEM;
        if (EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
                return -EBADMSG;
        *ret = pkey;
        return 0;
}

static int ecc_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **ret) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = NULL;
        _cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
        const TPMS_ECC_POINT *q = &pub->unique.ecc;
        uint8_t point[1 + 2 * 66] = { 0x04 }; /* uncompressed: 04 ‖ X ‖ Y */
        EVP_PKEY *pkey = NULL;
        const char *group;
        size_t field;

        switch (pub->parameters.eccDetail.curveID) {
        case TPM2_ECC_NIST_P256:
                group = "prime256v1", field = 32;
                break;
        case TPM2_ECC_NIST_P384:
                group = "secp384r1", field = 48;
                break;
        case TPM2_ECC_NIST_P521:
                group = "secp521r1", field = 66;
                break;
        default:
                return -EOPNOTSUPP;
        }
        if (q->x.size == 0 || q->x.size > field || q->y.size == 0 || q->y.size > field)
                return -EBADMSG;
        /* The TPM may drop leading zero bytes of a coordinate. */
        memcpy(point + 1 + field - q->x.size, q->x.buffer, q->x.size);
        memcpy(point + 1 + 2 * field - q->y.size, q->y.buffer, q->y.size);

        bld = OSSL_PARAM_BLD_new();
        if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * field))
                return -ENOMEM;
        params = OSSL_PARAM_BLD_to_param(bld);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (!params || !ctx)
                return -ENOMEM;
        /* fromdata checks that the point is on the curve. */
        if (EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
                return -EBADMSG;
        *ret = pkey;
        return 0;
}

int tpm2_public_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **ret) {
        if (!pub || !ret)
                return -EINVAL;
        switch (pub->type) {
        case TPM2_ALG_RSA:
                return rsa_to_pkey(pub, ret);
        case TPM2_ALG_ECC:
                return ecc_to_pkey(pub, ret);
        default:
                return -EOPNOTSUPP;
        }
}

/* r ‖ s of a TPM ECDSA signature as the DER SEQUENCE OpenSSL verifies. */
static int ecdsa_der(const TPMS_SIGNATURE_ECC *e, uint8_t **ret, size_t *ret_size) {
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *s = NULL;
        BIGNUM *r_bn, *s_bn;
        uint8_t *der = NULL;
        int n;

        s = ECDSA_SIG_new();
        r_bn = BN_bin2bn(e->signatureR.buffer, e->signatureR.size, NULL);
        s_bn = BN_bin2bn(e->signatureS.buffer, e->signatureS.size, NULL);
        if (!s || !r_bn || !s_bn || !ECDSA_SIG_set0(s, r_bn, s_bn)) {
                BN_free(r_bn);
                BN_free(s_bn);
                return -ENOMEM;
        }
        n = i2d_ECDSA_SIG(s, &der);
        if (n <= 0)
                return -EIO;
        *ret = der;
        *ret_size = (size_t) n;
        return 0;
}

int quote_signature_verify(EVP_PKEY *pkey, const uint8_t *msg, size_t msg_size, const TPMT_SIGNATURE *sig) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = NULL;
        _cleanup_free_ uint8_t *der = NULL;
        const uint8_t *sig_bytes;
        EVP_PKEY_CTX *pctx = NULL;
        const EVP_MD *type;
        size_t sig_size;
        int key_type, r;

        if (!pkey || !msg || !sig)
                return -EINVAL;
        type = hash_md(tpm2_signature_hash(sig));
        if (!type)
                return -EOPNOTSUPP;
        key_type = EVP_PKEY_get_base_id(pkey);

        switch (sig->sigAlg) {
        case TPM2_ALG_ECDSA:
                if (key_type != EVP_PKEY_EC)
                        return -EOPNOTSUPP;
                r = ecdsa_der(&sig->signature.ecdsa, &der, &sig_size);
                if (r < 0)
                        return r;
                sig_bytes = der;
                break;
        case TPM2_ALG_RSASSA:
        case TPM2_ALG_RSAPSS:
                if (key_type != EVP_PKEY_RSA)
                        return -EOPNOTSUPP;
                sig_bytes = sig->signature.rsassa.sig.buffer; /* same layout for both schemes */
                sig_size = sig->signature.rsassa.sig.size;
                break;
        default:
                return -EOPNOTSUPP;
        }

        md = EVP_MD_CTX_new();
        if (!md)
                return -ENOMEM;
        if (EVP_DigestVerifyInit(md, &pctx, type, NULL, pkey) != 1)
                return -EIO;
        if (sig->sigAlg == TPM2_ALG_RSAPSS) {
                /* TPMs use a salt as long as the digest or the longest that
                 * fits, depending on the spec revision: let OpenSSL find it. */
                if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
                    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) <= 0)
                        return -EIO;
        } else if (sig->sigAlg == TPM2_ALG_RSASSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
                return -EIO;

        r = EVP_DigestVerify(md, sig_bytes, sig_size, msg, msg_size);
        return r == 1 ? 0 : -EBADMSG;
}
