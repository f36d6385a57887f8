/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The root's device as the kernel command line names it, read the way
 * systemd's initrd generators read it. One parser for cvm-growroot --initrd
 * (which polls for the device) and cvm-growroot-generator (which hands the
 * device's unit to systemd): both must pick the same device. */

#include <stdbool.h>

/* The kernel command line: $CVM_PROC_CMDLINE when set (tests, like
 * systemd's $SYSTEMD_PROC_CMDLINE), else /proc/cmdline. */
int proc_cmdline_read(char **ret);

/* Is @word (e.g. "cvm.growroot=0") one of the command line's words? */
bool cmdline_has_word(const char *cmdline, const char *word);

/* The device to grow, as a blkid tag or a path: "UUID=…" from
 * rd.luks.uuid= or rd.luks.name=UUID=NAME (an encrypted root: its LUKS2
 * partition), else root= as given (UUID=, PARTUUID=, LABEL=, PARTLABEL=
 * or a path). -ENODEV when none is named (no root=, or root=/dev/root). */
int cmdline_root_spec(const char *cmdline, char **ret);
