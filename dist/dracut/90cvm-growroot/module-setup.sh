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
        inst_simple "$systemdsystemunitdir/cvm-growroot-initrd.service"
        mkdir -p "$initdir$systemdsystemunitdir/sysinit.target.wants"
        ln_r "$systemdsystemunitdir/cvm-growroot-initrd.service" \
                "$systemdsystemunitdir/sysinit.target.wants/cvm-growroot-initrd.service"
}
