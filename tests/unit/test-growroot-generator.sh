#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-growroot-generator: the drop-in it writes for cvm-growroot-initrd.service
# from the kernel command line ($CVM_PROC_CMDLINE stands in for
# /proc/cmdline, $CVM_IN_INITRD=1 for /etc/initrd-release). The device
# unit names are checked against systemd's own `systemd-escape --path`; for
# root=, the device is also checked against the one systemd-fstab-generator
# mounts as /sysroot from the same command line (quoting, several root=);
# the other udev link names and the ExecStart= lines are written out by hand.
# shellcheck disable=SC2016 # labels and paths with a literal "$", on purpose
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"

require_cmd systemd-escape
gen=${CVM_GROWROOT_GENERATOR:-$CVM_BUILDDIR/growroot/cvm-growroot-generator}
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
dropin=cvm-growroot-initrd.service.d/50-cvm-growroot-generator.conf
uuid=6f1c2a9e-0b4d-4f2e-9a51-3c7d8e9f0a1b

# run_gen CMDLINE [ENV...]: the generator's output directory afresh, $out.
run_gen() {
        local cmdline=$1
        shift
        out=$tmp/out
        rm -rf "$out"
        mkdir "$out"
        env CVM_IN_INITRD=1 CVM_PROC_CMDLINE="$cmdline" "$@" "$gen" "$out" "$out.early" "$out.late"
}

# as_fstab CMDLINE: the device systemd-fstab-generator (in initrd mode)
# mounts as /sysroot for CMDLINE, "-" when it mounts none.
fstab_gen=/lib/systemd/system-generators/systemd-fstab-generator
as_fstab() {
        local d=$tmp/fstab
        rm -rf "$d" && mkdir -p "$d/a" "$d/b" "$d/c"
        SYSTEMD_LOG_LEVEL=err SYSTEMD_IN_INITRD=1 SYSTEMD_PROC_CMDLINE="$1" "$fstab_gen" "$d/a" "$d/b" "$d/c" || :
        sed -n 's/^What=//p' "$d"/*/sysroot.mount 2>/dev/null | grep . || echo -
}

# expect_fstab CMDLINE DEVNODE: expect, and systemd-fstab-generator agrees.
expect_fstab() {
        if [ -x "$fstab_gen" ]; then
                check_eq "[$1] systemd-fstab-generator mounts the same device" "$2" "$(as_fstab "$1")"
        else
                echo "# $fstab_gen missing: [$1] not compared with systemd"
        fi
        expect "$1" "$2"
}

# expect CMDLINE DEVNODE: the drop-in orders and binds the unit to
# DEVNODE's device unit and passes DEVNODE to cvm-growroot.
expect() {
        local cmdline=$1 devnode=$2 unit rc=0
        unit=$(systemd-escape --path --suffix=device "$devnode")
        run_gen "$cmdline" || rc=$?
        check_eq "[$cmdline] exit status" 0 "$rc"
        check "[$cmdline] writes $dropin" test -f "$out/$dropin"
        [ -f "$out/$dropin" ] || return 0
        check_eq "[$cmdline] Requires=" "Requires=$unit" "$(grep '^Requires=' "$out/$dropin")"
        check_eq "[$cmdline] After=" "After=$unit" "$(grep '^After=' "$out/$dropin")"
        check_eq "[$cmdline] BindsTo= (must not)" "" "$(grep '^BindsTo=' "$out/$dropin" || :)"
        check_eq "[$cmdline] the ExecStart= reset" "ExecStart=" "$(grep -x 'ExecStart=' "$out/$dropin")"
        check_eq "[$cmdline] nothing else in the drop-in ([Unit], [Service], 4 settings)" 6 "$(grep -c -v -e '^#' -e '^$' "$out/$dropin")"
}

# expect_exec CMDLINE ARG: the ExecStart= line (after the reset) runs
# cvm-growroot from the build's bindir with --initrd and ARG.
expect_exec() {
        local line
        run_gen "$1"
        line=$(grep '^ExecStart=.' "$out/$dropin")
        check_eq "[$1] ExecStart= argument" "--initrd $2" "${line#ExecStart=/*/cvm-growroot }"
        check "[$1] ExecStart= runs an absolute cvm-growroot" contains "$line" "ExecStart=/"
}

# expect_none CMDLINE [ENV...]: no drop-in, exit 0.
expect_none() {
        local cmdline=$1 rc=0
        shift
        run_gen "$cmdline" "$@" || rc=$?
        check_eq "[$cmdline $*] exit status" 0 "$rc"
        check_eq "[$cmdline $*] writes nothing" "" "$(find "$out" -mindepth 1)"
}

# The encrypted root: the LUKS2 partition's by-uuid link.
expect "root=/dev/mapper/root rw rd.luks.name=$uuid=root rd.luks.options=tpm2-device=auto" \
        "/dev/disk/by-uuid/$uuid"
expect "rd.luks.uuid=$uuid root=/dev/mapper/luks-$uuid" "/dev/disk/by-uuid/$uuid"
expect "quiet rd.luks.uuid=luks-$uuid" "/dev/disk/by-uuid/$uuid"
expect_exec "rd.luks.uuid=$uuid" "\"--device=/dev/disk/by-uuid/$uuid\""
# A plain root.
expect_fstab "root=UUID=$uuid ro" "/dev/disk/by-uuid/$uuid"
expect_fstab "root=PARTUUID=$uuid" "/dev/disk/by-partuuid/$uuid"
expect_fstab "root=PARTLABEL=root-a" "/dev/disk/by-partlabel/root-a"
expect_fstab "root=/dev/vda2" /dev/vda2
expect_fstab "root=/dev/disk/by-path/pci-0000:00:04.0-part2" /dev/disk/by-path/pci-0000:00:04.0-part2
expect_fstab "root=/dev//vda2" /dev//vda2
# Several root=: the last one counts (the kernel's and systemd's rule: a
# boot loader appends to the image's command line).
expect_fstab "root=/dev/vda1 ro root=PARTUUID=$uuid" "/dev/disk/by-partuuid/$uuid"
expect_none "root=PARTUUID=$uuid root=/dev/root"
# Several rd.luks.uuid= are several volumes: the first is the root's.
# rd.luks=0 / luks=0: no LUKS volume opened in the initrd, root= counts.
expect "rd.luks.uuid=$uuid rd.luks=0 root=PARTUUID=$uuid" "/dev/disk/by-partuuid/$uuid"
expect "luks=no rd.luks.name=$uuid=root root=/dev/vda2" /dev/vda2
expect "rd.luks=1 rd.luks.uuid=$uuid root=/dev/vda2" "/dev/disk/by-uuid/$uuid"
expect_none "rd.luks=0 rd.luks.uuid=$uuid"
# Double quotes keep white space in a value and are not part of it.
expect_fstab 'root="LABEL=a b" ro' '/dev/disk/by-label/a\x20b'
expect_fstab 'quiet root=LABEL="my root" rw' '/dev/disk/by-label/my\x20root'
expect_none 'root="/dev/root"'
expect_none 'cvm.growroot="0" root=/dev/vda2'
expect "rd.luks.uuid=$uuid rd.luks.uuid=0b7c9a5e-0000-4000-8000-000000000001" "/dev/disk/by-uuid/$uuid"
# Awkward labels: udev names the link with "\xNN" for "/", "\", "%", "$"
# (not for "#+-.:=@_" nor UTF-8); systemd then escapes the link's path. A
# '"' cannot be named: it quotes, and an unclosed one is dropped (systemd).
expect_fstab "root=LABEL=my-root" /dev/disk/by-label/my-root
expect_fstab "root=LABEL=a/b" '/dev/disk/by-label/a\x2fb'
expect_fstab 'root=LABEL=a\b' '/dev/disk/by-label/a\x5cb'
expect_fstab 'root=LABEL=x%y$z' '/dev/disk/by-label/x\x25y\x24z'
expect_fstab 'root=LABEL=x%y$z"' '/dev/disk/by-label/x\x25y\x24z'
expect_fstab "root=LABEL=.hidden" /dev/disk/by-label/.hidden
expect_fstab "root=LABEL=über:root_1.0#+=@" "/dev/disk/by-label/über:root_1.0#+=@"
# ... and in ExecStart=, where systemd would unescape "\x2f" and expand
# "%" and "$": a backslash doubled, "%" and "$" doubled.
expect_exec "root=LABEL=a/b" '"--device=/dev/disk/by-label/a\\x2fb"'
expect_exec 'root=/dev/disk/by-id/we%ird$x' '"--device=/dev/disk/by-id/we%%ird$$x"'

# A device unit name of 256 bytes or more is hashed by PID 1 (systemd-escape
# prints it unhashed): no drop-in, the unit polls for the device itself.
long=$(printf 'x%.0s' $(seq 1 230))
check "a 230-byte label's unit name is over 255 bytes" \
        test "$(systemd-escape --path --suffix=device "/dev/disk/by-label/$long" | wc -c)" -gt 256
expect_none "root=LABEL=$long"
long=$(printf 'x%.0s' $(seq 1 200))
expect_fstab "root=LABEL=$long" "/dev/disk/by-label/$long"

# Nothing to do.
expect_none "root=UUID=$uuid cvm.growroot=0"
expect_none "cvm.growroot=0 rd.luks.uuid=$uuid"
expect_none "quiet splash"
expect_none "root=/dev/root"
expect_none "root=UUID="
# "root=" names no device: as the last root= it unsets the earlier one.
expect_none "root=/dev/vda2 root="
expect_fstab "root= root=/dev/vda2" /dev/vda2
expect "rd.luks.uuid= rd.luks.uuid=$uuid" "/dev/disk/by-uuid/$uuid"
expect_none "rd.luks.uuid=luks-"
expect_none "root=ZFS=rpool/root"
if [ -e /etc/initrd-release ]; then
        echo "# /etc/initrd-release exists here: the not-in-initrd case runs with CVM_IN_INITRD=0 only"
else
        rc=0
        rm -rf "$tmp/out" && mkdir "$tmp/out"
        CVM_PROC_CMDLINE="root=UUID=$uuid" "$gen" "$tmp/out" || rc=$?
        check_eq "outside the initrd: exit status" 0 "$rc"
        check_eq "outside the initrd: writes nothing" "" "$(find "$tmp/out" -mindepth 1)"
fi
expect_none "root=UUID=$uuid" CVM_IN_INITRD=0
# cvm.growroot=0 is a word of its own, as for ConditionKernelCommandLine=.
expect "xcvm.growroot=0 cvm.growroot=01 root=/dev/vda2" /dev/vda2

check_fails "no output directory: fails" "$gen"
check_done
