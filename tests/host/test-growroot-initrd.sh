#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-growroot --initrd without --device: the fallback for initrds without
# cvm-growroot-generator (initramfs-tools) and manual runs. It finds the
# partition from the kernel command line ($CVM_PROC_CMDLINE in place of
# /proc/cmdline) with the same parser as the generator, and polls for it
# up to 30 s. On a loop device: GPT, partition 1 at 1 MiB holding LUKS2
# (so rd.luks.name= / rd.luks.uuid= name it), on a 64 MiB image grown to
# 96 MiB. Dry runs: the JSON names the partition and plans 94 MiB (ends on
# the last MiB boundary before the backup GPT: 96 MiB - 1 MiB start - the
# last MiB, which the 33 backup sectors reach into).
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/disk.sh"

require_root
require_cmd sfdisk cryptsetup
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"

MiB=1048576
# Fresh ones each run: blkid must find this run's loop device and no other
# (a second run at the same time, an image left attached).
partuuid=$(cat /proc/sys/kernel/random/uuid)
luksuuid=$(cat /proc/sys/kernel/random/uuid)
partlabel=cvm-root-${partuuid:0:8}
IMG=$tmp/disk.img
truncate -s $((64 * MiB)) "$IMG"
printf 'label: gpt\nstart=2048, size=65536, uuid=%s, name=%s\n' "$partuuid" "$partlabel" | sfdisk -q "$IMG" >/dev/null
loop_attach "$IMG"
[ -b "${LOOP}p1" ] || die "partx did not add '${LOOP}p1'"
head -c 32 /dev/urandom >"$tmp/key"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --uuid "$luksuuid" \
        --key-file "$tmp/key" "${LOOP}p1"
truncate -s $((96 * MiB)) "$IMG"
losetup -c "$LOOP"
before=$(sha256sum <"$IMG")

# found CMDLINE: the dry run resolves the partition and plans its growth.
found() {
        local out rc=0
        out=$(CVM_PROC_CMDLINE="$1" "$CVM_GROWROOT" --initrd --dry-run --json=short) || rc=$?
        check_eq "[$1] exit status" 0 "$rc"
        check_eq "[$1] partition" "\"${LOOP}p1\"" "$(json_get "$out" partition)"
        check_eq "[$1] planned size" $((94 * MiB)) "$(json_get "$out" partition_step.new_size)"
}

found "root=/dev/mapper/root rw rd.luks.name=$luksuuid=root rd.luks.options=tpm2-device=auto"
found "rd.luks.uuid=luks-$luksuuid"
found "root=PARTUUID=$partuuid"
found "root=PARTLABEL=$partlabel"
found "root=${LOOP}p1"

rc=0
CVM_PROC_CMDLINE="quiet" "$CVM_GROWROOT" --initrd --dry-run >/dev/null 2>&1 || rc=$?
check_eq "no root on the command line: exit 1" 1 "$rc"
# The polling: a device that never appears is given up after 30 s.
t0=$(date +%s)
rc=0
CVM_PROC_CMDLINE="root=PARTUUID=00000000-1111-4222-8333-444444444444" "$CVM_GROWROOT" --initrd --dry-run \
        >/dev/null 2>&1 || rc=$?
t=$(($(date +%s) - t0))
check_eq "a device that never appears: exit 1" 1 "$rc"
check "a device that never appears: polled about 30 s (took $t s)" test "$t" -ge 29 -a "$t" -le 60
check_eq "dry runs wrote nothing" "$before" "$(sha256sum <"$IMG")"
check_done
