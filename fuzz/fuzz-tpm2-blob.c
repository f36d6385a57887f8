/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sealed-object blob of a systemd-tpm2 token (lib/tpm2-seal.h): the
 * marshalled TPM2B_PRIVATE ‖ TPM2B_PUBLIC that systemd stores base64 in
 * "tpm2-blob" and that we hand to TPM2_Load. It comes from the disk.
 * Properties: tpm2_blob_unmarshal() never reads beyond the input; what it
 * accepts is a keyed-hash object, and marshalling the two halves again
 * reproduces the input byte for byte (nothing ignored, nothing trailing). */
#include <string.h>
#include <tss2/tss2_mu.h>

#include "fuzz.h"
#include "tpm2-seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool initialized = false;
        TPM2B_PRIVATE priv;
        TPM2B_PUBLIC pub;
        uint8_t buf[sizeof(TPM2B_PRIVATE) + sizeof(TPM2B_PUBLIC)];
        size_t off = 0;
        int r;

        if (!initialized) {
                /* tss2-mu logs every rejected field at error level: keep
                 * the fuzzer's output readable (the user's setting wins). */
                (void) setenv("TSS2_LOG", "all+NONE", /* overwrite= */ 0);
                initialized = true;
        }

        r = tpm2_blob_unmarshal(size > 0 ? data : NULL, size, &priv, &pub);
        if (r < 0)
                return 0;

        FUZZ_CHECK(size > 0 && size <= TPM2_BLOB_MAX);
        FUZZ_CHECK(pub.publicArea.type == TPM2_ALG_KEYEDHASH);
        FUZZ_CHECK(priv.size <= sizeof(priv.buffer));

        FUZZ_CHECK(Tss2_MU_TPM2B_PRIVATE_Marshal(&priv, buf, sizeof buf, &off) == TSS2_RC_SUCCESS);
        FUZZ_CHECK(Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, sizeof buf, &off) == TSS2_RC_SUCCESS);
        FUZZ_CHECK(off == size);
        FUZZ_CHECK(memcmp(buf, data, size) == 0);
        return 0;
}
