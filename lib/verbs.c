/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "macro.h"
#include "options.h"
#include "verbs.h"

int dispatch_verb(int argc, char *argv[], const Verb verbs[]) {
        const char *name = argc > 0 ? argv[0] : "";

        for (const Verb *v = verbs; v->name; v++)
                if (streq(v->name, name))
                        return v->run(argc, argv);
        if (!*name)
                return usage_error("a command is required");
        return usage_error("unknown command '%s'", name);
}
