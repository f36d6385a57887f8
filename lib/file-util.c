/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"
#include "macro.h"

ssize_t loop_read(int fd, void *buf, size_t size) {
        uint8_t *p = buf;
        size_t n = 0;

        while (n < size) {
                ssize_t k = read(fd, p + n, size - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        return (ssize_t) n;
}

int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, allocated = 0;
        int in;

        if (!path || !ret || !ret_size)
                return -EINVAL;
        if (streq(path, "-"))
                in = STDIN_FILENO;
        else {
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return negative_errno();
                in = fd;
        }

        for (;;) {
                size_t want;
                ssize_t k;

                if (allocated - n < 2) {
                        /* Up to max + 1 bytes and the NUL: one byte too many is noticed. */
                        size_t a = MIN(MAX(allocated * 2, (size_t) 4096), max + 2);
                        char *p;

                        if (a <= allocated)
                                return -EFBIG;
                        p = realloc(buf, a);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        allocated = a;
                }
                want = allocated - n - 1;
                k = loop_read(in, buf + n, want);
                if (k < 0)
                        return (int) k;
                n += (size_t) k;
                if (n > max)
                        return -EFBIG;
                if ((size_t) k < want)
                        break; /* loop_read() stops short only at end of file */
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

int loop_write(int fd, const void *data, size_t size) {
        const uint8_t *p = data;
        size_t done = 0;

        while (done < size) {
                ssize_t k = write(fd, p + done, size - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                done += (size_t) k;
        }
        return 0;
}

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode) {
        _cleanup_free_ char *tmp = NULL, *dir_copy = NULL;
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        int r;

        if (!path || (!data && size > 0))
                return -EINVAL;
        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();

        r = loop_write(fd, data, size);
        if (r >= 0 && (fchmod(fd, mode) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0))
                r = negative_errno();
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }

        /* The rename is durable only once the directory is. */
        dir_copy = strdup(path);
        if (!dir_copy)
                return -ENOMEM;
        dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return 0;
}

int fd_is_read_only_blockdev(int fd) {
        struct stat st;
        int ro = 0;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISBLK(st.st_mode))
                return 0;
        if (ioctl(fd, BLKROGET, &ro) < 0)
                return negative_errno();
        return ro != 0;
}

int path_is_read_only(const char *path) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        r = fd_is_read_only_blockdev(fd);
        if (r != 0)
                return r;
        /* root passes W_OK checks except on a read-only filesystem. */
        if (access(path, W_OK) < 0)
                return errno == EROFS || errno == EACCES ? 1 : negative_errno();
        return 0;
}
