/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-enroll: manage the TPM2 keyslots of a LUKS2 volume. */
#include <stdio.h>

#include "log.h"
#include "main-func.h"
#include "options.h"
#include "secret.h"
#include "verbs.h"

static CommonArgs arg_common = {};

static void help(void) {
        printf("%s [OPTIONS...] COMMAND --device=DEV [OPTIONS...]\n\n"
               "Manage TPM2 keyslots of a LUKS2 volume.\n\n"
               "Commands:\n"
               "  tpm2             Seal a new key to this TPM, add a keyslot and systemd-tpm2 token\n"
               "  check            Prove a TPM2 token opens its keyslot (writes nothing)\n"
               "  status           Show slots, tokens and PCRs\n"
               "  wipe-temporary   Remove temporary slots after a passing check\n"
               "  convert-import   Turn an offline-sealed import token into a local token\n"
               "  seal-offline     Seal to a target TPM's SRK without that TPM\n"
               "  reseal           Re-bind to predicted PCR values before an update\n\n"
               "Options:\n"
               TPM2_DEVICE_HELP
               COMMON_OPTIONS_HELP
               "\nSee cvm-enroll(8) for details.\n",
               program_invocation_short_name);
}

static int verb_not_yet(int argc, char *argv[]) {
        (void) argc;
        return log_error_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "'%s' is not implemented in this version yet.", argv[0]);
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                COMMON_LONG_OPTIONS,
                TPM2_LONG_OPTIONS,
                {},
        };
        int c, r;

        /* '+': stop at the command; its own options are parsed by the verb. */
        while ((c = getopt_long(argc, argv, "+" COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                r = common_parse_option(c, optarg, &arg_common, help);
                if (r <= 0)
                        return r;
        }
        return 1;
}

static int run(int argc, char *argv[]) {
        static const Verb verbs[] = {
                { "tpm2", verb_not_yet, NULL },
                { "check", verb_not_yet, NULL },
                { "status", verb_not_yet, NULL },
                { "wipe-temporary", verb_not_yet, NULL },
                { "convert-import", verb_not_yet, NULL },
                { "seal-offline", verb_not_yet, NULL },
                { "reseal", verb_not_yet, NULL },
                {},
        };
        int r;

        log_setup("cvm-enroll");
        secret_harden_process();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        return dispatch_verb(argc - optind, argv + optind, verbs);
}

DEFINE_MAIN_FUNCTION(run);
