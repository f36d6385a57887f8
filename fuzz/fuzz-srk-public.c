/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SRK public key seal-offline reads (tpm2_srk_public_load(),
 * lib/tpm2-duplicate.h): TPM2B_PUBLIC, TPMT_PUBLIC or PEM from a file the
 * image builder was handed. Properties checked:
 *  - no crash, leak or out-of-bounds read;
 *  - a key that is refused (-EMEDIUMTYPE) comes with a reason;
 *  - an accepted key is a storage key tpm2_srk_public_invalid_reason()
 *    accepts, and its Name can be computed;
 *  - a duplicate can be made for it, or the key is refused with an error
 *    (an ECC point off the curve, an RSA modulus OpenSSL refuses), never a
 *    crash. */
#include <string.h>

#include "fuzz.h"
#include "tpm2-duplicate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(secret_freep) Secret *s = NULL;
        static const uint8_t policy[32] = {};
        const char *reason = NULL;
        TPM2B_PUBLIC pub;
        TPM2B_NAME name;
        Tpm2Duplicate d;
        int r;

        r = tpm2_srk_public_load(data, size, &pub, &reason);
        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG || r == -EMEDIUMTYPE);
                /* A key that is refused is refused with a reason. */
                FUZZ_CHECK(r != -EMEDIUMTYPE || reason != NULL);
                return 0;
        }
        FUZZ_CHECK(tpm2_srk_public_invalid_reason(&pub.publicArea) == NULL);
        FUZZ_CHECK(tpm2_object_name(&pub.publicArea, &name) >= 0);
        FUZZ_CHECK(name.size == 2 + (pub.publicArea.nameAlg == TPM2_ALG_SHA256 ? 32 : 48));

        FUZZ_CHECK(secret_new_copy("0123456789abcdef0123456789abcdef", 32, &s) >= 0);
        r = tpm2_duplicate_seal(&pub.publicArea, policy, s, &d);
        if (r >= 0) {
                FUZZ_CHECK(d.duplicate.size > 2 && d.seed.size > 0);
                FUZZ_CHECK(d.public.publicArea.type == TPM2_ALG_KEYEDHASH);
        }
        return 0;
}
