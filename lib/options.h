/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Option conventions shared by all binaries: -h/--help, --version,
 * --json[=pretty|short|off], -q/--quiet, -v/--verbose, --log-level=LEVEL,
 * --tpm2-device=auto|PATH|TCTI. Each tool keeps its own getopt_long table,
 * includes COMMON_LONG_OPTIONS, and hands it to parse_options() with a
 * function for its own options. */

#include <getopt.h>
#include <stdbool.h>

typedef enum JsonFormat {
        JSON_OFF,
        JSON_SHORT,
        JSON_PRETTY,
} JsonFormat;

enum {
        ARG_COMMON_VERSION = 0x1000,
        ARG_COMMON_JSON,
        ARG_COMMON_LOG_LEVEL,
        ARG_COMMON_TPM2_DEVICE,
        ARG_COMMON_MAX, /* tools number their own long options from here */
};

#define COMMON_SHORT_OPTIONS "hqv"
#define COMMON_LONG_OPTIONS                                                     \
        { "help", no_argument, NULL, 'h' },                                     \
        { "version", no_argument, NULL, ARG_COMMON_VERSION },                   \
        { "json", optional_argument, NULL, ARG_COMMON_JSON },                   \
        { "quiet", no_argument, NULL, 'q' },                                    \
        { "verbose", no_argument, NULL, 'v' },                                  \
        { "log-level", required_argument, NULL, ARG_COMMON_LOG_LEVEL }
#define TPM2_LONG_OPTIONS { "tpm2-device", required_argument, NULL, ARG_COMMON_TPM2_DEVICE }

typedef struct CommonArgs {
        JsonFormat json;
        const char *tpm2_device; /* NULL = "auto" */
} CommonArgs;

/* Help text lines for the common options, for each tool's help(). */
#define COMMON_OPTIONS_HELP                                                              \
        "     --json[=pretty|short|off]  Print the result as one JSON object on stdout\n"   \
        "  -q --quiet             Only log warnings and errors\n"                          \
        "  -v --verbose           Log debug messages too\n"                                \
        "     --log-level=LEVEL   Log level (err, warning, notice, info, debug)\n"         \
        "  -h --help              Show this help\n"                                         \
        "     --version           Show the package version\n"
#define TPM2_DEVICE_HELP                                                                   \
        "     --tpm2-device=auto|PATH|TCTI\n"                                               \
        "                         TPM to use: /dev/tpmrm0, a device node, or a tpm2-tss\n"  \
        "                         TCTI string such as swtpm:host=127.0.0.1,port=2321\n"

/* Returns 1 if the option was handled, 0 if the tool must exit successfully
 * now (--help or --version printed), -EINVAL after printing an error for a
 * bad value or an unknown option ('?'). @help prints the tool's help. */
int common_parse_option(int c, const char *arg, CommonArgs *args, void (*help)(void));

/* The getopt_long() loop of every tool. Each option goes first to the
 * tool's @parse_one(c, value), which returns 1 if it handled it, <0 after
 * printing a usage error, or 0 for an option that is not its own; those go
 * to common_parse_option(). Returns 1 to go on, 0 if the tool must exit
 * successfully now (--help, --version), <0 on a usage error. */
int parse_options(int argc, char *argv[], const struct option options[], CommonArgs *args, void (*help)(void),
                  int (*parse_one)(int c, const char *value));

/* The standard one-liner for a usage error, on stderr. Returns -EINVAL. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int version(void);
