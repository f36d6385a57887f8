/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel command line as cvm-growroot --initrd and
 * cvm-growroot-generator read it (growroot/root-cmdline.h), and the device
 * unit name the generator derives from a path (growroot/unit-name.h). In a
 * CVM booted with a host-supplied command line (direct kernel boot, no
 * measured UKI) these bytes come from the host.
 *
 * Input: the command line as /proc/cmdline holds it. Properties: a root
 * found is non-empty and holds no double quote (quotes are syntax, never
 * part of a value); from rd.luks.* it is "UUID=…"; a unit name made from
 * a path is shorter than UNIT_NAME_MAX, ends in ".device", starts with no
 * ".", and holds only ASCII letters, digits, ":_.-\" (the escapes). */
#include <string.h>

#include "fuzz.h"
#include "root-cmdline.h"
#include "unit-name.h"

static void check_unit_name(const char *name) {
        size_t n = strlen(name);

        FUZZ_CHECK(n < UNIT_NAME_MAX);
        FUZZ_CHECK(n > strlen(".device") && streq(name + n - strlen(".device"), ".device"));
        FUZZ_CHECK(name[0] != '.');
        for (const char *p = name; *p; p++)
                FUZZ_CHECK((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                           strchr(":_.-\\", *p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *cmdline = NULL, *spec = NULL, *unit = NULL;
        int r;

        if (size > 65536)
                return 0; /* proc_cmdline_read()'s limit */
        cmdline = fuzz_strndup(data, size);
        if (!cmdline)
                return 0;
        (void) cmdline_has_word(cmdline, "cvm.growroot=0");
        r = cmdline_root_spec(cmdline, &spec);
        FUZZ_CHECK(r == 0 || r == -ENODEV || r == -ENOMEM);
        if (r < 0)
                return 0;
        FUZZ_CHECK(spec && spec[0] != 0);
        FUZZ_CHECK(!strchr(spec, '"'));
        FUZZ_CHECK(!streq(spec, "/dev/root"));
        if (spec[0] != '/')
                return 0;
        r = unit_name_from_path(spec, ".device", &unit);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENAMETOOLONG);
        if (r == 0)
                check_unit_name(unit);
        return 0;
}
