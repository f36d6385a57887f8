#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# First boot of a CVM, in a real kernel with dm-crypt and a TPM: the image's
# LUKS2 root opens with a legacy cloud-init key file (/cc_growpart_keydata),
# the disk is bigger than the image. The guest then runs the suite:
#   cvm-enroll tpm2 --unlock-keydata   (a TPM2 token replaces the key file)
#   cvm-growroot                       (partition + LUKS2 via the TPM + ext4, online)
#   cvm-enroll wipe-temporary          (keydata slot and file destroyed)
# and checks the data is intact. Then the host grows the disk live (QMP
# block_resize) and a second cvm-growroot grows everything again — what the
# one-shot key file of cloud-init cannot do.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/swtpm.sh"
. "$(dirname "$0")/lib/vm.sh"
. "$(dirname "$0")/lib/mkdisk.sh"

require_cmd mkfs.ext4 sfdisk
vm_setup

image_mib=256
disk_mib=1024
live_mib=1536

content=$VM_TMP/content
mkdir -p "$content/etc"
head -c 4M /dev/urandom >"$content/data.bin"
echo "cvm-firstboot test root" >"$content/etc/motd"
(cd "$content" && sha256sum data.bin etc/motd) >"$VM_TMP/sums"

# The legacy key: raw key bytes in keyslot 0, and the JSON file cloud-init's
# growpart reads, as RHEL CVM images ship it.
head -c 32 /dev/urandom >"$VM_TMP/key"
printf '{"key": "%s", "slot": 0}\n' "$(base64 -w0 "$VM_TMP/key")" >"$VM_TMP/cc_growpart_keydata"
mkdisk_luks_gpt "$VM_TMP/disk.img" "$disk_mib" "$image_mib" "$content" "$VM_TMP/key"
luks_uuid=$(blkid -p -O 1048576 -s UUID -o value "$VM_TMP/disk.img")

vm_start --scenario "$CVM_SRCDIR/tests/vm/scenarios/firstboot.sh" \
        --disk "$VM_TMP/disk.img" \
        --file "$VM_TMP/key:/files/key" \
        --file "$VM_TMP/cc_growpart_keydata:/cc_growpart_keydata" \
        --file "$VM_TMP/sums:/files/sums" \
        --env "LIVE_MIB=$live_mib" --env "DISK_MIB=$disk_mib" \
        --append "rd.luks.uuid=luks-$luks_uuid" \
        --timeout 600
vm_wait_log 'cvm-ready-for-live-resize'
vm_qmp "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"disk0\",\"size\":$((live_mib * 1024 * 1024))}}" >/dev/null
vm_wait

ok "guest: first boot scenario passed (serial log: $VM_LOG)"
for k in first-grow-ms noop-ms live-grow-ms tpm2-commands maxrss-kb; do
        echo "measured: $k = $(vm_log_values "cvm-$k" | tail -1)"
done
check_done
