/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Evidence JSON (lib/evidence.h) and its verification (lib/evidence-verify.h).
 * The evidence comes from the console or the network, i.e. from the host
 * being checked.
 *
 * Input: the evidence text. Properties: an accepted evidence formats with
 * evidence_to_json(), the text parses back and formats to the same text
 * (nothing is lost or invented); verification without any trust anchor
 * never succeeds, and every check it reports failed has a reason. */
#include <string.h>

#include "evidence-verify.h"
#include "evidence.h"
#include "fuzz.h"
#include "json-util.h"

static char *format(const Evidence *e) {
        _cleanup_(json_object_putp) json_object *o = NULL;

        FUZZ_CHECK(evidence_to_json(e, &o) >= 0);
        return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *t1 = NULL, *t2 = NULL;
        Evidence e = {}, again = {};
        VerifyPolicy policy = {};
        VerifyReport report;
        const char *field = NULL;
        int r;

        r = evidence_parse((const char *) data, size, &e, &field);
        if (r < 0) {
                FUZZ_CHECK(field != NULL);
                return 0;
        }

        t1 = format(&e);
        if (!t1)
                goto out;
        FUZZ_CHECK(evidence_parse(t1, strlen(t1), &again, NULL) >= 0);
        t2 = format(&again);
        if (t2)
                FUZZ_CHECK(strcmp(t1, t2) == 0);

        verify_report_init(&report);
        r = evidence_verify(&e, &policy, &report);
        if (r != -ENOMEM) {
                FUZZ_CHECK(r == -EKEYREJECTED);
                FUZZ_CHECK(report.result[VERIFY_AK_TRUST] == VERIFY_FAILED);
                for (int c = 0; c < _VERIFY_CHECK_MAX; c++)
                        if (report.result[c] == VERIFY_FAILED)
                                FUZZ_CHECK(report.detail[c][0] != 0);
        }
out:
        evidence_done(&again);
        evidence_done(&e);
        return 0;
}
