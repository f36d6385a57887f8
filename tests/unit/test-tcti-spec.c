/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --tpm2-device=auto|PATH|TCTI → the TCTI string given to Tss2_TctiLdr;
 * a missing TPM device node (ENODEV) told from a TPM that does not answer
 * (EHOSTDOWN), and the words the tools print for each. */
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

static void check_text(int r, const char *spec, const char *want) {
        _cleanup_free_ char *buf = NULL;
        const char *t = tpm2_open_error_text(r, spec, &buf);

        TEST_RECORD(strcmp(t, want) == 0, "error %d for '%s' reads '%s', want '%s'", r, spec ? spec : "(null)", t,
                    want);
}

static void check_open(const char *spec, int want) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
        int r = tpm2_context_new(spec, &c);

        TEST_RECORD(r == want && !c, "opening '%s' gave %d, want %d", spec, r, want);
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

        /* No device node: ENODEV, whichever way the device TCTI is named. */
        check_open("/dev/cvm-test-no-such-tpm", -ENODEV);
        check_open("device:/dev/cvm-test-no-such-tpm", -ENODEV);
        check_open("libtss2-tcti-device.so.0:/dev/cvm-test-no-such-tpm", -ENODEV);
        /* A node that exists but is no TPM (TPM2_Startup reads nothing
         * back): the TPM failed, not absent. */
        check_open("/dev/null", -EHOSTDOWN);

        check_text(-ENODEV, NULL, "No TPM 2.0 device found (/dev/tpmrm0 missing)");
        check_text(-ENODEV, "auto", "No TPM 2.0 device found (/dev/tpmrm0 missing)");
        check_text(-ENODEV, "/dev/tpm0", "No TPM 2.0 device found (/dev/tpm0 missing)");
        check_text(-ENODEV, "tcti-device:/dev/tpm9", "No TPM 2.0 device found (/dev/tpm9 missing)");
        check_text(-ENODEV, "device", "No TPM 2.0 device found (/dev/tpmrm0 and /dev/tpm0 missing)");
        check_text(-EHOSTDOWN, "auto", "Failed to open the TPM through 'device:/dev/tpmrm0': Host is down");
        check_text(-EHOSTDOWN, "swtpm:port=1", "Failed to open the TPM through 'swtpm:port=1': Host is down");
        check_text(-EINVAL, "swtpm:", "Failed to open the TPM 'swtpm:': Invalid argument");

        return test_done();
}
