/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Finding framed evidence in a serial console log (lib/console-frame.h).
 * The log is carried by the cloud, i.e. by the host being checked.
 *
 * Input: a console log. Properties: a payload that is found is a JSON
 * object without NULs; the same payload framed again with
 * console_frame_encode() and appended to the log is what the newest-block
 * search then returns, byte for byte, whatever noise came before. */
#include <string.h>

#include "console-frame.h"
#include "fuzz.h"
#include "json-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *found = NULL, *framed = NULL, *log = NULL, *again = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        size_t found_size = 0, again_size = 0, line = 0, n;
        int r;

        r = console_frame_find((const char *) data, size, &found, &found_size, &line);
        if (r < 0) {
                FUZZ_CHECK(r == -ENOENT || r == -EBADMSG || r == -E2BIG || r == -ENOMEM);
                return 0;
        }
        FUZZ_CHECK(line >= 1);
        FUZZ_CHECK(strlen(found) == found_size);
        FUZZ_CHECK(json_parse_object(found, found_size, &o) >= 0);

        if (console_frame_encode(found, found_size, &framed) < 0)
                return 0;
        n = strlen(framed);
        log = malloc(size + 1 + n);
        if (!log)
                return 0;
        memcpy(log, data, size);
        log[size] = '\n'; /* the input may end inside a line */
        memcpy(log + size + 1, framed, n);
        r = console_frame_find(log, size + 1 + n, &again, &again_size, NULL);
        if (r == -ENOMEM)
                return 0;
        FUZZ_CHECK(r >= 0);
        FUZZ_CHECK(again_size == found_size && memcmp(again, found, found_size) == 0);
        return 0;
}
