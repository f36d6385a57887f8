/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-authcheck: Publish an attested binding of this VM's SSH host keys (TPM2 quote). */
#include <stdio.h>

#include "log.h"
#include "main-func.h"
#include "options.h"

static CommonArgs arg_common = {};

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Publish an attested binding of this VM's SSH host keys (TPM2 quote).\n\n"
               TPM2_DEVICE_HELP
               COMMON_OPTIONS_HELP
               "\nSee cvm-authcheck(8) for details.\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                COMMON_LONG_OPTIONS,
                TPM2_LONG_OPTIONS,
                {},
        };
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                r = common_parse_option(c, optarg, &arg_common, help);
                if (r <= 0)
                        return r;
        }
        return 1;
}

static int run(int argc, char *argv[]) {
        int r;

        log_setup("cvm-authcheck");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        return log_error_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "Not implemented in this version yet.");
}

DEFINE_MAIN_FUNCTION(run);
