/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The UEFI firmware's TPM event log in the TCG PC Client "crypto agile"
 * format (TCG PC Client Platform Firmware Profile, section 10), as Linux
 * exports it in /sys/kernel/security/tpm0/binary_bios_measurements:
 *   TCG_PCR_EVENT (SHA-1 layout) whose data is the TCG_EfiSpecIdEvent
 *   ("Spec ID Event03", the list of digest algorithms and their sizes),
 *   then TCG_PCR_EVENT2 records: pcrIndex u32, eventType u32,
 *   TPML_DIGEST_VALUES (count u32, {algId u16, digest}), eventSize u32, event.
 * All integers little-endian. The log comes from firmware the host controls
 * and from a file anyone may pass: every length is checked against what is
 * left, every algorithm must be one the Spec ID event declared, and nothing
 * is trusted beyond its bounds. Only the sha256 bank is kept. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define EVENTLOG_SHA256_SIZE 32U
#define EVENTLOG_PCR_MAX 23U
#define EVENTLOG_PATH_DEFAULT "/sys/kernel/security/tpm0/binary_bios_measurements"
/* A real OVMF/shim/UKI boot logs ~100 events in ~30 KiB; Azure/GCP logs
 * are below 1 MiB. Anything larger is not a firmware log. */
#define EVENTLOG_SIZE_MAX (16U * 1024U * 1024U)
#define EVENTLOG_EVENTS_MAX 65536U

/* Event types we look at (TCG PC Client PFP, table 9). */
#define EV_NO_ACTION 0x00000003U
#define EV_SEPARATOR 0x00000004U
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003U
#define EV_IPL 0x0000000dU

typedef struct EventLogEvent {
        uint32_t pcr;
        uint32_t type;
        uint8_t sha256[EVENTLOG_SHA256_SIZE];
        const uint8_t *data; /* points into the buffer given to eventlog_parse() */
        uint32_t data_size;
} EventLogEvent;

typedef struct EventLog {
        EventLogEvent *events; /* EV_NO_ACTION events are not listed (never extended) */
        size_t n_events;
        uint8_t startup_locality; /* from a "StartupLocality" EV_NO_ACTION event: PCR 0's initial value */
} EventLog;

void eventlog_done(EventLog *log);

/* Parse @buf (which must outlive @ret). Returns 0, -EBADMSG for a log that
 * is not well formed (the reason goes to the debug log and, if
 * @ret_reason is given, a static string there), -EOPNOTSUPP for a valid
 * log without a sha256 bank or in the SHA-1-only format, -E2BIG beyond
 * the limits above. */
int eventlog_parse(const uint8_t *buf, size_t size, EventLog *ret, const char **ret_reason);

/* Replay the sha256 bank: for each PCR in @mask, start from the PCR's reset
 * value and extend each event's digest in log order:
 * PCR = SHA256(PCR ‖ digest). @ret gets one value per PCR index (0–23),
 * only the PCRs in @mask are written. */
int eventlog_replay(const EventLog *log, uint32_t mask, uint8_t ret[][EVENTLOG_SHA256_SIZE]);

/* SHA256(@a ‖ @b): one PCR extend. */
int pcr_extend_sha256(uint8_t pcr[EVENTLOG_SHA256_SIZE], const uint8_t digest[EVENTLOG_SHA256_SIZE]);
