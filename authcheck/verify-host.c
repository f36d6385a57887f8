/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-verify-host: verify a CVM's attested SSH host-key binding before the
 * first ssh (DESIGN.md, "Host-key binding"; docs/USER-FLOW.md). */
#include <openssl/rand.h>
#include <stdio.h>

#include "encode-util.h"
#include "file-util.h"
#include "json-util.h"
#include "log.h"
#include "main-func.h"
#include "options.h"
#include "verbs.h"
#include "verify-host.h"

enum {
        ARG_EVIDENCE = ARG_COMMON_MAX,
        ARG_CONSOLE_LOG,
        ARG_HOST_KEY_FILE,
        ARG_HOST,
        ARG_AK_PUB,
        ARG_CA,
        ARG_EXPECT_PCRS,
        ARG_NONCE,
        ARG_FRESH,
        ARG_REMOTE_COMMAND,
        ARG_SSH_OPTION,
        ARG_NO_CACHE,
};

typedef enum Mode {
        MODE_VERIFY,
        MODE_KNOWN_HOSTS,
        MODE_KNOWN_HOSTS_COMMAND,
} Mode;

static VerifyArgs arg = {};

static void help(void) {
        printf("%s [OPTIONS...] [verify]\n"
               "%s [OPTIONS...] known-hosts\n"
               "%s [OPTIONS...] known-hosts-command %%H %%K %%t\n\n"
               "Verify a CVM's attested SSH host-key binding before the first ssh.\n\n"
               "Commands:\n"
               "  verify               Verify the evidence and print the verdict (default)\n"
               "  known-hosts          Verify, then print known_hosts lines for the verified keys\n"
               "  known-hosts-command HOST KEY [TYPE]\n"
               "                       For ssh_config KnownHostsCommand: print a known_hosts line\n"
               "                       for KEY if it is attested (cached); KEY \"NONE\" prints nothing\n\n"
               "Evidence (one of):\n"
               "     --evidence=FILE      Evidence JSON (- for stdin)\n"
               "     --console-log=FILE   Serial console log: the newest framed block is used\n"
               "     --fresh              ssh to --host and run 'cvm-authcheck quote' with a random\n"
               "                          nonce, trusting only the offered keys for that connection\n\n"
               "Offered host keys, which must be exactly the attested ones (the host-keys check\n"
               "is skipped without them):\n"
               "     --host-key-file=FILE ssh-keyscan output, known_hosts or .pub lines\n"
               "     --host=HOST[:PORT]   The server; its keys are scanned with ssh-keyscan unless\n"
               "                          --host-key-file is given. Also names the host in\n"
               "                          known-hosts output and is where --fresh connects\n\n"
               "Trust in the attestation key (at least one; each given must hold):\n"
               "     --ak-pub=FILE        Pinned AK: PEM public key, TPM2B_PUBLIC/TPMT_PUBLIC\n"
               "                          (binary, or base64 as in the evidence's ak.public)\n"
               "     --ca=FILE            PEM CA certificate(s) the evidence's AK certificate must\n"
               "                          chain to (e.g. the cloud's vTPM CA)\n\n"
               "Other checks:\n"
               "     --expect-pcrs=FILE|IDX=HEX,...\n"
               "                          Required sha256 PCR values (FILE: IDX=HEX lines,\n"
               "                          tpm2_pcrread output, or JSON with a \"sha256\" map)\n"
               "     --nonce=HEX          The evidence must carry this nonce\n\n"
               "Options for --fresh:\n"
               "     --remote-command=CMD Remote command instead of 'cvm-authcheck' (e.g.\n"
               "                          'sudo cvm-authcheck'); ' quote --nonce=HEX --json=short'\n"
               "                          is appended\n"
               "     --ssh-option=OPTION  Pass -o OPTION to ssh (repeatable)\n\n"
               "Other options:\n"
               "     --no-cache           known-hosts-command: neither read nor write the cache\n"
               COMMON_OPTIONS_HELP
               "\nSee cvm-verify-host(1) for details.\n",
               program_invocation_short_name, program_invocation_short_name, program_invocation_short_name);
}

static int parse_option(int c, const char *value) {
        const char **o;

        switch (c) {
        case ARG_EVIDENCE:
                arg.evidence = value;
                break;
        case ARG_CONSOLE_LOG:
                arg.console_log = value;
                break;
        case ARG_HOST_KEY_FILE:
                arg.host_key_file = value;
                break;
        case ARG_HOST:
                arg.host = value;
                break;
        case ARG_AK_PUB:
                arg.ak_pub = value;
                break;
        case ARG_CA:
                arg.ca = value;
                break;
        case ARG_EXPECT_PCRS:
                arg.expect_pcrs = value;
                break;
        case ARG_NONCE:
                arg.nonce = value;
                break;
        case ARG_FRESH:
                arg.fresh = true;
                break;
        case ARG_REMOTE_COMMAND:
                arg.remote_command = value;
                break;
        case ARG_SSH_OPTION:
                if (!*value || value[0] == '-')
                        return usage_error("invalid --ssh-option= value '%s'", value);
                o = realloc(arg.ssh_options, (arg.n_ssh_options + 2) * sizeof(char *));
                if (!o)
                        return log_oom();
                arg.ssh_options = o;
                arg.ssh_options[arg.n_ssh_options++] = value;
                arg.ssh_options[arg.n_ssh_options] = NULL;
                break;
        case ARG_NO_CACHE:
                arg.no_cache = true;
                break;
        default:
                return 0;
        }
        return 1;
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                COMMON_LONG_OPTIONS,
                { "evidence", required_argument, NULL, ARG_EVIDENCE },
                { "console-log", required_argument, NULL, ARG_CONSOLE_LOG },
                { "host-key-file", required_argument, NULL, ARG_HOST_KEY_FILE },
                { "host", required_argument, NULL, ARG_HOST },
                { "ak-pub", required_argument, NULL, ARG_AK_PUB },
                { "ca", required_argument, NULL, ARG_CA },
                { "expect-pcrs", required_argument, NULL, ARG_EXPECT_PCRS },
                { "nonce", required_argument, NULL, ARG_NONCE },
                { "fresh", no_argument, NULL, ARG_FRESH },
                { "remote-command", required_argument, NULL, ARG_REMOTE_COMMAND },
                { "ssh-option", required_argument, NULL, ARG_SSH_OPTION },
                { "no-cache", no_argument, NULL, ARG_NO_CACHE },
                {},
        };
        int r;

        r = parse_options(argc, argv, options, &arg.common, help, parse_option);
        if (r <= 0)
                return r;
        if (!!arg.evidence + !!arg.console_log + arg.fresh > 1)
                return usage_error("--evidence=, --console-log= and --fresh are mutually exclusive");
        if (arg.fresh && arg.nonce)
                return usage_error("--fresh makes its own nonce; --nonce= is for evidence fetched otherwise");
        if (!arg.ak_pub && !arg.ca)
                return usage_error("trust in the attestation key is required: --ak-pub=FILE or --ca=FILE");
        return 1;
}

/* ---- reporting ---- */

static int keys_to_json(const HostKey *keys, size_t n, json_object **ret) {
        _cleanup_(json_object_putp) json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *fp = NULL, *line = NULL;
                json_object *k = json_object_new_object();

                if (!k || hostkey_fingerprint(&keys[i], &fp) < 0 || hostkey_format(&keys[i], &line) < 0) {
                        json_object_put(k);
                        return -ENOMEM;
                }
                (void) json_object_object_add(k, "type", json_object_new_string(keys[i].type));
                (void) json_object_object_add(k, "fingerprint", json_object_new_string(fp));
                (void) json_object_object_add(k, "key", json_object_new_string(line));
                (void) json_object_array_add(a, k);
        }
        *ret = TAKE_PTR(a);
        return 0;
}

/* json-c: a NULL value is JSON null. */
static void add_string(json_object *o, const char *key, const char *s) {
        (void) json_object_object_add(o, key, s ? json_object_new_string(s) : NULL);
}

static int print_json_verdict(const VerifyReport *rep, const Evidence *e, const char *source) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *checks = json_object_new_object();
        _cleanup_free_ char *nonce = NULL;
        json_object *keys = NULL;
        bool ok = verify_report_ok(rep);

        if (!o || !checks)
                return log_oom();
        for (int c = 0; c < _VERIFY_CHECK_MAX; c++) {
                json_object *one = json_object_new_object();
                if (!one)
                        return log_oom();
                add_string(one, "result", verify_result_to_string(rep->result[c]));
                if (rep->detail[c][0])
                        add_string(one, "detail", rep->detail[c]);
                (void) json_object_object_add(checks, verify_check_to_string(c), one);
        }
        (void) json_object_object_add(o, "verified", json_object_new_boolean(ok));
        add_string(o, "failed", ok ? NULL : verify_check_to_string(rep->first_failed));
        add_string(o, "reason", ok ? NULL : rep->detail[rep->first_failed]);
        (void) json_object_object_add(o, "checks", TAKE_PTR(checks));
        if (source)
                add_string(o, "source", source);
        if (e && e->n_host_keys > 0) {
                if (keys_to_json(e->host_keys, e->n_host_keys, &keys) < 0)
                        return log_oom();
                (void) json_object_object_add(o, "host_keys", keys);
                if (hex_encode(e->nonce, e->nonce_size, &nonce) >= 0)
                        add_string(o, "nonce", nonce);
                add_string(o, "ak_source", e->ak_source);
                add_string(o, "boot_id", e->boot_id);
                add_string(o, "created", e->created);
        }
        if (ok) {
                json_object *clock = json_object_new_object();
                add_string(o, "ak", rep->ak_description);
                if (clock && rep->have_clock) {
                        (void) json_object_object_add(clock, "clock", json_object_new_int64((int64_t) rep->clock));
                        (void) json_object_object_add(clock, "reset_count", json_object_new_int64(rep->reset_count));
                        (void) json_object_object_add(clock, "restart_count",
                                                      json_object_new_int64(rep->restart_count));
                        (void) json_object_object_add(clock, "safe", json_object_new_boolean(rep->safe));
                }
                (void) json_object_object_add(o, "tpm_clock", clock);
        }
        return json_print(o, arg.common.json);
}

static int report_verdict(Mode mode, const VerifyReport *rep, const Evidence *e, const char *source) {
        if (arg.common.json != JSON_OFF && mode == MODE_VERIFY) {
                int r = print_json_verdict(rep, e, source);
                if (r < 0)
                        return r;
        }
        if (!verify_report_ok(rep))
                return log_error_errno(SYNTHETIC_ERRNO(EKEYREJECTED), "Verification failed: %s: %s.",
                                       verify_check_to_string(rep->first_failed), rep->detail[rep->first_failed]);
        if (arg.common.json != JSON_OFF || mode != MODE_VERIFY)
                return 0;

        printf("Verified: %zu SSH host key%s of this evidence (%s) are bound to a TPM quote by an AK trusted "
               "through the %s.\n",
               e->n_host_keys, e->n_host_keys == 1 ? "" : "s", source, rep->ak_description);
        for (size_t i = 0; i < e->n_host_keys; i++) {
                _cleanup_free_ char *fp = NULL;
                if (hostkey_fingerprint(&e->host_keys[i], &fp) < 0)
                        return log_oom();
                printf("  %s %s\n", e->host_keys[i].type, fp);
        }
        for (int c = 0; c < _VERIFY_CHECK_MAX; c++)
                if (rep->result[c] == VERIFY_SKIPPED)
                        printf("  (check %s skipped: not asked for)\n", verify_check_to_string(c));
        return 0;
}

/* ---- verification ---- */

typedef struct Run {
        HostSpec host;
        HostKey *offered;
        size_t n_offered;
        TrustAnchors trust;
        Evidence evidence;
        VerifyReport report;
        char *source;
} Run;

static void run_done(Run *r) {
        host_spec_done(&r->host);
        hostkeys_free(r->offered, r->n_offered);
        trust_done(&r->trust);
        evidence_done(&r->evidence);
        free(r->source);
}

static int load_offered(Run *run) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        if (arg.host_key_file) {
                r = read_full_file(arg.host_key_file, 1024 * 1024, &text, &size);
                if (r < 0)
                        return log_error_errno(r, "Failed to read '%s': %m", arg.host_key_file);
                r = offered_keys_parse(text, &run->offered, &run->n_offered);
                if (r < 0)
                        return log_error_errno(r, "Failed to parse host keys in '%s': %m", arg.host_key_file);
                return 0;
        }
        if (run->host.host)
                return keyscan(&run->host, &run->offered, &run->n_offered);
        return 0;
}

static const char *evidence_error(int r) {
        switch (r) {
        case -ENOENT:
                return "required field missing";
        case -E2BIG:
        case -EFBIG:
                return "too large";
        case -EPROTONOSUPPORT:
                return "unsupported version";
        case -ENOTUNIQ:
                return "a host key is listed twice";
        default:
                return "malformed";
        }
}

/* Get, parse and check the evidence; the verdict is in run->report. */
static int verify_run(Mode mode, Run *run) {
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ void *nonce = NULL;
        uint8_t fresh_nonce[HOSTKEY_NONCE_MAX];
        VerifyPolicy policy = {};
        const char *field = NULL;
        size_t size = 0, nonce_size = 0;
        int r;

        verify_report_init(&run->report);
        if (arg.nonce) {
                if (hex_decode(arg.nonce, (size_t) -1, &nonce, &nonce_size) < 0 || nonce_size > HOSTKEY_NONCE_MAX)
                        return usage_error("invalid --nonce= value (expected up to %u bytes in hex)",
                                           HOSTKEY_NONCE_MAX);
                policy.check_nonce = true;
                policy.nonce = nonce;
                policy.nonce_size = nonce_size;
        }
        if (arg.expect_pcrs) {
                r = expected_pcrs_load(arg.expect_pcrs, &policy);
                if (r < 0)
                        return r == -EBADMSG || r == -ENODATA ? usage_error("invalid --expect-pcrs= value '%s'",
                                                                            arg.expect_pcrs)
                                                              : r;
        }
        policy.ak_pkey = run->trust.pkey;
        policy.ak_public = run->trust.have_public ? &run->trust.public : NULL;
        policy.ca = run->trust.ca;
        policy.offered = run->offered;
        policy.n_offered = run->n_offered;
        policy.offered_subset = mode == MODE_KNOWN_HOSTS_COMMAND;

        if (arg.fresh) {
                if (!run->host.host)
                        return usage_error("--fresh needs --host=HOST[:PORT]");
                if (run->n_offered == 0)
                        return log_error_errno(SYNTHETIC_ERRNO(ENODATA), "--fresh needs the offered host keys.");
                if (RAND_bytes(fresh_nonce, sizeof fresh_nonce) != 1)
                        return log_error_errno(SYNTHETIC_ERRNO(EIO), "Failed to get random bytes for the nonce.");
                policy.check_nonce = true;
                policy.nonce = fresh_nonce;
                policy.nonce_size = sizeof fresh_nonce;
                r = fresh_quote(&arg, &run->host, run->offered, run->n_offered, fresh_nonce, sizeof fresh_nonce,
                                &text, &size);
                if (r < 0)
                        return r;
                if (asprintf(&run->source, "fresh quote from %s", run->host.host) < 0)
                        return log_oom();
        } else {
                if (!arg.evidence && !arg.console_log)
                        return usage_error("evidence is required: --evidence=FILE, --console-log=FILE or --fresh");
                r = evidence_text_load(&arg, &text, &size, &run->source);
                if (r == -ENOENT && arg.console_log) {
                        verify_report_fail(&run->report, VERIFY_EVIDENCE,
                                           "no complete CVM HOST KEY ATTESTATION block in the console log");
                        return 0;
                }
                if (r == -EBADMSG && arg.console_log) {
                        verify_report_fail(&run->report, VERIFY_EVIDENCE,
                                           "no CVM HOST KEY ATTESTATION block in the console log decodes to JSON");
                        return 0;
                }
                if (r == -EFBIG || r == -E2BIG) {
                        verify_report_fail(&run->report, VERIFY_EVIDENCE, "input is too large");
                        return 0;
                }
                if (r < 0)
                        return r;
        }

        r = evidence_parse(text, size, &run->evidence, &field);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                if (field && *field)
                        verify_report_fail(&run->report, VERIFY_EVIDENCE, "field '%s': %s", field,
                                           evidence_error(r));
                else
                        verify_report_fail(&run->report, VERIFY_EVIDENCE, "not a JSON object: %s",
                                           evidence_error(r));
                return 0;
        }
        r = evidence_verify(&run->evidence, &policy, &run->report);
        if (r < 0 && r != -EKEYREJECTED)
                return log_error_errno(r, "Failed to verify the evidence: %m");
        return 0;
}

/* verify and known-hosts: the keys offered are --host-key-file's or those
 * ssh-keyscan finds at --host. */
static int verify_offered(Mode mode, Run *run) {
        int r;

        if (arg.host && host_spec_parse(arg.host, &run->host) < 0)
                return usage_error("invalid --host= value '%s' (expected HOST or HOST:PORT)", arg.host);
        r = trust_load(&arg, &run->trust, NULL, NULL);
        if (r < 0)
                return r;
        r = load_offered(run);
        if (r < 0)
                return r;
        r = verify_run(mode, run);
        if (r < 0)
                return r;
        return report_verdict(mode, &run->report, &run->evidence, run->source);
}

static int verb_verify(int argc, char *argv[]) {
        _cleanup_(run_done) Run run = {};

        if (argc > 1)
                return usage_error("unexpected argument '%s'", argv[1]);
        return verify_offered(MODE_VERIFY, &run);
}

static int verb_known_hosts(int argc, char *argv[]) {
        _cleanup_(run_done) Run run = {};
        _cleanup_free_ char *name = NULL;
        const HostKey *keys;
        size_t n;
        int r;

        if (argc > 1)
                return usage_error("unexpected argument '%s'", argv[1]);
        if (!arg.host)
                return usage_error("known-hosts needs --host=HOST[:PORT] to name the host");
        r = verify_offered(MODE_KNOWN_HOSTS, &run);
        if (r < 0)
                return r;

        /* Offered keys equal the attested ones once verified. */
        keys = run.evidence.host_keys;
        n = run.evidence.n_host_keys;
        r = host_spec_known_hosts_name(&run.host, &name);
        if (r < 0)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *line = NULL;
                if (hostkey_format(&keys[i], &line) < 0)
                        return log_oom();
                printf("%s %s\n", name, line);
        }
        return 0;
}

/* "TYPE BASE64" for a bare base64 key: the type is the blob's first SSH string. */
static int keyline_from_blob(const char *key, char **ret) {
        _cleanup_free_ uint8_t *blob = NULL;
        size_t size = 0;
        uint32_t l;

        if (base64_decode(key, (size_t) -1, (void **) &blob, &size) < 0 || size < 4)
                return -EBADMSG;
        l = (uint32_t) blob[0] << 24 | (uint32_t) blob[1] << 16 | (uint32_t) blob[2] << 8 | blob[3];
        if (l == 0 || l > 64 || l > size - 4)
                return -EBADMSG;
        return asprintf(ret, "%.*s %s", (int) l, (const char *) blob + 4, key) < 0 ? -ENOMEM : 0;
}

/* ssh runs this for every connection (up to three times): the cache makes
 * all but the first a file lookup. Exit 0 with no output for "NONE" (ssh
 * asks before it has a key, to order its algorithms); non-zero ends the
 * connection, which is what a failed verification must do. */
static int verb_known_hosts_command(int argc, char *argv[]) {
        _cleanup_(run_done) Run run = {};
        _cleanup_free_ char *line = NULL, *keyline = NULL, *trust = NULL;
        const char *hostname, *key, *type;
        size_t trust_size = 0;
        HostKey offered = {};
        int r;

        if (argc < 3 || argc > 4)
                return usage_error("known-hosts-command needs HOST KEY [TYPE] (ssh's %%H %%K %%t)");
        hostname = argv[1];
        key = argv[2];
        type = argc > 3 ? argv[3] : NULL;
        if (streq(key, "NONE"))
                return 0;
        if (!type || streq(type, "NONE"))
                r = keyline_from_blob(key, &keyline);
        else
                r = asprintf(&keyline, "%s %s", type, key) < 0 ? -ENOMEM : 0;
        if (r < 0)
                return log_error_errno(r, "Offered key is not an SSH public key: %m");
        if (hostkey_parse_line(keyline, &offered) < 0)
                return log_error_errno(SYNTHETIC_ERRNO(EBADMSG),
                                       "Offered key is not an SSH public key of type '%s'.", strna(type));
        run.offered = malloc(sizeof(HostKey));
        if (!run.offered) {
                hostkey_done(&offered);
                return log_oom();
        }
        run.offered[0] = offered;
        run.n_offered = 1;

        if (asprintf(&line, "%s %s\n", hostname, keyline) < 0)
                return log_oom();
        r = trust_load(&arg, /* t= */ NULL, &trust, &trust_size);
        if (r < 0)
                return r;
        if (!arg.no_cache) {
                r = cache_lookup(line, trust, trust_size);
                if (r > 0) {
                        fputs(line, stdout);
                        return 0;
                }
                if (r < 0)
                        log_debug_errno(r, "Cache lookup failed, verifying: %m");
        }

        r = trust_load(&arg, &run.trust, NULL, NULL);
        if (r < 0)
                return r;
        if (arg.fresh) {
                if (host_spec_parse(arg.host ?: hostname, &run.host) < 0)
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Cannot connect to '%s' for --fresh.",
                                               arg.host ?: hostname);
        }
        r = verify_run(MODE_KNOWN_HOSTS_COMMAND, &run);
        if (r < 0)
                return r;
        r = report_verdict(MODE_KNOWN_HOSTS_COMMAND, &run.report, &run.evidence, run.source);
        if (r < 0)
                return r;

        if (!arg.no_cache) {
                r = cache_store(line, trust, trust_size);
                if (r < 0)
                        log_warning_errno(r, "Failed to cache the verdict for '%s', ignoring: %m", hostname);
        }
        fputs(line, stdout);
        return 0;
}

static int run(int argc, char *argv[]) {
        static const Verb verbs[] = {
                { "verify", verb_verify, NULL },
                { "known-hosts", verb_known_hosts, NULL },
                { "known-hosts-command", verb_known_hosts_command, NULL },
                {},
        };
        int r;

        log_setup("cvm-verify-host");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        /* tpm2-tss's marshalling code logs every malformed structure it
         * meets to stderr; hostile evidence is refused in one line of ours. */
        if (log_get_max_level() < LOG_DEBUG)
                (void) setenv("TSS2_LOG", "all+none", /* overwrite= */ 0);
        if (optind >= argc)
                return verb_verify(1, (char *[]) { (char *) "verify", NULL });
        return dispatch_verb(argc - optind, argv + optind, verbs);
}

DEFINE_MAIN_FUNCTION(run);
