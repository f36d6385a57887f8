/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TPM structures of evidence (lib/quote-verify.h), below the JSON and
 * base64 layers that fuzz-evidence goes through, so that mutations land in
 * the marshalled bytes: TPMS_ATTEST (quote.attest), TPMT_SIGNATURE
 * (quote.signature), TPM2B_PUBLIC (ak.public), then the AK checks, the key
 * conversion to OpenSSL and the signature check, as evidence_verify() runs
 * them.
 *
 * Input: uint16_be(n) ‖ attest[n] ‖ uint16_be(m) ‖ signature[m] ‖ public
 * (the rest). Seeds: the structures of real evidence from cvm-authcheck. */
#include <endian.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "fuzz.h"
#include "quote-verify.h"

static bool take(const uint8_t **data, size_t *size, const uint8_t **ret, size_t *ret_size) {
        uint16_t n;

        if (*size < 2)
                return false;
        memcpy(&n, *data, 2);
        n = be16toh(n);
        if (*size - 2 < n)
                return false;
        *ret = *data + 2;
        *ret_size = n;
        *data += 2 + n;
        *size -= 2 + (size_t) n;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        const uint8_t *attest, *sig;
        size_t attest_size, sig_size, off;
        TPMS_ATTEST a;
        TPMT_SIGNATURE s;
        TPM2B_PUBLIC p;
        uint8_t buf[sizeof(TPM2B_PUBLIC) + 64];
        bool attest_ok, sig_ok, pub_ok;
        int r;

        if (!take(&data, &size, &attest, &attest_size) || !take(&data, &size, &sig, &sig_size))
                return 0;

        /* Accepted structures are consumed exactly: they marshal back to
         * the input byte for byte (no trailing bytes, nothing skipped). */
        r = quote_attest_parse(attest, attest_size, &a);
        attest_ok = r == 0;
        if (r == 0 || r == -EPROTO || r == -EMEDIUMTYPE) {
                off = 0;
                FUZZ_CHECK(Tss2_MU_TPMS_ATTEST_Marshal(&a, buf, sizeof buf, &off) == TSS2_RC_SUCCESS);
                FUZZ_CHECK(off == attest_size && memcmp(buf, attest, off) == 0);
        }
        if (attest_ok) {
                FUZZ_CHECK(a.magic == TPM2_GENERATED_VALUE && a.type == TPM2_ST_ATTEST_QUOTE);
                FUZZ_CHECK(a.attested.quote.pcrSelect.count <= TPM2_NUM_PCR_BANKS);
        }

        sig_ok = quote_signature_parse(sig, sig_size, &s) == 0;
        if (sig_ok) {
                off = 0;
                FUZZ_CHECK(Tss2_MU_TPMT_SIGNATURE_Marshal(&s, buf, sizeof buf, &off) == TSS2_RC_SUCCESS);
                FUZZ_CHECK(off == sig_size && memcmp(buf, sig, off) == 0);
                (void) tpm2_signature_hash(&s);
        }

        pub_ok = tpm2_public_parse(data, size, &p) == 0;
        if (!pub_ok)
                return 0;
        off = 0;
        FUZZ_CHECK(Tss2_MU_TPM2B_PUBLIC_Marshal(&p, buf, sizeof buf, &off) == TSS2_RC_SUCCESS);
        FUZZ_CHECK(off == size && memcmp(buf, data, off) == 0);

        if (!tpm2_public_is_ak(&p.publicArea))
                return 0;
        if (tpm2_public_to_pkey(&p.publicArea, &pkey) < 0)
                return 0;
        FUZZ_CHECK(pkey);
        if (attest_ok && sig_ok) {
                r = quote_signature_verify(pkey, attest, attest_size, &s);
                FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EOPNOTSUPP);
        }
        return 0;
}
