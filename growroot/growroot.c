/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cvm-growroot: grow the partition, LUKS2 container and filesystem holding
 * the root filesystem to the end of its disk, online. */
#include <stdio.h>

#include "log.h"
#include "main-func.h"
#include "options.h"

enum {
        ARG_ROOT = ARG_COMMON_MAX,
        ARG_DEVICE,
        ARG_DRY_RUN,
        ARG_INITRD,
};

static CommonArgs arg_common = {};
static const char *arg_root = "/";
static const char *arg_device = NULL;
static bool arg_dry_run = false;
static bool arg_initrd = false;

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Grow the root partition, its LUKS2 container and its filesystem online.\n\n"
               "     --root=PATH          Grow the filesystem mounted at PATH (default: /)\n"
               "     --device=DEV         Grow this block device's stack instead\n"
               "     --initrd             Only grow the partition (before the root is opened)\n"
               "     --dry-run            Print the plan, write nothing\n"
               TPM2_DEVICE_HELP
               COMMON_OPTIONS_HELP
               "\nSee cvm-growroot(8) for details.\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                COMMON_LONG_OPTIONS,
                TPM2_LONG_OPTIONS,
                { "root", required_argument, NULL, ARG_ROOT },
                { "device", required_argument, NULL, ARG_DEVICE },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "initrd", no_argument, NULL, ARG_INITRD },
                {},
        };
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0)
                switch (c) {
                case ARG_ROOT:
                        arg_root = optarg;
                        break;
                case ARG_DEVICE:
                        arg_device = optarg;
                        break;
                case ARG_DRY_RUN:
                        arg_dry_run = true;
                        break;
                case ARG_INITRD:
                        arg_initrd = true;
                        break;
                default:
                        r = common_parse_option(c, optarg, &arg_common, help);
                        if (r <= 0)
                                return r;
                }
        if (optind < argc)
                return usage_error("unexpected argument '%s'", argv[optind]);
        return 1;
}

static int run(int argc, char *argv[]) {
        int r;

        log_setup("cvm-growroot");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        (void) arg_root, (void) arg_device, (void) arg_dry_run, (void) arg_initrd;
        return log_error_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "Growing is not implemented in this version yet.");
}

DEFINE_MAIN_FUNCTION(run);
