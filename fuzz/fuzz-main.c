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

#include "file-util.h"
#include "fuzz.h"
#include "macro.h"

#define FUZZ_INPUT_MAX (16U * 1024U * 1024U)

static int run_file(const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        r = read_full_file(path, FUZZ_INPUT_MAX, &data, &size);
        if (r < 0) {
                fprintf(stderr, "Failed to read '%s': %s\n", path, strerror(-r));
                return r;
        }
        printf("Running: %s (%zu bytes)\n", path, size);
        fflush(stdout); /* so the name is out before a crash */
        (void) LLVMFuzzerTestOneInput((const uint8_t *) data, size);
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
                                r = run_file(shown);
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
                        r = run_file(argv[i]);
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
