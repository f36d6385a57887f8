/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main() for the fuzz targets when they are not linked with libFuzzer:
 * run LLVMFuzzerTestOneInput once per file named on the command line, or
 * once per regular file in a named directory (a corpus), in name order.
 * This is how the "unit" suite replays fuzz/corpus/<target>/ with any
 * compiler, and how a crash found elsewhere is reproduced with gcc:
 *
 *   build/fuzz/fuzz-tpm2-token crash-0123abcd
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "macro.h"

#define FUZZ_INPUT_MAX (16U * 1024U * 1024U)

static int read_input(int fd, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t n = 0, allocated = 0;

        for (;;) {
                ssize_t k;

                if (n == allocated) {
                        uint8_t *p;
                        if (allocated >= FUZZ_INPUT_MAX)
                                return -EFBIG;
                        allocated = allocated ? allocated * 2 : 4096;
                        p = realloc(buf, allocated);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                }
                k = read(fd, buf + n, allocated - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

static int run_file(int dir_fd, const char *name, const char *shown) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *data = NULL;
        size_t size = 0;
        int r;

        if (streq(name, "-"))
                r = read_input(STDIN_FILENO, &data, &size);
        else {
                fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        r = negative_errno();
                else
                        r = read_input(fd, &data, &size);
        }
        if (r < 0) {
                fprintf(stderr, "Failed to read '%s': %s\n", shown, strerror(-r));
                return r;
        }
        printf("Running: %s (%zu bytes)\n", shown, size);
        fflush(stdout); /* so the name is out before a crash */
        (void) LLVMFuzzerTestOneInput(data, size);
        return 0;
}

static int is_input(const struct dirent *de) {
        /* Skip dot files (README-like notes may live as .note) and, below,
         * anything that is not a regular file. */
        return de->d_name[0] != '.';
}

static int run_dir(const char *path, unsigned *n_run) {
        _cleanup_close_ int dfd = -EBADF;
        struct dirent **entries = NULL;
        int n, r = 0;

        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                r = negative_errno();
                fprintf(stderr, "Failed to open directory '%s': %s\n", path, strerror(-r));
                return r;
        }
        n = scandirat(dfd, ".", &entries, is_input, alphasort);
        if (n < 0) {
                r = negative_errno();
                fprintf(stderr, "Failed to list '%s': %s\n", path, strerror(-r));
                return r;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *shown = NULL;
                struct stat st;

                if (r >= 0 && fstatat(dfd, entries[i]->d_name, &st, 0) >= 0 && S_ISREG(st.st_mode)) {
                        if (asprintf(&shown, "%s/%s", path, entries[i]->d_name) < 0)
                                r = -ENOMEM;
                        else {
                                r = run_file(dfd, entries[i]->d_name, shown);
                                if (r >= 0)
                                        (*n_run)++;
                        }
                }
                free(entries[i]);
        }
        free(entries);
        return r;
}

int main(int argc, char *argv[]) {
        unsigned n_run = 0;
        int r;

        if (argc < 2) {
                fprintf(stderr,
                        "Usage: %s FILE|DIR|-...\n"
                        "Run the fuzz target once on each FILE and on each regular file in each DIR.\n"
                        "(This is the replay build; configure with -Dfuzz=true and clang for libFuzzer.)\n",
                        program_invocation_short_name);
                return EXIT_FAILURE;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;

                if (!streq(argv[i], "-") && stat(argv[i], &st) < 0) {
                        fprintf(stderr, "Failed to access '%s': %m\n", argv[i]);
                        return EXIT_FAILURE;
                }
                if (!streq(argv[i], "-") && S_ISDIR(st.st_mode))
                        r = run_dir(argv[i], &n_run);
                else {
                        r = run_file(AT_FDCWD, argv[i], argv[i]);
                        if (r >= 0)
                                n_run++;
                }
                if (r < 0)
                        return EXIT_FAILURE;
        }
        /* An empty corpus would make the replay test pass without testing
         * anything: treat it as a failure. */
        if (n_run == 0) {
                fprintf(stderr, "No inputs found.\n");
                return EXIT_FAILURE;
        }
        printf("Replayed %u input%s, no property violated.\n", n_run, n_run == 1 ? "" : "s");
        return EXIT_SUCCESS;
}
