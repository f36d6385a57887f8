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
