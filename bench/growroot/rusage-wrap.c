/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rusage-wrap OUT CMD [ARG...]: run CMD (fork + exec, no shell), wait for
 * it and write one line to OUT:
 *
 *     WALL_US TASKS MAXRSS_KB STATUS
 *
 * WALL_US   CLOCK_MONOTONIC from before the fork to after the wait;
 * TASKS     tasks the kernel created meanwhile (/proc/stat "processes":
 *           CMD itself, everything it forked, its threads, and kernel
 *           threads, e.g. the workqueues dm-crypt makes on a table reload);
 * MAXRSS_KB ru_maxrss from wait4(): the largest peak RSS of CMD and of every
 *           descendant it waited for (the kernel keeps the maximum, not the
 *           sum) — the "peak RSS" of a pipeline of tools run one at a time;
 * STATUS    CMD's exit status (128 + signal when killed).
 *
 * Why not `busybox time -v`: it vfork()s, so the kernel folds its own
 * parent's RSS high-water mark into the child's at exec, and busybox 1.35
 * converts ru_maxrss (already KiB) as if it were pages: 4x on x86-64.
 * fork() gives the child a copy of this small process only. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long forks_since_boot(void) {
        char line[256];
        long long v = -1;
        FILE *f = fopen("/proc/stat", "re");

        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "processes %lld", &v) == 1)
                        break;
        fclose(f);
        return v;
}

static long long now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char *argv[]) {
        long long t0, t1, f0, f1;
        struct rusage ru;
        FILE *out;
        pid_t pid;
        int status;

        if (argc < 3) {
                fprintf(stderr, "usage: %s OUT CMD [ARG...]\n", argv[0]);
                return 2;
        }
        out = fopen(argv[1], "we");
        if (!out) {
                fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], strerror(errno));
                return 2;
        }
        f0 = forks_since_boot();
        t0 = now_us();
        pid = fork();
        if (pid < 0) {
                perror("fork");
                return 2;
        }
        if (pid == 0) {
                execvp(argv[2], argv + 2);
                fprintf(stderr, "%s: %s: %s\n", argv[0], argv[2], strerror(errno));
                _exit(127);
        }
        if (wait4(pid, &status, 0, &ru) < 0) {
                perror("wait4");
                return 2;
        }
        t1 = now_us();
        f1 = forks_since_boot();
        fprintf(out, "%lld %lld %ld %d\n", t1 - t0, f1 - f0, ru.ru_maxrss,
                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return fclose(out) == 0 ? 0 : 2;
}
