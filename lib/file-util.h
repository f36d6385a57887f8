/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Whole-file reads with a bound, and atomic replacement of a file. */

#include <stddef.h>
#include <sys/types.h>

/* Read all of @path ("-" = stdin) if it is at most @max bytes, else
 * -EFBIG. The result is NUL-terminated (@ret_size excludes the NUL). */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size);

/* Read until @size bytes or end of file, retrying short reads and EINTR.
 * Returns the number of bytes read or -errno. */
ssize_t loop_read(int fd, void *buf, size_t size);

/* Write all @size bytes, retrying short writes and EINTR. */
int loop_write(int fd, const void *data, size_t size);

/* Is @fd a block device the kernel marks read-only (BLKROGET, e.g.
 * blockdev --setro or a read-only virtual disk)? 1 yes, 0 no (also for
 * anything that is not a block device), <0 error. */
int fd_is_read_only_blockdev(int fd);

/* Can @path not be written, as a read-only block device or a file on a
 * read-only filesystem? 1 yes, 0 no, <0 error. Tools check this before a
 * step that writes, so the error says "read-only" rather than the EIO a
 * failed write gives. */
int path_is_read_only(const char *path);

/* Replace @path with @size bytes of @data so that a reader sees the old or
 * the new contents, never a mix, and a crash leaves one of them: write a
 * temporary file in the same directory, fsync, chmod @mode, rename over
 * @path, fsync the directory. */
int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);
