/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "encode-util.h"
#include "json-util.h"
#include "keydata.h"
#include "log.h"

int keydata_read(const char *path, Secret **ret_key, int *ret_slot) {
        _cleanup_(secret_freep) Secret *file = NULL, *key = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ void *raw = NULL;
        size_t raw_size = 0;
        json_object *v;
        int64_t slot;
        int r;

        r = secret_read_file(path, KEYDATA_FILE_MAX, &file);
        if (r < 0)
                return r;
        r = json_parse_object((const char *) file->data, file->size, &o);
        if (r < 0)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "'%s' is not a JSON object.", path);
        r = json_get_int(o, "slot", 0, 31, &slot);
        if (r < 0)
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "'%s': 'slot' missing or out of range.", path);
        r = json_get_base64(o, "key", &raw, &raw_size);
        /* json-c and the decoder made unlocked copies: wipe them at once. */
        if (json_object_object_get_ex(o, "key", &v) && json_object_is_type(v, json_type_string))
                explicit_bzero((char *) json_object_get_string(v), (size_t) json_object_get_string_len(v));
        if (r < 0 || raw_size == 0) {
                if (raw)
                        explicit_bzero(raw, raw_size);
                return log_debug_errno(SYNTHETIC_ERRNO(EBADMSG), "'%s': 'key' missing or not base64.", path);
        }
        r = secret_new_copy(raw, raw_size, &key);
        explicit_bzero(raw, raw_size);
        if (r < 0)
                return r;

        *ret_key = TAKE_PTR(key);
        *ret_slot = (int) slot;
        return 0;
}

int keydata_destroy(const char *path) {
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        _cleanup_free_ char *dir_copy = strdup(path);
        static const uint8_t zeros[512];
        struct stat st;

        if (!dir_copy)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        /* Overwrite in place first, so the key is gone even where unlink
         * alone would leave the blocks readable. (On CoW filesystems this is
         * best effort; the key's slot is already destroyed by then.) */
        for (off_t off = 0; off < st.st_size;) {
                size_t n = (size_t) MIN((off_t) sizeof zeros, st.st_size - off);
                ssize_t k = pwrite(fd, zeros, n, off);
                if (k <= 0)
                        return k < 0 ? negative_errno() : -EIO;
                off += k;
        }
        if (fsync(fd) < 0)
                return negative_errno();
        if (unlink(path) < 0)
                return negative_errno();
        dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return 1;
}
