/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --tpm2-device=auto|PATH|TCTI → the TCTI string given to Tss2_TctiLdr. */
#include "tpm2-util.h"
#include "macro.h"
#include "test-util.h"

static void check_spec(const char *spec, const char *want) {
        _cleanup_free_ char *s = NULL;
        int r = tpm2_tcti_from_spec(spec, &s);

        TEST_RECORD(r == 0 && s && strcmp(s, want) == 0, "'%s' → '%s' (r=%d), want '%s'", spec ? spec : "(null)",
                    s ? s : "(null)", r, want);
}

static void check_bad(const char *spec) {
        _cleanup_free_ char *s = NULL;
        int r = tpm2_tcti_from_spec(spec, &s);

        TEST_RECORD(r == -EINVAL && !s, "'%s' accepted as '%s' (r=%d)", spec, s ? s : "(null)", r);
}

int main(void) {
        char longspec[600];

        check_spec(NULL, "device:/dev/tpmrm0");
        check_spec("auto", "device:/dev/tpmrm0");
        check_spec("/dev/tpm0", "device:/dev/tpm0");
        check_spec("/dev/tpmrm1", "device:/dev/tpmrm1");
        check_spec("swtpm:host=127.0.0.1,port=2321", "swtpm:host=127.0.0.1,port=2321");
        check_spec("mssim:host=localhost,port=2321", "mssim:host=localhost,port=2321");
        check_spec("device:/dev/tpmrm0", "device:/dev/tpmrm0");
        check_spec("swtpm", "swtpm");

        check_bad("");
        check_bad("swtpm:host=1.2.3.4 port=1");
        check_bad("swtpm:\nport=1");
        check_bad(":port=1");
        check_bad("swtpm:");
        memset(longspec, 'a', sizeof longspec - 1);
        longspec[sizeof longspec - 1] = 0;
        check_bad(longspec);

        return test_done();
}
