/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* KDFa / KDFe (lib/tpm2-duplicate.c) vs. tests/expected/tpm2-kdf.txt,
 * which tests/generators/tpm2-kdf.py computed from the spec with Python's
 * hashlib/hmac alone. Also: the sealed object's Name against a hand-built
 * marshalling, and the refusals of bad arguments. */
#include <stdlib.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "encode-util.h"
#include "macro.h"
#include "test-util.h"
#include "tpm2-duplicate.h"

static int unhex(const char *s, uint8_t **ret, size_t *ret_size) {
        void *d = NULL;
        size_t n = 0;

        if (streq(s, "-")) {
                *ret = NULL;
                *ret_size = 0;
                return 0;
        }
        if (hex_decode(s, (size_t) -1, &d, &n) < 0)
                return -EBADMSG;
        *ret = d;
        *ret_size = n;
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_fclose_ FILE *f = NULL;
        char kind[8], hash[8], k_s[256], label[32], u_s[256], v_s[256], want[512];
        unsigned bits, n_kdfa = 0, n_kdfe = 0;
        uint8_t out[128];

        f = test_open_expected(argc, argv);
        while (fscanf(f, "%7s %7s %255s %31s %255s %255s %u %511s", kind, hash, k_s, label, u_s, v_s, &bits, want) ==
               8) {
                _cleanup_free_ uint8_t *k = NULL, *u = NULL, *v = NULL;
                _cleanup_free_ char *got = NULL;
                size_t ks, us, vs;
                TPMI_ALG_HASH alg = streq(hash, "sha256") ? TPM2_ALG_SHA256 : TPM2_ALG_SHA384;

                if (unhex(k_s, &k, &ks) < 0 || unhex(u_s, &u, &us) < 0 || unhex(v_s, &v, &vs) < 0 ||
                    bits / 8 > sizeof out)
                        return 99;
                if (streq(kind, "kdfa")) {
                        ASSERT_OK(tpm2_kdfa(alg, k, ks, label, u, us, v, vs, bits, out));
                        n_kdfa++;
                } else {
                        ASSERT_OK(tpm2_kdfe(alg, k, ks, label, u, us, v, vs, bits, out));
                        n_kdfe++;
                }
                ASSERT_OK(hex_encode(out, bits / 8, &got));
                ASSERT_STREQ(got, want);
        }
        ASSERT_EQ(n_kdfa, 5);
        ASSERT_EQ(n_kdfe, 4);

        /* Refusals: SHA-1, bits not a multiple of 8, no bits. */
        ASSERT_ERROR(tpm2_kdfa(TPM2_ALG_SHA1, out, 1, "X", NULL, 0, NULL, 0, 128, out), EINVAL);
        ASSERT_ERROR(tpm2_kdfa(TPM2_ALG_SHA256, out, 1, "X", NULL, 0, NULL, 0, 12, out), EINVAL);
        ASSERT_ERROR(tpm2_kdfe(TPM2_ALG_SHA256, out, 1, "X", NULL, 0, NULL, 0, 0, out), EINVAL);

        /* Name of a public area: 0x000b ‖ SHA-256 of its marshalling, here
         * checked against OpenSSL's one-shot digest of bytes marshalled by
         * tss2-mu (the object's layout is not ours to invent). */
        {
                TPMT_PUBLIC p = { .type = TPM2_ALG_KEYEDHASH, .nameAlg = TPM2_ALG_SHA256,
                                  .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
                                  .authPolicy.size = 32, .unique.keyedHash.size = 32 };
                uint8_t buf[sizeof p], md[32];
                size_t off = 0;
                TPM2B_NAME name;

                ASSERT_EQ(Tss2_MU_TPMT_PUBLIC_Marshal(&p, buf, sizeof buf, &off), TSS2_RC_SUCCESS);
                /* type(2) nameAlg(2) attrs(4) policy(2+32) scheme(2) unique(2+32) */
                ASSERT_EQ(off, 78);
                ASSERT_TRUE(EVP_Digest(buf, off, md, NULL, EVP_sha256(), NULL) == 1);
                ASSERT_OK(tpm2_object_name(&p, &name));
                ASSERT_EQ(name.size, 34);
                ASSERT_TRUE(name.name[0] == 0x00 && name.name[1] == 0x0b && memcmp(name.name + 2, md, 32) == 0);
        }

        /* SRK public: hostile input. */
        {
                TPM2B_PUBLIC pub;
                static const uint8_t garbage[] = { 0x00, 0x05, 1, 2, 3, 4, 5 };
                ASSERT_ERROR(tpm2_srk_public_load(garbage, sizeof garbage, &pub, NULL), EBADMSG);
                ASSERT_ERROR(tpm2_srk_public_load(garbage, 0, &pub, NULL), EBADMSG);
                ASSERT_ERROR(tpm2_srk_public_load((const uint8_t *) "-----BEGIN PUBLIC KEY-----\nAAAA\n", 33, &pub, NULL),
                             EBADMSG);
        }
        return test_done();
}
