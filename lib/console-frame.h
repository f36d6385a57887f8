/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Evidence on a serial console (DESIGN.md): the JSON, base64-encoded in
 * lines of 64 characters, between
 *
 *   -----BEGIN CVM HOST KEY ATTESTATION-----
 *   -----END CVM HOST KEY ATTESTATION-----
 *
 * The console is carried by the host (az vm boot-diagnostics
 * get-boot-log, gcloud compute instances get-serial-port-output), so what
 * comes back is a noisy log: other output before, after and in between,
 * timestamps or other prefixes on each line, CR LF or CR line ends, a
 * block cut short. Reading accepts (docs/EVIDENCE.md, "Console framing"):
 *
 *  - lines ending in LF, CR LF, CR, or any mix;
 *  - each marker anywhere in its line (after a prefix);
 *  - as a payload line, the last whitespace-separated field of a line if it
 *    is base64 of a length divisible by 4 (anything before it is a prefix).
 *    Full lines are exactly 64 characters; other lines in between whose
 *    last field happens to look like base64 but is shorter are skipped,
 *    except as the final, short line of the payload (each candidate is
 *    tried, newest first);
 *  - a BEGIN with no END before the next BEGIN (or the end of the log) is
 *    incomplete and ignored.
 *
 * The newest block whose payload decodes to a JSON object wins; older
 * ones are ignored. Nothing here is trusted: the evidence proves itself. */

#include <stddef.h>

#define CONSOLE_FRAME_BEGIN "-----BEGIN CVM HOST KEY ATTESTATION-----"
#define CONSOLE_FRAME_END "-----END CVM HOST KEY ATTESTATION-----"
#define CONSOLE_FRAME_LINE 64U
#define CONSOLE_LOG_MAX (64U * 1024U * 1024U)  /* a console log we read */
#define CONSOLE_PAYLOAD_MAX (512U * 1024U)     /* base64 characters in one block */

/* Frame @size bytes of @data: BEGIN line, base64 lines, END line, each
 * ending in "\n". */
int console_frame_encode(const void *data, size_t size, char **ret);

/* Find the newest complete block in @log and return its decoded payload
 * (NUL-terminated; @ret_size excludes the NUL) and the 1-based line number
 * of its BEGIN marker. -ENOENT: no complete block; -EBADMSG: complete
 * blocks exist but none decodes to a JSON object; -E2BIG: log too large. */
int console_frame_find(const char *log, size_t size, char **ret, size_t *ret_size, size_t *ret_line);
