/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Subcommand dispatch ("cvm-enroll tpm2 …", "cvm-authcheck quote …"). */

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const char *summary;
} Verb;

/* Find argv[0] in @verbs (a NULL-named entry ends the table; a verb named
 * "" is the default when no verb is given) and run it with the remaining
 * arguments. An unknown verb is a usage error. */
int dispatch_verb(int argc, char *argv[], const Verb verbs[]);
