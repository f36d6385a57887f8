/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "uefi-eventlog.h"

#define TPM_ALG_SHA1 0x0004U
#define TPM_ALG_SHA256 0x000bU
#define SPEC_ID_SIGNATURE "Spec ID Event03" /* 16 bytes with the NUL */
#define SPEC_ID_SIGNATURE_TPM12 "Spec ID Event00"
#define STARTUP_LOCALITY_SIGNATURE "StartupLocality" /* 16 bytes with the NUL */
#define ALGS_MAX 16U /* TPMs implement at most a handful of banks */

typedef struct Reader {
        const uint8_t *p;
        size_t left;
} Reader;

static bool take(Reader *r, size_t n, const uint8_t **ret) {
        if (n > r->left)
                return false;
        *ret = r->p;
        r->p += n;
        r->left -= n;
        return true;
}

static bool take_u8(Reader *r, uint8_t *ret) {
        const uint8_t *p;
        if (!take(r, 1, &p))
                return false;
        *ret = p[0];
        return true;
}

static bool take_u16(Reader *r, uint16_t *ret) {
        const uint8_t *p;
        if (!take(r, 2, &p))
                return false;
        *ret = (uint16_t) (p[0] | p[1] << 8);
        return true;
}

static bool take_u32(Reader *r, uint32_t *ret) {
        const uint8_t *p;
        if (!take(r, 4, &p))
                return false;
        *ret = (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
        return true;
}

void eventlog_done(EventLog *log) {
        if (!log)
                return;
        free(log->events);
        *log = (EventLog) {};
}

typedef struct AlgSize {
        uint16_t alg;
        uint16_t size;
} AlgSize;

#define FAIL(reason_str)                                                                                  \
        do {                                                                                              \
                reason = (reason_str);                                                                    \
                goto fail;                                                                                \
        } while (0)

int eventlog_parse(const uint8_t *buf, size_t size, EventLog *ret, const char **ret_reason) {
        _cleanup_free_ EventLogEvent *events = NULL;
        AlgSize algs[ALGS_MAX];
        Reader rd = { .p = buf, .left = size }, spec;
        const uint8_t *p, *sig;
        const char *reason = NULL;
        uint32_t pcr, type, data_size, n_algs;
        uint8_t vendor_size, locality = 0;
        size_t n_events = 0, allocated = 0;
        bool have_sha256 = false;
        int r = -EBADMSG;

        if (!buf || size == 0)
                FAIL("the event log is empty");
        if (size > EVENTLOG_SIZE_MAX) {
                r = -E2BIG;
                FAIL("the event log is larger than 16 MiB");
        }

        /* The first event, in the SHA-1 layout: its data says what follows. */
        if (!take_u32(&rd, &pcr) || !take_u32(&rd, &type) || !take(&rd, 20, &p) || !take_u32(&rd, &data_size) ||
            !take(&rd, data_size, &p))
                FAIL("the first event is truncated");
        spec = (Reader) { .p = p, .left = data_size };
        if (!take(&spec, 16, &sig))
                FAIL("the first event is not a Spec ID event");
        if (memcmp(sig, SPEC_ID_SIGNATURE_TPM12, 16) == 0) {
                r = -EOPNOTSUPP;
                FAIL("the event log is in the SHA-1-only TPM 1.2 format");
        }
        if (pcr != 0 || type != EV_NO_ACTION || memcmp(sig, SPEC_ID_SIGNATURE, 16) != 0)
                FAIL("the first event is not a Spec ID event (\"Spec ID Event03\")");
        if (!take(&spec, 4 + 4, &p) || !take_u32(&spec, &n_algs))
                FAIL("the Spec ID event is truncated");
        if (n_algs == 0 || n_algs > ALGS_MAX)
                FAIL("the Spec ID event lists no or too many digest algorithms");
        for (uint32_t i = 0; i < n_algs; i++) {
                if (!take_u16(&spec, &algs[i].alg) || !take_u16(&spec, &algs[i].size))
                        FAIL("the Spec ID event's digest sizes are truncated");
                if (algs[i].size == 0 || algs[i].size > 64)
                        FAIL("the Spec ID event declares an impossible digest size");
                if ((algs[i].alg == TPM_ALG_SHA256 && algs[i].size != EVENTLOG_SHA256_SIZE) ||
                    (algs[i].alg == TPM_ALG_SHA1 && algs[i].size != 20))
                        FAIL("the Spec ID event declares a wrong size for sha1 or sha256");
                for (uint32_t j = 0; j < i; j++)
                        if (algs[j].alg == algs[i].alg)
                                FAIL("the Spec ID event lists a digest algorithm twice");
                have_sha256 = have_sha256 || algs[i].alg == TPM_ALG_SHA256;
        }
        if (!take_u8(&spec, &vendor_size) || !take(&spec, vendor_size, &p) || spec.left != 0)
                FAIL("the Spec ID event's vendor data does not fit its size");
        if (!have_sha256) {
                r = -EOPNOTSUPP;
                FAIL("the event log has no sha256 bank");
        }

        while (rd.left > 0) {
                uint32_t n_digests;
                uint8_t sha256[EVENTLOG_SHA256_SIZE];
                bool got_sha256 = false;
                const uint8_t *data;

                if (!take_u32(&rd, &pcr) || !take_u32(&rd, &type) || !take_u32(&rd, &n_digests))
                        FAIL("an event header is truncated");
                if (pcr > EVENTLOG_PCR_MAX)
                        FAIL("an event names a PCR above 23");
                if (n_digests != n_algs)
                        FAIL("an event's digest count differs from the Spec ID event's");
                for (uint32_t i = 0; i < n_digests; i++) {
                        uint16_t alg;
                        const AlgSize *a = NULL;

                        if (!take_u16(&rd, &alg))
                                FAIL("an event's digest list is truncated");
                        for (uint32_t j = 0; j < n_algs; j++)
                                if (algs[j].alg == alg)
                                        a = &algs[j];
                        if (!a)
                                FAIL("an event carries a digest of an algorithm the Spec ID event did not list");
                        if (!take(&rd, a->size, &p))
                                FAIL("an event's digest is truncated");
                        if (alg == TPM_ALG_SHA256) {
                                if (got_sha256)
                                        FAIL("an event carries two sha256 digests");
                                memcpy(sha256, p, EVENTLOG_SHA256_SIZE);
                                got_sha256 = true;
                        }
                }
                if (!got_sha256)
                        FAIL("an event has no sha256 digest");
                if (!take_u32(&rd, &data_size) || !take(&rd, data_size, &data))
                        FAIL("an event's data is truncated");

                if (type == EV_NO_ACTION) {
                        /* Not extended. One of them sets PCR 0's initial
                         * value: the locality the TPM was started from. */
                        if (pcr == 0 && data_size == 17 &&
                            memcmp(data, STARTUP_LOCALITY_SIGNATURE, sizeof STARTUP_LOCALITY_SIGNATURE) == 0)
                                locality = data[16];
                        continue;
                }

                if (n_events >= EVENTLOG_EVENTS_MAX) {
                        r = -E2BIG;
                        FAIL("the event log has more than 65536 events");
                }
                if (n_events == allocated) {
                        size_t n = allocated ? allocated * 2 : 64;
                        EventLogEvent *e = reallocarray(events, n, sizeof *e);
                        if (!e)
                                return -ENOMEM;
                        events = e;
                        allocated = n;
                }
                events[n_events] = (EventLogEvent) { .pcr = pcr, .type = type, .data = data, .data_size = data_size };
                memcpy(events[n_events].sha256, sha256, EVENTLOG_SHA256_SIZE);
                n_events++;
        }

        *ret = (EventLog) { .events = TAKE_PTR(events), .n_events = n_events, .startup_locality = locality };
        if (ret_reason)
                *ret_reason = NULL;
        return 0;

fail:
        if (ret_reason)
                *ret_reason = reason;
        return log_debug_errno(r, "Event log rejected: %s.", reason);
}

int pcr_extend_sha256(uint8_t pcr[EVENTLOG_SHA256_SIZE], const uint8_t digest[EVENTLOG_SHA256_SIZE]) {
        uint8_t in[2 * EVENTLOG_SHA256_SIZE];
        unsigned n = 0;

        memcpy(in, pcr, EVENTLOG_SHA256_SIZE);
        memcpy(in + EVENTLOG_SHA256_SIZE, digest, EVENTLOG_SHA256_SIZE);
        if (EVP_Digest(in, sizeof in, pcr, &n, EVP_sha256(), NULL) <= 0 || n != EVENTLOG_SHA256_SIZE)
                return -EIO;
        return 0;
}

int eventlog_replay(const EventLog *log, uint32_t mask, uint8_t ret[][EVENTLOG_SHA256_SIZE]) {
        int r;

        if (mask >> (EVENTLOG_PCR_MAX + 1))
                return -EINVAL;
        for (unsigned i = 0; i <= EVENTLOG_PCR_MAX; i++) {
                if (!(mask & (UINT32_C(1) << i)))
                        continue;
                /* Reset values: PCR 17–22 (dynamic root of trust) are all
                 * ones until a D-RTM launch, the others zero. */
                memset(ret[i], i >= 17 && i <= 22 ? 0xff : 0, EVENTLOG_SHA256_SIZE);
                if (i == 0)
                        ret[i][EVENTLOG_SHA256_SIZE - 1] = log->startup_locality;
        }
        for (size_t k = 0; k < log->n_events; k++) {
                const EventLogEvent *e = &log->events[k];
                if (!(mask & (UINT32_C(1) << e->pcr)))
                        continue;
                r = pcr_extend_sha256(ret[e->pcr], e->sha256);
                if (r < 0)
                        return r;
        }
        return 0;
}
