/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "log.h"
#include "macro.h"
#include "spawn-util.h"

static _noreturn_ void child(char *const argv[], int out, bool quiet) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
            (quiet && dup2(null, STDERR_FILENO) < 0))
                _exit(127);
        (void) signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        _exit(127);
}

int spawn_capture(char *const argv[], size_t max, bool quiet, char **ret, size_t *ret_size) {
        _cleanup_close_ int rd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        bool too_big = false;
        int fds[2], status = 0;
        pid_t pid;

        if (!argv || !argv[0] || !ret || !ret_size)
                return -EINVAL;
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                (void) close(fds[0]);
                (void) close(fds[1]);
                return r;
        }
        if (pid == 0)
                child(argv, fds[1], quiet);
        (void) close(fds[1]);
        rd = fds[0];

        for (;;) {
                char discard[4096];
                ssize_t k;

                if (n < max)
                        k = read(rd, buf + n, max - n);
                else
                        k = read(rd, discard, sizeof discard);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (k == 0)
                        break;
                if (n < max)
                        n += (size_t) k;
                else
                        too_big = true;
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();

        if (too_big)
                return log_debug_errno(SYNTHETIC_ERRNO(EFBIG), "%s wrote more than %zu bytes.", argv[0], max);
        if (!WIFEXITED(status))
                return log_debug_errno(SYNTHETIC_ERRNO(ECHILD), "%s died from signal %d.", argv[0],
                                       WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return WEXITSTATUS(status);
}
