/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* In the initrd the root is not mounted yet: find the device to grow from
 * the kernel command line (root-cmdline.c) and wait for udev to create it.
 * Under systemd, cvm-growroot-generator hands the unit that device (and
 * systemd waits for it): this polling is the fallback for other initrds
 * (initramfs-tools) and manual runs. */
#include <blkid/blkid.h>
#include <time.h>

#include "growroot.h"
#include "log.h"
#include "root-cmdline.h"

int initrd_find_device(unsigned timeout_sec, char **ret) {
        _cleanup_free_ char *cmdline = NULL, *spec = NULL;
        int r;

        r = proc_cmdline_read(&cmdline);
        if (r < 0)
                return r;
        r = cmdline_root_spec(cmdline, &spec);
        if (r < 0)
                return log_debug_errno(r, "No rd.luks.uuid=, rd.luks.name= or root= on the kernel command line.");

        /* udev may still be creating the node: poll, as the device units
         * cryptsetup waits for would. */
        for (unsigned i = 0; i <= timeout_sec * 10; i++) {
                char *dev = blkid_evaluate_spec(spec, NULL);
                if (dev) {
                        log_debug("Root device '%s' is '%s'.", spec, dev);
                        *ret = dev;
                        return 0;
                }
                (void) nanosleep(&(struct timespec) { .tv_nsec = 100 * 1000 * 1000 }, NULL);
        }
        return log_debug_errno(SYNTHETIC_ERRNO(ENODEV), "Root device '%s' did not appear within %u s.", spec,
                               timeout_sec);
}
