/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The legacy cloud-init key file parser (lib/keydata.h), which reads
 * /cc_growpart_keydata = {"key": BASE64, "slot": N} from the image.
 *
 * The input goes into a memfd. keydata_read() opens paths with O_NOFOLLOW,
 * so /proc/self/fd/N (a magic symlink) is refused with ELOOP, as any
 * symlink should be; the memfd is therefore handed over as standard input
 * and read through the path "-", which secret_read_file() supports. */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "file-util.h"
#include "fuzz.h"
#include "keydata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(secret_freep) Secret *key = NULL;
        _cleanup_close_ int mfd = -EBADF, saved_stdin = -EBADF;
        int slot = -1, r;

        mfd = memfd_create("fuzz-keydata", MFD_CLOEXEC);
        FUZZ_CHECK(mfd >= 0);
        FUZZ_CHECK(loop_write(mfd, data, size) >= 0);
        FUZZ_CHECK(lseek(mfd, 0, SEEK_SET) == 0);

        saved_stdin = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        FUZZ_CHECK(dup2(mfd, STDIN_FILENO) == STDIN_FILENO);

        r = keydata_read("-", &key, &slot);

        /* Put the real stdin back (or leave none if there was none). */
        if (saved_stdin >= 0)
                FUZZ_CHECK(dup2(saved_stdin, STDIN_FILENO) == STDIN_FILENO);
        else
                (void) close(STDIN_FILENO);

        if (size > KEYDATA_FILE_MAX)
                FUZZ_CHECK(r < 0);
        if (r < 0)
                return 0;
        FUZZ_CHECK(slot >= 0 && slot <= 31);
        FUZZ_CHECK(key && key->size > 0 && key->size <= KEYDATA_FILE_MAX);
        return 0;
}
