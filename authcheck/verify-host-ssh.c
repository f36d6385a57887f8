/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Talking to the server with OpenSSH's own programs (no library offers a
 * key scan): ssh-keyscan for the offered keys, ssh for a fresh quote. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "encode-util.h"
#include "evidence.h"
#include "file-util.h"
#include "log.h"
#include "spawn-util.h"
#include "verify-host.h"

#define KEYSCAN_OUTPUT_MAX (256U * 1024U)
#define KEYSCAN_TIMEOUT "10"

int keyscan(const HostSpec *h, HostKey **ret, size_t *ret_n) {
        _cleanup_free_ char *out = NULL;
        char port[8];
        size_t size = 0;
        int r;

        (void) snprintf(port, sizeof port, "%u", h->port);
        char *argv[] = { (char *) "ssh-keyscan", (char *) "-T", (char *) KEYSCAN_TIMEOUT, (char *) "-p", port,
                         (char *) "--", h->host, NULL };

        r = spawn_capture(argv, KEYSCAN_OUTPUT_MAX, /* quiet= */ true, &out, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to run ssh-keyscan: %m");
        /* ssh-keyscan exits 0 even when the host does not answer. */
        r = offered_keys_parse(out, ret, ret_n);
        if (r == -ENODATA)
                return log_error_errno(SYNTHETIC_ERRNO(EHOSTUNREACH), "ssh-keyscan got no host keys from %s port %u.",
                                       h->host, h->port);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the output of ssh-keyscan: %m");
        return 0;
}

static int known_hosts_tmp(const HostKey *keys, size_t n, char **ret_path) {
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        const char *dir = getenv("XDG_RUNTIME_DIR");
        int fd;

        if (!dir || dir[0] != '/')
                dir = "/tmp";
        if (asprintf(&path, "%s/cvm-verify-host-known-hosts.XXXXXX", dir) < 0)
                return -ENOMEM;
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        f = fdopen(fd, "w");
        if (!f) {
                int r = negative_errno();
                (void) close(fd);
                (void) unlink(path);
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *line = NULL;
                if (hostkey_format(&keys[i], &line) < 0 || fprintf(f, "%s %s\n", FRESH_HOST_KEY_ALIAS, line) < 0) {
                        (void) unlink(path);
                        return -EIO;
                }
        }
        if (fflush(f) != 0) {
                (void) unlink(path);
                return -EIO;
        }
        *ret_path = TAKE_PTR(path);
        return 0;
}

/* ssh to the server, trusting only @keys for this one connection (so the
 * quote comes from the machine that holds one of them, not from whoever
 * relays), and run `cvm-authcheck quote --nonce=HEX`. */
int fresh_quote(const VerifyArgs *a, const HostSpec *h, const HostKey *keys, size_t n_keys, const uint8_t *nonce,
                size_t nonce_size, char **ret, size_t *ret_size) {
        _cleanup_free_ char *kh = NULL, *kh_opt = NULL, *nonce_hex = NULL, *nonce_arg = NULL, *out = NULL;
        _cleanup_free_ char **argv = NULL;
        char port[8];
        size_t n = 0, size = 0;
        int r;

        r = known_hosts_tmp(keys, n_keys, &kh);
        if (r < 0)
                return log_error_errno(r, "Failed to write a temporary known_hosts file: %m");
        r = hex_encode(nonce, nonce_size, &nonce_hex);
        if (r < 0 || asprintf(&kh_opt, "UserKnownHostsFile=%s", kh) < 0 ||
            asprintf(&nonce_arg, "--nonce=%s", nonce_hex) < 0) {
                (void) unlink(kh);
                return log_oom();
        }
        (void) snprintf(port, sizeof port, "%u", h->port);

        argv = calloc(32 + 2 * a->n_ssh_options, sizeof(char *));
        if (!argv) {
                (void) unlink(kh);
                return log_oom();
        }
        argv[n++] = (char *) "ssh";
        /* ssh keeps the first value it sees for an option: ours come first,
         * so no --ssh-option (and no ssh_config) can loosen the host key check. */
        static const char *const fixed[] = {
                "StrictHostKeyChecking=yes",
                "GlobalKnownHostsFile=/dev/null",
                "HostKeyAlias=" FRESH_HOST_KEY_ALIAS,
                "KnownHostsCommand=none",
                "UpdateHostKeys=no",
                "CheckHostIP=no",
                "ControlPath=none",
                "ControlMaster=no",
        };
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++) {
                argv[n++] = (char *) "-o";
                argv[n++] = (char *) fixed[i];
        }
        argv[n++] = (char *) "-o";
        argv[n++] = kh_opt;
        for (size_t i = 0; i < a->n_ssh_options; i++) {
                argv[n++] = (char *) "-o";
                argv[n++] = (char *) a->ssh_options[i];
        }
        argv[n++] = (char *) "-p";
        argv[n++] = port;
        argv[n++] = (char *) "--";
        argv[n++] = h->host;
        argv[n++] = (char *) (a->remote_command ?: REMOTE_COMMAND_DEFAULT);
        argv[n++] = (char *) "quote";
        argv[n++] = nonce_arg;
        argv[n++] = (char *) "--json=short";
        argv[n] = NULL;

        r = spawn_capture(argv, EVIDENCE_SIZE_MAX, /* quiet= */ false, &out, &size);
        (void) unlink(kh);
        if (r < 0)
                return log_error_errno(r, "Failed to run ssh: %m");
        if (r != 0)
                return log_error_errno(SYNTHETIC_ERRNO(EIO), "'ssh %s %s quote' failed with exit status %d.", h->host,
                                       a->remote_command ?: REMOTE_COMMAND_DEFAULT, r);
        *ret = TAKE_PTR(out);
        *ret_size = size;
        return 0;
}
