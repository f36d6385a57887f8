# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest side of bench/growroot: today's first-boot growth of a LUKS2 root as
# cloud-init's cc_growpart + cc_resizefs do it on RHEL CVM images (cloud-init
# 22.4 with /cc_growpart_keydata), one tool process per step, the key in
# cleartext on disk. cloud-init itself (python) is the parent there; here it
# is this busybox sh, which the bench subtracts from the process count.
#   sh pipeline.sh grow DEV      growpart --dry-run, growpart, cryptsetup
#                                status, cryptsetup --key-file - resize (the
#                                decoded key on stdin, as subp(data=) passes
#                                it), resize2fs
#   sh pipeline.sh noop DEV      what runs when there is nothing to grow:
#                                growpart --dry-run (NOCHANGE, exit 1: the
#                                partition steps stop there), cryptsetup
#                                status, resize2fs (cc_resizefs runs every
#                                boot; the key file is gone after first use)
# Not timed here: luksKillSlot and deleting the key file, which the anchor
# measurement in ENVIRONMENT.md included (one more process).
mode=$1 dev=$2
map=gr-$dev

case $mode in
grow)
        growpart --dry-run "/dev/$dev" 1 >/dev/null || exit 1
        growpart "/dev/$dev" 1 >/dev/null || exit 1
        cryptsetup status "$map" >/dev/null || exit 1
        cryptsetup --key-file - resize "$map" </files/key || exit 1
        resize2fs "/dev/mapper/$map" >/dev/null 2>&1 || exit 1
        ;;
noop)
        # exit 1 + NOCHANGE is growpart's "nothing to do".
        out=$(growpart --dry-run "/dev/$dev" 1 2>&1)
        case $out in
        NOCHANGE*) ;;
        *) echo "$out"; exit 1 ;;
        esac
        cryptsetup status "$map" >/dev/null || exit 1
        resize2fs "/dev/mapper/$map" >/dev/null 2>&1 || exit 1
        ;;
esac
