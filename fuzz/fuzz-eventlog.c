/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The UEFI TPM event log parser (lib/uefi-eventlog.h): the firmware's log,
 * or a file given with cvm-enroll reseal --eventlog. Properties: an
 * accepted log lists only events on PCR 0–23 whose data lie inside the
 * input, in input order; replaying every PCR succeeds, and replaying one
 * PCR gives the same value as the full replay (PCRs are independent); a
 * refused log always says why. */
#include <string.h>

#include "fuzz.h"
#include "uefi-eventlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(eventlog_done) EventLog log = {};
        uint8_t all[EVENTLOG_PCR_MAX + 1][EVENTLOG_SHA256_SIZE], one[EVENTLOG_PCR_MAX + 1][EVENTLOG_SHA256_SIZE];
        const char *reason = NULL;
        const uint8_t *last = data;
        int r;

        r = eventlog_parse(size > 0 ? data : NULL, size, &log, &reason);
        if (r < 0) {
                FUZZ_CHECK(reason && *reason);
                return 0;
        }
        FUZZ_CHECK(!reason);
        FUZZ_CHECK(log.n_events <= EVENTLOG_EVENTS_MAX);
        for (size_t i = 0; i < log.n_events; i++) {
                const EventLogEvent *e = &log.events[i];
                FUZZ_CHECK(e->pcr <= EVENTLOG_PCR_MAX);
                FUZZ_CHECK(e->data >= data && e->data <= data + size);
                FUZZ_CHECK(e->data_size <= (size_t) (data + size - e->data));
                FUZZ_CHECK(e->data >= last);
                last = e->data;
        }
        FUZZ_CHECK(eventlog_replay(&log, UINT32_C(0xffffff), all) == 0);
        for (unsigned i = 0; i <= EVENTLOG_PCR_MAX; i++) {
                FUZZ_CHECK(eventlog_replay(&log, UINT32_C(1) << i, one) == 0);
                FUZZ_CHECK(memcmp(one[i], all[i], EVENTLOG_SHA256_SIZE) == 0);
        }
        return 0;
}
