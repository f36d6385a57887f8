/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Cache of KnownHostsCommand verdicts, so that every ssh connection after
 * the first costs a file comparison instead of a verification:
 * $XDG_CACHE_HOME/cvm-verify-host/ (default ~/.cache/cvm-verify-host),
 * mode 0700, one file per verified (known_hosts line, trust) pair.
 *
 * A file holds the known_hosts line ssh got (host name as ssh passed it,
 * key) followed by the user's trust material verbatim: the contents of
 * --ak-pub and --ca and the --expect-pcrs value or file. A lookup builds
 * the same text and compares it byte for byte with the file, so a cached
 * verdict never outlives the anchors it was made with, and a hit needs no
 * cryptography at all (starting OpenSSL costs more than the rest of the
 * call). The file name is only an index: FNV-1a 64 of the text. Only
 * successes are cached; deleting the directory forgets them all. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "file-util.h"
#include "log.h"
#include "verify-host.h"

#define CACHE_MAGIC "cvm-verify-host cache v1\n"
#define CACHE_ENTRY_MAX (2U * 1024U * 1024U)

static int cache_dir(bool create, char **ret) {
        const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
        _cleanup_free_ char *base = NULL, *dir = NULL;

        if (xdg && xdg[0] == '/')
                base = strdup(xdg);
        else if (home && home[0] == '/') {
                if (asprintf(&base, "%s/.cache", home) < 0)
                        base = NULL;
        } else
                return -ENOENT;
        if (!base || asprintf(&dir, "%s/cvm-verify-host", base) < 0)
                return -ENOMEM;
        if (create) {
                if (mkdir(base, 0700) < 0 && errno != EEXIST)
                        return negative_errno();
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return negative_errno();
        }
        *ret = TAKE_PTR(dir);
        return 0;
}

static uint64_t fnv1a64(const char *p, size_t n) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char) p[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

static int entry(const char *line, const char *trust, size_t trust_size, bool create, char **ret_path,
                 char **ret_text, size_t *ret_size) {
        _cleanup_free_ char *dir = NULL, *text = NULL;
        size_t n = strlen(CACHE_MAGIC) + strlen(line) + trust_size;
        int r;

        text = malloc(n + 1);
        if (!text)
                return -ENOMEM;
        memcpy(text, CACHE_MAGIC, strlen(CACHE_MAGIC));
        memcpy(text + strlen(CACHE_MAGIC), line, strlen(line));
        memcpy(text + n - trust_size, trust, trust_size);
        text[n] = 0;

        r = cache_dir(create, &dir);
        if (r < 0)
                return r;
        if (asprintf(ret_path, "%s/%016llx", dir, (unsigned long long) fnv1a64(text, n)) < 0)
                return -ENOMEM;
        *ret_text = TAKE_PTR(text);
        *ret_size = n;
        return 0;
}

int cache_lookup(const char *line, const char *trust, size_t trust_size) {
        _cleanup_free_ char *path = NULL, *want = NULL, *have = NULL;
        size_t want_size = 0, have_size = 0;
        int r;

        r = entry(line, trust, trust_size, /* create= */ false, &path, &want, &want_size);
        if (r < 0)
                return r;
        r = read_full_file(path, CACHE_ENTRY_MAX, &have, &have_size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return have_size == want_size && memcmp(have, want, want_size) == 0;
}

int cache_store(const char *line, const char *trust, size_t trust_size) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size = 0;
        int r;

        r = entry(line, trust, trust_size, /* create= */ true, &path, &text, &size);
        if (r < 0)
                return r;
        return write_file_atomic(path, text, size, 0600);
}
