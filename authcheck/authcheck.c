/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-authcheck: publish an attested binding of this VM's SSH host keys
 * (TPM2 quote), in /run/cvm-authcheck/evidence.json and framed on the
 * serial console; `quote --nonce HEX` prints fresh evidence. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "authcheck.h"
#include "console-frame.h"
#include "encode-util.h"
#include "file-util.h"
#include "json-util.h"
#include "log.h"
#include "main-func.h"
#include "options.h"
#include "pcr-spec.h"
#include "test-hook.h"
#include "verbs.h"

enum {
        ARG_HOST_KEYS_DIR = ARG_COMMON_MAX,
        ARG_SSHD_CONFIG,
        ARG_RUNTIME_DIR,
        ARG_OUTPUT,
        ARG_CONSOLE,
        ARG_NO_CONSOLE,
        ARG_PCRS,
        ARG_NONCE,
};

static AuthcheckArgs arg = {
        .runtime_dir = AUTHCHECK_RUNTIME_DIR,
        .console = AUTHCHECK_CONSOLE,
        .pcr_mask = AUTHCHECK_PCRS_DEFAULT,
};
static const char *arg_nonce = NULL;
static bool arg_keys_explicit = false;

static void help(void) {
        printf("%s [OPTIONS...] [quote --nonce=HEX]\n\n"
               "Publish an attested binding of this VM's SSH host keys (TPM2 quote).\n\n"
               "Commands:\n"
               "  (none)           Quote the host keys, write the evidence to\n"
               "                   " AUTHCHECK_RUNTIME_DIR "/" AUTHCHECK_EVIDENCE_NAME " and print it\n"
               "                   framed on the console\n"
               "  quote            Print fresh evidence for --nonce on stdout (nothing written)\n\n"
               "Options:\n"
               "     --nonce=HEX          quote: the verifier's nonce, 1 to 32 bytes in hex\n"
               "     --sshd-config=FILE   Publish the host keys `sshd -T -f FILE` names\n"
               "                          (default: " AUTHCHECK_SSHD_CONFIG " when " AUTHCHECK_SSHD "\n"
               "                          exists, else every key in " AUTHCHECK_HOST_KEYS_DIR ")\n"
               "     --host-keys-dir=DIR  Publish every ssh_host_*_key.pub in DIR instead\n"
               "     --pcrs=LIST          PCRs to quote, e.g. 0+1+7 (default: 0 to 15)\n"
               "     --runtime-dir=DIR    Where evidence.json goes (default: " AUTHCHECK_RUNTIME_DIR ")\n"
               "     --output=FILE        Also write the evidence to FILE\n"
               "     --console=FILE       Print the framed evidence to FILE, appending\n"
               "                          (default: " AUTHCHECK_CONSOLE ")\n"
               "     --no-console         Do not print the framed evidence\n"
               TPM2_DEVICE_HELP
               COMMON_OPTIONS_HELP
               "\nSee cvm-authcheck(8) for details.\n",
               program_invocation_short_name);
}

static int parse_option(int c, const char *value) {
        switch (c) {
        case ARG_HOST_KEYS_DIR:
                arg.host_keys_dir = value;
                arg_keys_explicit = true;
                break;
        case ARG_SSHD_CONFIG:
                arg.sshd_config = value;
                arg_keys_explicit = true;
                break;
        case ARG_RUNTIME_DIR:
                arg.runtime_dir = value;
                break;
        case ARG_OUTPUT:
                arg.output = value;
                break;
        case ARG_CONSOLE:
                arg.console = value;
                break;
        case ARG_NO_CONSOLE:
                arg.console = NULL;
                break;
        case ARG_PCRS:
                if (pcr_mask_from_string(value, &arg.pcr_mask) < 0 || arg.pcr_mask == 0)
                        return usage_error("invalid --pcrs= value '%s' (expected e.g. 7 or 0+1+7)", value);
                break;
        case ARG_NONCE:
                arg_nonce = value;
                break;
        default:
                return 0;
        }
        return 1;
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                COMMON_LONG_OPTIONS,
                TPM2_LONG_OPTIONS,
                { "host-keys-dir", required_argument, NULL, ARG_HOST_KEYS_DIR },
                { "sshd-config", required_argument, NULL, ARG_SSHD_CONFIG },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "output", required_argument, NULL, ARG_OUTPUT },
                { "console", required_argument, NULL, ARG_CONSOLE },
                { "no-console", no_argument, NULL, ARG_NO_CONSOLE },
                { "pcrs", required_argument, NULL, ARG_PCRS },
                { "nonce", required_argument, NULL, ARG_NONCE },
                {},
        };
        int r;

        r = parse_options(argc, argv, options, &arg.common, help, parse_option);
        if (r <= 0)
                return r;
        if (arg.host_keys_dir && arg.sshd_config)
                return usage_error("--host-keys-dir= and --sshd-config= are mutually exclusive");
        return 1;
}

static int write_console(const char *path, const char *text) {
        _cleanup_close_ int fd = -EBADF;

        /* One write for the whole block, so other console output is less
         * likely to land inside it (the reader copes if it does). */
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOCTTY | O_CLOEXEC, 0644);
        if (fd < 0)
                return negative_errno();
        return loop_write(fd, text, strlen(text));
}

static int print_summary(const Evidence *e, const char *path) {
        _cleanup_(json_object_putp) json_object *o = NULL, *types = NULL;
        _cleanup_free_ char *pcrs = NULL;

        if (pcr_mask_to_string(e->pcr_mask, &pcrs) < 0)
                return log_oom();
        if (arg.common.json == JSON_OFF) {
                printf("Attested %zu SSH host key%s with the %s AK (PCRs %s): %s\n", e->n_host_keys,
                       e->n_host_keys == 1 ? "" : "s", e->ak_source, pcrs, path);
                return 0;
        }
        o = json_object_new_object();
        types = json_object_new_array();
        if (!o || !types)
                return log_oom();
        for (size_t i = 0; i < e->n_host_keys; i++)
                (void) json_object_array_add(types, json_object_new_string(e->host_keys[i].type));
        (void) json_object_object_add(o, "evidence", json_object_new_string(path));
        (void) json_object_object_add(o, "host_keys", TAKE_PTR(types));
        (void) json_object_object_add(o, "ak_source", json_object_new_string(e->ak_source));
        (void) json_object_object_add(o, "ak_certificate", json_object_new_boolean(e->ak_certificate != NULL));
        (void) json_object_object_add(o, "ek_certificate", json_object_new_boolean(e->ek_certificate != NULL));
        (void) json_object_object_add(o, "pcrs", json_object_new_string(pcrs));
        (void) json_object_object_add(o, "console", arg.console ? json_object_new_string(arg.console) : NULL);
        return json_print(o, arg.common.json);
}

static void evidence_donep(Evidence *e) {
        evidence_done(e);
}

static bool same_keys(const HostKey *a, size_t n_a, const HostKey *b, size_t n_b) {
        if (n_a != n_b)
                return false;
        for (size_t i = 0; i < n_a; i++) {
                bool found = false;
                for (size_t j = 0; j < n_b && !found; j++)
                        found = a[i].blob_size == b[j].blob_size && memcmp(a[i].blob, b[j].blob, a[i].blob_size) == 0;
                if (!found)
                        return false;
        }
        return true;
}

/* Evidence left from an earlier run for other keys must not outlive a
 * failure of this run: it would vouch for keys sshd no longer uses. */
static void remove_stale(const char *path, const HostKey *keys, size_t n_keys) {
        _cleanup_(evidence_donep) Evidence old = {};
        _cleanup_free_ char *text = NULL;
        size_t size = 0;

        if (read_full_file(path, EVIDENCE_SIZE_MAX, &text, &size) < 0)
                return;
        if (evidence_parse(text, size, &old, NULL) >= 0 && same_keys(keys, n_keys, old.host_keys, old.n_host_keys))
                return;
        if (unlink(path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Failed to remove stale '%s', ignoring: %m", path);
        else
                log_info("Removed '%s': it was made for other host keys.", path);
}

static int verb_publish(int argc, char *argv[]) {
        _cleanup_(evidence_donep) Evidence e = {};
        _cleanup_free_ char *path = NULL, *json = NULL, *compact = NULL, *framed = NULL;
        HostKey *keys = NULL;
        size_t n_keys = 0;
        int r;

        if (argc > 0)
                return usage_error("unexpected argument '%s'", argv[0]);
        if (arg_nonce)
                return usage_error("--nonce= is only for the 'quote' command");

        if (asprintf(&path, "%s/%s", arg.runtime_dir, AUTHCHECK_EVIDENCE_NAME) < 0)
                return log_oom();
        r = host_keys_load(&arg, &keys, &n_keys);
        if (r < 0) {
                remove_stale(path, NULL, 0);
                return r;
        }
        remove_stale(path, keys, n_keys);
        r = evidence_create(&arg, keys, n_keys, NULL, 0, &e);
        hostkeys_free(keys, n_keys);
        if (r < 0)
                return r;
        test_hook("authcheck:quoted");

        r = evidence_format(&e, JSON_PRETTY, &json);
        if (r < 0)
                return log_oom();
        if (mkdir(arg.runtime_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create '%s': %m", arg.runtime_dir);
        r = write_file_atomic(path, json, strlen(json), 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write '%s': %m", path);
        test_hook("authcheck:evidence-written");
        if (arg.output) {
                r = write_file_atomic(arg.output, json, strlen(json), 0644);
                if (r < 0)
                        return log_error_errno(r, "Failed to write '%s': %m", arg.output);
        }

        if (arg.console) {
                /* Compact JSON: fewer lines through a slow serial port. */
                r = evidence_format(&e, JSON_SHORT, &compact);
                if (r < 0)
                        return log_oom();
                r = console_frame_encode(compact, strlen(compact) - 1 /* newline */, &framed);
                if (r < 0)
                        return log_error_errno(r, "Failed to frame the evidence: %m");
                r = write_console(arg.console, framed);
                if (r < 0)
                        return log_error_errno(r, "Failed to print the evidence to '%s': %m", arg.console);
        }
        return print_summary(&e, path);
}

/* Keys for a fresh quote: those the boot-time run vetted (reading the
 * private keys needs root, a fresh quote over ssh should not), unless
 * the caller names a source explicitly or there is no such run. */
static int quote_keys(HostKey **ret, size_t *ret_n) {
        _cleanup_(evidence_donep) Evidence e = {};
        _cleanup_free_ char *path = NULL, *text = NULL;
        const char *field = NULL;
        size_t size = 0;
        int r;

        if (arg_keys_explicit)
                return host_keys_load(&arg, ret, ret_n);
        if (asprintf(&path, "%s/%s", arg.runtime_dir, AUTHCHECK_EVIDENCE_NAME) < 0)
                return log_oom();
        r = read_full_file(path, EVIDENCE_SIZE_MAX, &text, &size);
        if (r == -ENOENT) {
                log_debug("No '%s', reading the host keys directly.", path);
                return host_keys_load(&arg, ret, ret_n);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s': %m", path);
        r = evidence_parse(text, size, &e, &field);
        if (r < 0)
                return log_error_errno(r, "Failed to parse '%s' (field '%s'): %m", path, field);
        *ret = TAKE_PTR(e.host_keys);
        *ret_n = e.n_host_keys;
        e.n_host_keys = 0;
        return 0;
}

static int verb_quote(int argc, char *argv[]) {
        _cleanup_(evidence_donep) Evidence e = {};
        _cleanup_free_ void *nonce = NULL;
        _cleanup_free_ char *json = NULL;
        HostKey *keys = NULL;
        size_t nonce_size = 0, n_keys = 0;
        int r;

        if (argc > 1)
                return usage_error("unexpected argument '%s'", argv[1]);
        if (!arg_nonce)
                return usage_error("quote needs --nonce=HEX");
        if (hex_decode(arg_nonce, (size_t) -1, &nonce, &nonce_size) < 0 || nonce_size == 0 ||
            nonce_size > HOSTKEY_NONCE_MAX)
                return usage_error("invalid --nonce= value (expected 1 to %u bytes in hex)", HOSTKEY_NONCE_MAX);

        r = quote_keys(&keys, &n_keys);
        if (r < 0)
                return r;
        r = evidence_create(&arg, keys, n_keys, nonce, nonce_size, &e);
        hostkeys_free(keys, n_keys);
        if (r < 0)
                return r;
        r = evidence_format(&e, arg.common.json == JSON_SHORT ? JSON_SHORT : JSON_PRETTY, &json);
        if (r < 0)
                return log_oom();
        if (fputs(json, stdout) == EOF || fflush(stdout) != 0)
                return log_error_errno(SYNTHETIC_ERRNO(EIO), "Failed to write the evidence to stdout.");
        return 0;
}

static int run(int argc, char *argv[]) {
        static const Verb verbs[] = {
                { "quote", verb_quote, NULL },
                {},
        };
        int r;

        log_setup("cvm-authcheck");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        /* As cvm-enroll: one line per failure from us, not tpm2-tss's own. */
        if (log_get_max_level() < LOG_DEBUG)
                (void) setenv("TSS2_LOG", "all+none", /* overwrite= */ 0);
        if (optind >= argc)
                return verb_publish(0, NULL);
        return dispatch_verb(argc - optind, argv + optind, verbs);
}

DEFINE_MAIN_FUNCTION(run);
