#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-growroot in a real kernel (dm-crypt, BLKPG, online ext4/xfs/btrfs
# resize) over the matrix {ext4, xfs, btrfs} x {512, 4096-byte sectors},
# all LUKS2, in ONE boot: six virtio disks, each a GPT image smaller than
# its disk (grown before boot), then all grown again live with QMP
# block_resize. Keys: two disks carry a TPM2 token that the real
# systemd-cryptenroll 252 made on the host before boot, on the same swtpm
# state the VM then boots with (PCR 16, zero on both: SeaBIOS measures
# into PCR 7, the host swtpm does not); the others get cvm-enroll's token
# in the guest (PCR 7). Checks per disk and growth: the partition ends on
# the last 1 MiB boundary before the relocated backup GPT, the LUKS2
# mapping and the filesystem (per dumpe2fs / xfs_growfs -n / btrfs) fill
# it, file sha256 unchanged, a rerun is a no-op; at the end each fs's own
# checker (e2fsck -fn, xfs_repair -n, btrfs check) finds no error.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/swtpm.sh"
. "$(dirname "$0")/lib/vm.sh"
. "$(dirname "$0")/lib/mkdisk.sh"

require_cmd mkfs.ext4 mkfs.xfs mkfs.btrfs sfdisk losetup systemd-cryptenroll
vm_setup

disk_mib=1024
# Not a round size on purpose: the mappings get 1409 MiB, 1 MiB more than
# eleven 128 MiB ext4 block groups, too little for a 12th group's inode
# table: ext4's online resize stops at 1408 MiB, and a rerun must still
# find nothing to do.
live_mib=1427
# DEV:FSTYPE:SECTOR_SIZE:TOKEN (growroot-lib.sh), in the order of the disks.
disks="vda:ext4:512:sd vdb:xfs:512:cvm vdc:btrfs:512:cvm vdd:ext4:4096:cvm vde:xfs:4096:sd vdf:btrfs:4096:cvm"

content=$VM_TMP/content
mkdir -p "$content/etc" "$content/var/lib/app"
head -c 4M /dev/urandom >"$content/data.bin"
head -c 300K /dev/urandom >"$content/var/lib/app/state.db"
echo "cvm-firstboot growroot matrix" >"$content/etc/motd"
ln -s ../../../data.bin "$content/var/lib/app/data-link"
(cd "$content" && sha256sum data.bin var/lib/app/state.db var/lib/app/data-link etc/motd) >"$VM_TMP/sums"
(umask 077 && head -c 32 /dev/urandom >"$VM_TMP/key")

# The VM's TPM, started on the host first so systemd-cryptenroll seals to it.
tpm=$VM_TMP/tpm
swtpm_start_tcp "$tpm"
sd_enroll() {
        systemd-cryptenroll --tpm2-device="$SWTPM_TCTI" --tpm2-pcrs=16 --unlock-key-file="$VM_TMP/key" "$1" \
                >>"$VM_TMP/cryptenroll.log" 2>&1 || { cat "$VM_TMP/cryptenroll.log"; return 1; }
}

disk_args=()
for d in $disks; do
        IFS=: read -r dev fs ss token <<<"$d"
        # xfs refuses filesystems under 300 MiB; the others stay small so
        # the offline encryption on the host stays quick.
        image_mib=192
        [ "$fs" = xfs ] && image_mib=352
        hook=()
        [ "$token" = sd ] && hook=(--part-hook sd_enroll)
        mkdisk_luks_gpt "$VM_TMP/$dev.img" "$disk_mib" "$image_mib" "$content" "$VM_TMP/key" "$fs" \
                --sector-size "$ss" "${hook[@]}"
        if [ "$ss" = 4096 ]; then
                disk_args+=(--disk-4k "$VM_TMP/$dev.img")
        else
                disk_args+=(--disk "$VM_TMP/$dev.img")
        fi
done
swtpm_stop "$SWTPM_PID"
_vm_forget_exit_action swtpm_stop "$SWTPM_PID"
check_eq "host: systemd-cryptenroll enrolled two disks (PCR 16)" 2 "$(grep -c -F "New TPM2 token enrolled" "$VM_TMP/cryptenroll.log")"

vm_start --scenario "$CVM_SRCDIR/tests/vm/scenarios/growroot-matrix.sh" \
        --file "$CVM_SRCDIR/tests/vm/scenarios/growroot-lib.sh" \
        --file "$VM_TMP/key" --file "$VM_TMP/sums" \
        --env "DISKS=$disks" --env "DISK_MIB=$disk_mib" --env "LIVE_MIB=$live_mib" \
        --tpm-state "$tpm" "${disk_args[@]}" --timeout 900
vm_wait_log 'cvm-ready-for-live-resize'
n=0
for d in $disks; do
        vm_qmp "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"disk$n\",\"size\":$((live_mib * 1048576))}}" \
                >/dev/null
        n=$((n + 1))
done
vm_wait
ok "guest: growroot matrix passed (serial log: $VM_LOG)"

# What the guest measured, per disk and growth (TCG: times are slow and
# only comparable within one run).
_vm_log_text | awk '$1 ~ /^cvm-(grow-ms|noop-ms|tpm2-commands|maxrss-kb)$/ { print "measured: " $2, substr($1, 5), $3 }'
check_done
