#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# dracut module: grow the root partition in the initrd, before the root's
# LUKS2 volume is opened (cvm-growroot-initrd.service).

check() {
        require_binaries cvm-growroot || return 1
        return 0
}

depends() {
        echo systemd
}

install() {
        inst_multiple cvm-growroot
        # dlopen()ed on first use (libfdisk: the partition step; libblkid:
        # root=UUID=… lookups): not in cvm-growroot's DT_NEEDED.
        inst_libdir_file "libfdisk.so.1" "libblkid.so.1"
        inst_simple "$systemdsystemunitdir/cvm-growroot-initrd.service"
        # Makes the unit wait for the root's device (systemd starts it once
        # udev has created it) and pass it with --device=: no polling.
        inst_multiple "$systemdutildir/system-generators/cvm-growroot-generator"
        mkdir -p "$initdir$systemdsystemunitdir/sysinit.target.wants"
        ln_r "$systemdsystemunitdir/cvm-growroot-initrd.service" \
                "$systemdsystemunitdir/sysinit.target.wants/cvm-growroot-initrd.service"
}
