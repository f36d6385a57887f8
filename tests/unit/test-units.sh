#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The systemd units: `systemd-analyze verify` finds nothing to complain about
# (it also checks that every ExecStart= binary exists: they point at the
# build tree here), and `systemd-analyze security` rates each unit's sandbox;
# the scores are printed and must stay at or below the recorded ceiling.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"

require_cmd systemd-analyze
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
mkdir "$tmp/bin"
for b in "$CVM_GROWROOT" "$CVM_ENROLL" "$CVM_AUTHCHECK"; do
        ln -s "$b" "$tmp/bin/"
done
for f in "$CVM_SRCDIR"/units/*.service.in; do
        sed "s|@bindir@|$tmp/bin|g" "$f" >"$tmp/$(basename "$f" .in)"
done

# cvm-growroot-initrd.service as the initrd loads it: with the drop-in
# cvm-growroot-generator writes next to it (its ExecStart= pointed at the
# build tree too). systemd-analyze verify reads the drop-in (an unknown key
# or a missing binary there is reported).
CVM_IN_INITRD=1 CVM_PROC_CMDLINE="root=/dev/mapper/root rd.luks.name=6f1c2a9e-0b4d-4f2e-9a51-3c7d8e9f0a1b=root" \
        "${CVM_GROWROOT_GENERATOR:-$CVM_BUILDDIR/growroot/cvm-growroot-generator}" "$tmp"
dropin=$tmp/cvm-growroot-initrd.service.d/50-cvm-growroot-generator.conf
check "the generator wrote its drop-in" test -f "$dropin"
sed -i -E "s|^ExecStart=/[^ ]*/cvm-growroot |ExecStart=$tmp/bin/cvm-growroot |" "$dropin"

cd "$tmp"
out=$(systemd-analyze verify --man=no ./*.service 2>&1) && rc=0 || rc=$?
check_eq "systemd-analyze verify exit status" 0 "$rc"
check_eq "systemd-analyze verify says nothing" "" "$out"

# Exposure ceilings (0 = locked down, 10 = unprotected). growroot and enroll
# need block devices, the TPM, CAP_SYS_ADMIN and a writable / for online
# resize ioctls, so they cannot go as low as authcheck.
declare -A ceiling=([cvm-authcheck.service]=2.5 [cvm-enroll-firstboot.service]=4.5 [cvm-enroll-finalize.service]=4.5
                    [cvm-growroot.service]=4.5 [cvm-growroot-initrd.service]=5.5)
for unit in "${!ceiling[@]}"; do
        score=$(systemd-analyze security --offline=yes "./$unit" 2>/dev/null |
                sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
        echo "# systemd-analyze security $unit: $score"
        check "$unit exposure $score <= ${ceiling[$unit]}" \
                awk -v s="$score" -v c="${ceiling[$unit]}" 'BEGIN { exit !(s != "" && s <= c) }'
done
check_done
