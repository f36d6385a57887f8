/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <limits.h>
#include <stdint.h>

#include "file-util.h"
#include "log.h"
#include "secret.h"

int secret_new(size_t size, Secret **ret) {
        _cleanup_free_ Secret *s = NULL;
        long page = sysconf(_SC_PAGESIZE);
        size_t mapped;
        void *p;

        if (!ret)
                return -EINVAL;
        if (size > SIZE_MAX - (size_t) page)
                return -ENOMEM;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;

        mapped = (size + 1 + (size_t) page - 1) / (size_t) page * (size_t) page;
        p = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return negative_errno();
        if (madvise(p, mapped, MADV_DONTDUMP) < 0)
                log_debug_errno(errno, "madvise(MADV_DONTDUMP) failed, ignoring: %m");
        if (mlock(p, mapped) < 0)
                log_debug_errno(errno, "mlock() of %zu bytes failed, ignoring: %m", mapped);

        s->data = p;
        s->size = size;
        s->capacity = mapped - 1; /* keep room for a terminating NUL */
        s->mapped = mapped;
        *ret = TAKE_PTR(s);
        return 0;
}

int secret_new_copy(const void *data, size_t size, Secret **ret) {
        Secret *s;
        int r;

        r = secret_new(size, &s);
        if (r < 0)
                return r;
        if (size > 0)
                memcpy(s->data, data, size);
        *ret = s;
        return 0;
}

int secret_new_random(size_t size, Secret **ret) {
        _cleanup_(secret_freep) Secret *s = NULL;
        int r;

        r = secret_new(size, &s);
        if (r < 0)
                return r;
        if (size > INT_MAX || RAND_priv_bytes(s->data, (int) size) != 1)
                return -EIO;
        *ret = TAKE_PTR(s);
        return 0;
}

Secret *secret_free(Secret *s) {
        if (!s)
                return NULL;
        explicit_bzero(s->data, s->mapped);
        (void) munlock(s->data, s->mapped);
        (void) munmap(s->data, s->mapped);
        free(s);
        return NULL;
}

int secret_to_base64(const Secret *s, Secret **ret) {
        _cleanup_(secret_freep) Secret *b = NULL;
        size_t n;
        int r, k;

        if (!s || !ret || s->size > INT_MAX / 2)
                return -EINVAL;
        n = 4 * ((s->size + 2) / 3);
        r = secret_new(n, &b);
        if (r < 0)
                return r;
        /* EVP_EncodeBlock writes no newlines and a NUL; it works in place in
         * our locked buffer, so no unlocked copy of the passphrase exists. */
        k = EVP_EncodeBlock(b->data, s->data, (int) s->size);
        if (k < 0 || (size_t) k != n)
                return -EIO;
        *ret = TAKE_PTR(b);
        return 0;
}

void secret_harden_process(void) {
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                log_debug_errno(errno, "prctl(PR_SET_DUMPABLE) failed, ignoring: %m");
}

int secret_read_file(const char *path, size_t max, Secret **ret) {
        _cleanup_(secret_freep) Secret *s = NULL;
        _cleanup_close_ int fd_close = -EBADF;
        int fd = STDIN_FILENO, r;
        struct stat st;
        ssize_t k;

        if (!streq(path, "-")) {
                fd = fd_close = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
                if (fd < 0)
                        return negative_errno();
                if (fstat(fd, &st) < 0)
                        return negative_errno();
                if (!S_ISREG(st.st_mode))
                        return -EBADMSG;
                if ((uintmax_t) st.st_size > max)
                        return -E2BIG;
                /* Lock only what the file needs: locking the whole limit
                 * (8 MiB for key files) cost more than the enrollment. A file
                 * that grows meanwhile still hits the check below. */
                max = (size_t) st.st_size;
        }
        r = secret_new(max, &s);
        if (r < 0)
                return r;
        k = loop_read(fd, s->data, max + 1); /* +1: notice oversize input */
        if (k < 0)
                return (int) k;
        if ((size_t) k > max)
                return -E2BIG;
        s->size = (size_t) k;
        *ret = TAKE_PTR(s);
        return 0;
}
