/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "config.h"
#include "log.h"
#include "options.h"

int usage_error(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", program_invocation_short_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry '%s --help' for more information.\n", program_invocation_short_name);
        return -EINVAL;
}

int version(void) {
        printf("%s %s (%s)\n", program_invocation_short_name, PROJECT_VERSION, PROJECT_NAME);
        return 0;
}

static int parse_json_format(const char *arg, JsonFormat *ret) {
        if (!arg || streq(arg, "pretty"))
                *ret = JSON_PRETTY;
        else if (streq(arg, "short"))
                *ret = JSON_SHORT;
        else if (streq(arg, "off"))
                *ret = JSON_OFF;
        else
                return -EINVAL;
        return 0;
}

int common_parse_option(int c, const char *arg, CommonArgs *args, void (*help)(void)) {
        int l;

        switch (c) {
        case 'h':
                help();
                return 0;
        case ARG_COMMON_VERSION:
                return version();
        case ARG_COMMON_JSON:
                if (parse_json_format(arg, &args->json) < 0)
                        return usage_error("invalid --json= value '%s' (expected pretty, short or off)", arg);
                return 1;
        case 'q':
                log_set_max_level(LOG_WARNING);
                return 1;
        case 'v':
                log_set_max_level(LOG_DEBUG);
                return 1;
        case ARG_COMMON_LOG_LEVEL:
                l = log_level_from_string(arg);
                if (l < 0)
                        return usage_error("invalid --log-level= value '%s'", arg);
                log_set_max_level(l);
                return 1;
        case ARG_COMMON_TPM2_DEVICE:
                if (!*arg)
                        return usage_error("--tpm2-device= needs a value (auto, a path or a TCTI string)");
                args->tpm2_device = streq(arg, "auto") ? NULL : arg;
                return 1;
        case '?':
                /* getopt already printed what was wrong. */
                fprintf(stderr, "Try '%s --help' for more information.\n", program_invocation_short_name);
                return -EINVAL;
        default:
                return usage_error("unhandled option");
        }
}

int parse_options(int argc, char *argv[], const struct option options[], CommonArgs *args, void (*help)(void),
                  int (*parse_one)(int c, const char *value)) {
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0) {
                r = parse_one(c, optarg);
                if (r == 0)
                        r = common_parse_option(c, optarg, args, help);
                if (r <= 0)
                        return r;
        }
        return 1;
}
