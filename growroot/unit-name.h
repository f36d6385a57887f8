/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The name systemd gives the unit of a path, as `systemd-escape --path
 * --suffix=SUFFIX PATH` prints it (systemd.unit(5), "String Escaping for
 * Inclusion in Unit Names"): slashes at both ends dropped, the others
 * become "-"; every byte that is not an ASCII letter, digit, ":", "_" or
 * "." (nor a leading ".") becomes "\xNN"; "/" alone is "-". A path with a
 * ".." component has no unit name: -EINVAL; nor one whose name would be
 * UNIT_NAME_MAX bytes or longer (PID 1 hashes those): -ENAMETOOLONG. */
#define UNIT_NAME_MAX 256

int unit_name_from_path(const char *path, const char *suffix, char **ret);
