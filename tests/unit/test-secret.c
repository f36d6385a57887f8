/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Secret hygiene of lib/secret.h, observed from outside the code under
 * test: the kernel's own view of the mapping (/proc/self/smaps VmFlags:
 * "dd" = excluded from core dumps, "lo" = locked in RAM), the process's
 * dumpable flag, and the bytes of the mapping at the moment it is unmapped
 * (this test's munmap() below stands in for libc's, so a secret_free()
 * that forgot to wipe would hand it non-zero bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "secret.h"
#include "test-util.h"

static const uint8_t *watch;
static size_t watch_size;
static int unmapped_dirty = -1; /* -1: not seen, 0: all zero, 1: not wiped */

/* Interposes libc's munmap() for the whole program (libcvm is a static
 * library linked into this executable). */
int munmap(void *addr, size_t length) {
        if (watch && addr == watch) {
                unmapped_dirty = 0;
                for (size_t i = 0; i < watch_size; i++)
                        if (watch[i] != 0)
                                unmapped_dirty = 1;
        }
        return (int) syscall(SYS_munmap, addr, length);
}

/* The VmFlags line of the mapping that holds @p. */
static int vm_flags(const void *p, char *ret, size_t size) {
        FILE *f = fopen("/proc/self/smaps", "re");
        char line[512];
        int in = 0;

        if (!f)
                return -1;
        while (fgets(line, sizeof line, f)) {
                unsigned long lo, hi;
                if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
                        in = (uintptr_t) p >= lo && (uintptr_t) p < hi;
                        continue;
                }
                if (in && strncmp(line, "VmFlags:", 8) == 0) {
                        snprintf(ret, size, "%s", line + 8);
                        fclose(f);
                        return 0;
                }
        }
        fclose(f);
        return -1;
}

static int has_flag(const char *flags, const char *flag) {
        char padded[512];
        snprintf(padded, sizeof padded, " %s ", flags);
        for (char *c = padded; *c; c++)
                if (*c == '\n')
                        *c = ' ';
        char want[8];
        snprintf(want, sizeof want, " %s ", flag);
        return strstr(padded, want) != NULL;
}

static void test_mapping(void) {
        Secret *s = NULL;
        char flags[512] = "";
        int nonzero = 0;

        ASSERT_OK(secret_new_random(64, &s));
        if (!s)
                return;
        for (size_t i = 0; i < s->size; i++)
                nonzero |= s->data[i];
        ASSERT_TRUE(nonzero);
        ASSERT_TRUE(vm_flags(s->data, flags, sizeof flags) == 0);
        TEST_RECORD(has_flag(flags, "dd"), "secret mapping not excluded from core dumps: VmFlags:%s", flags);
#if defined(__SANITIZE_ADDRESS__)
        /* ASan's runtime turns mlock() into a no-op (its shadow memory
         * cannot be locked); the plain build checks it. */
        printf("# mlock not checked: AddressSanitizer build\n");
#else
        TEST_RECORD(has_flag(flags, "lo"), "secret mapping not locked: VmFlags:%s", flags);
#endif

        watch = s->data;
        watch_size = s->mapped;
        secret_free(s);
        watch = NULL;
        TEST_RECORD(unmapped_dirty == 0, "secret_free() unmapped the secret %s",
                    unmapped_dirty < 0 ? "never" : "without wiping it");
}

static void test_harden_process(void) {
        secret_harden_process();
        ASSERT_TRUE(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
}

int main(void) {
        test_mapping();
        test_harden_process();
        return test_done();
}
