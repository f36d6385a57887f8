/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-enroll: manage the TPM2 keyslots of a LUKS2 volume. */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "main-func.h"
#include "options.h"
#include "enroll.h"
#include "file-util.h"
#include "keydata.h"
#include "luks-util.h"
#include "pcr-spec.h"
#include "secret.h"
#include "uefi-eventlog.h"
#include "verbs.h"

enum {
        ARG_DEVICE = ARG_COMMON_MAX,
        ARG_PCRS,
        ARG_UNLOCK_KEY_FILE,
        ARG_UNLOCK_KEYDATA,
        ARG_UNLOCK_TPM2,
        ARG_TEMPORARY,
        ARG_KEYDATA,
        ARG_ROOT,
        ARG_REPLACE,
        ARG_EVENTLOG,
        ARG_PCR_VALUES,
        ARG_FINALIZE,
        ARG_DRY_RUN,
        ARG_SRK_PUB,
        ARG_STAMP,
};

static const char *arg_root = NULL;
static char *arg_root_device = NULL;
static const char *arg_replace[16];
static const char *arg_stamp = NULL;

static EnrollArgs arg = {
        .pcr_mask = UINT32_C(1) << 7,
        .keydata = KEYDATA_PATH_DEFAULT,
};

static void help(void) {
        printf("%s [OPTIONS...] COMMAND --device=DEV\n\n"
               "Manage TPM2 keyslots of a LUKS2 volume.\n\n"
               "Commands:\n"
               "  tpm2             Seal a new key to this TPM, add a keyslot and systemd-tpm2 token\n"
               "  check            Prove a TPM2 token opens its keyslot (writes nothing)\n"
               "  status           Show keyslots, tokens, PCRs and which tokens open now\n"
               "  wipe-temporary   Remove temporary keyslots after a passing check\n"
               "  reseal           Before a boot file update: add a token sealed to the predicted\n"
               "                   PCRs (--replace); --finalize: remove outdated tokens\n"
               "  seal-offline     Seal a new key to another TPM's SRK public key (no TPM needed),\n"
               "                   add a keyslot and a cvm-tpm2-import token\n"
               "  convert-import   Import cvm-tpm2-import tokens into this TPM as systemd-tpm2 tokens\n"
               "  firstboot        convert-import, tpm2 and wipe-temporary in one process, each\n"
               "                   only after the previous one succeeded (first-boot unit)\n\n"
               "Options:\n"
               "     --device=DEV         LUKS2 block device or image file\n"
               "     --root=PATH          The LUKS2 device under the filesystem mounted at PATH\n"
               "     --pcrs=LIST          PCRs to seal to, e.g. 7 or 4+7 (default: 7)\n"
               "     --unlock-key-file=FILE\n"
               "                          Unlock with the passphrase in FILE (- for stdin)\n"
               "     --unlock-keydata[=FILE]\n"
               "                          Unlock with a legacy cloud-init key file\n"
               "                          (default: " KEYDATA_PATH_DEFAULT ")\n"
               "     --unlock-tpm2        Unlock with an existing TPM2 token\n"
               "     --temporary          Mark the new token temporary (wiped by wipe-temporary)\n"
               "     --keydata=FILE       Legacy key file wipe-temporary destroys\n"
               "                          (default: " KEYDATA_PATH_DEFAULT ")\n"
               "     --replace=OLD=NEW    reseal: boot file OLD (started in this boot) is\n"
               "                          replaced by NEW at the next boot (repeatable)\n"
               "     --eventlog=FILE      reseal: this boot's TPM event log\n"
               "                          (default: " EVENTLOG_PATH_DEFAULT ")\n"
               "     --finalize           reseal: remove tokens sealed to outdated PCRs\n"
               "     --dry-run            reseal: print the prediction or plan, write nothing\n"
               "     --stamp=FILE         firstboot: create FILE once every step succeeded\n"
               "     --srk-pub=FILE       seal-offline: the target TPM's SRK public key\n"
               "                          (TPM2B_PUBLIC from tpm2_readpublic, or PEM)\n"
               "     --pcr-values=FILE|IDX=HEX,...\n"
               "                          seal-offline: the target's sha256 PCR values;\n"
               "                          reseal (for tests): seal to these values\n"
               TPM2_DEVICE_HELP
               COMMON_OPTIONS_HELP
               "\nSee cvm-enroll(8) for details.\n",
               program_invocation_short_name);
}

static int set_unlock(UnlockMethod m, const char *path) {
        if (arg.unlock != UNLOCK_AUTO && arg.unlock != m)
                return usage_error("--unlock-key-file, --unlock-keydata and --unlock-tpm2 are mutually exclusive");
        arg.unlock = m;
        arg.unlock_path = path;
        return 1;
}

static int parse_option(int c, const char *value) {
        switch (c) {
        case ARG_DEVICE:
                arg.device = value;
                break;
        case ARG_PCRS:
                if (pcr_mask_from_string(value, &arg.pcr_mask) < 0)
                        return usage_error("invalid --pcrs= value '%s' (expected e.g. 7 or 4+7)", value);
                break;
        case ARG_UNLOCK_KEY_FILE:
                return set_unlock(UNLOCK_KEY_FILE, value);
        case ARG_UNLOCK_KEYDATA:
                return set_unlock(UNLOCK_KEYDATA, value ?: KEYDATA_PATH_DEFAULT);
        case ARG_UNLOCK_TPM2:
                return set_unlock(UNLOCK_TPM2, NULL);
        case ARG_TEMPORARY:
                arg.temporary = true;
                break;
        case ARG_KEYDATA:
                arg.keydata = value;
                break;
        case ARG_ROOT:
                arg_root = value;
                break;
        case ARG_REPLACE:
                if (!strchr(value, '=') || value[0] == '=' || !strchr(value, '=')[1])
                        return usage_error("invalid --replace= value '%s' (expected OLD=NEW)", value);
                if (arg.n_replace >= ELEMENTSOF(arg_replace))
                        return usage_error("too many --replace= options");
                arg_replace[arg.n_replace++] = value;
                arg.replace = arg_replace;
                break;
        case ARG_EVENTLOG:
                arg.eventlog = value;
                break;
        case ARG_SRK_PUB:
                arg.srk_pub = value;
                break;
        case ARG_STAMP:
                arg_stamp = value;
                break;
        case ARG_PCR_VALUES:
                arg.pcr_values = value;
                break;
        case ARG_FINALIZE:
                arg.finalize = true;
                break;
        case ARG_DRY_RUN:
                arg.dry_run = true;
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
                { "device", required_argument, NULL, ARG_DEVICE },
                { "pcrs", required_argument, NULL, ARG_PCRS },
                { "unlock-key-file", required_argument, NULL, ARG_UNLOCK_KEY_FILE },
                { "unlock-keydata", optional_argument, NULL, ARG_UNLOCK_KEYDATA },
                { "unlock-tpm2", no_argument, NULL, ARG_UNLOCK_TPM2 },
                { "temporary", no_argument, NULL, ARG_TEMPORARY },
                { "keydata", required_argument, NULL, ARG_KEYDATA },
                { "root", required_argument, NULL, ARG_ROOT },
                { "replace", required_argument, NULL, ARG_REPLACE },
                { "eventlog", required_argument, NULL, ARG_EVENTLOG },
                { "pcr-values", required_argument, NULL, ARG_PCR_VALUES },
                { "finalize", no_argument, NULL, ARG_FINALIZE },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "srk-pub", required_argument, NULL, ARG_SRK_PUB },
                { "stamp", required_argument, NULL, ARG_STAMP },
                {},
        };

        return parse_options(argc, argv, options, &arg.common, help, parse_option);
}

/* 0: arg.device is set; EXIT_NOT_ENCRYPTED: --root= names a filesystem
 * with no dm-crypt under it, so there is nothing to enroll or wipe (a
 * plain image booting the same units); <0: failure. */
static int need_device(void) {
        int r;

        if (arg.device && arg_root)
                return usage_error("--device= and --root= are mutually exclusive");
        if (arg_root) {
                r = luks_device_of_mount(arg_root, &arg_root_device);
                if (r < 0)
                        return log_error_errno(r, "Failed to find the LUKS2 device under '%s': %m", arg_root);
                if (r == 0) {
                        log_info("'%s' is not on an encrypted volume, nothing to do.", arg_root);
                        return EXIT_NOT_ENCRYPTED;
                }
                arg.device = arg_root_device;
        }
        if (!arg.device)
                return usage_error("--device=DEV or --root=PATH is required");
        (void) log_set_field("CVM_DEVICE", arg.device);
        return 0;
}

#define DEVICE_VERB(name, fn)                                   \
        static int name(int argc, char *argv[]) {               \
                (void) argv;                                    \
                if (argc > 1)                                   \
                        return usage_error("unexpected argument '%s'", argv[1]); \
                int _r = need_device();                         \
                return _r != 0 ? _r : fn(&arg);                 \
        }
DEVICE_VERB(run_tpm2, verb_tpm2)
DEVICE_VERB(run_check, verb_check)
DEVICE_VERB(run_status, verb_status)
DEVICE_VERB(run_wipe_temporary, verb_wipe_temporary)
DEVICE_VERB(run_reseal, verb_reseal)
DEVICE_VERB(run_seal_offline, verb_seal_offline)
DEVICE_VERB(run_convert_import, verb_convert_import)

/* What cvm-enroll-firstboot.service runs: the three steps it used to run
 * as three processes (each paid for loading libcryptsetup, tpm2-tss and
 * libcrypto, reading the LUKS2 header and its own sandbox setup: on a
 * first boot under TCG the unit took 3.3 s of CPU), with the same options
 * and the same rule: a step runs only after the previous one succeeded,
 * so wipe-temporary still runs only after tpm2 found or made a token, and
 * wipe-temporary itself refuses unless a non-temporary token opens. */
static int verb_firstboot(const EnrollArgs *a) {
        int (*const steps[])(const EnrollArgs *) = { verb_convert_import, verb_tpm2, verb_wipe_temporary };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                r = steps[i](a);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* The stamp also marks "not encrypted" as done: the unit then skips the
 * check on later boots, as it skips a finished enrollment. */
static int run_firstboot(int argc, char *argv[]) {
        int r;

        if (argc > 1)
                return usage_error("unexpected argument '%s'", argv[1]);
        r = need_device();
        if (r == 0)
                r = verb_firstboot(&arg);
        if ((r == 0 || r == EXIT_NOT_ENCRYPTED) && arg_stamp) {
                int k = write_file_atomic(arg_stamp, "", 0, 0644);
                if (k < 0)
                        return log_error_errno(k, "Failed to create '%s': %m", arg_stamp);
        }
        return r;
}

static int run(int argc, char *argv[]) {
        static const Verb verbs[] = {
                { "tpm2", run_tpm2, NULL },
                { "check", run_check, NULL },
                { "status", run_status, NULL },
                { "wipe-temporary", run_wipe_temporary, NULL },
                { "convert-import", run_convert_import, NULL },
                { "firstboot", run_firstboot, NULL },
                { "seal-offline", run_seal_offline, NULL },
                { "reseal", run_reseal, NULL },
                {},
        };
        int r;

        log_setup("cvm-enroll");
        secret_harden_process();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        if ((arg.n_replace > 0 || arg.eventlog || arg.finalize || arg.dry_run) &&
            (optind >= argc || !streq(argv[optind], "reseal")))
                return usage_error("--replace=, --eventlog=, --finalize and --dry-run only apply to 'reseal'");
        if (arg_stamp && (optind >= argc || !streq(argv[optind], "firstboot")))
                return usage_error("--stamp= only applies to 'firstboot'");
        return dispatch_verb(argc - optind, argv + optind, verbs);
}

DEFINE_MAIN_FUNCTION(run);
