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
. "$(dirname "$0")/../lib/attest.sh"

require_cmd mkfs.ext4 sfdisk ssh-keygen openssl tpm2_createak
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

# The "cloud": the VM's vTPM gets an AK persisted at 0x81000003 and an AK
# certificate from the cloud's CA in NV, as Azure provisions them; the user
# trusts only that CA. The image's SSH host keys are made here (a real image
# makes them at first boot) so the host can compare what it is offered.
ca=$VM_TMP/ca
attest_ca "$ca" cloud-vtpm-ca
swtpm_start_tcp "$VM_TMP/tpm"
attest_provision_azure "$VM_TMP/ak" "$ca" cloud-vtpm-ca
swtpm_stop "$SWTPM_PID"
attest_ssh_keys "$VM_TMP/ssh"
chmod 600 "$VM_TMP"/ssh/ssh_host_*_key
ssh_files=()
for f in "$VM_TMP"/ssh/ssh_host_*; do
        ssh_files+=(--file "$f:/etc/ssh/$(basename "$f")")
done

vm_start --scenario "$CVM_SRCDIR/tests/vm/scenarios/firstboot.sh" \
        --disk "$VM_TMP/disk.img" \
        --file "$VM_TMP/key:/files/key" \
        --file "$VM_TMP/cc_growpart_keydata:/cc_growpart_keydata" \
        --file "$VM_TMP/sums:/files/sums" \
        "${ssh_files[@]}" \
        --env "LIVE_MIB=$live_mib" --env "DISK_MIB=$disk_mib" \
        --append "rd.luks.uuid=luks-$luks_uuid" \
        --timeout 600
vm_wait_log 'cvm-ready-for-live-resize'
vm_qmp "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"disk0\",\"size\":$((live_mib * 1024 * 1024))}}" >/dev/null
vm_wait

ok "guest: first boot scenario passed (serial log: $VM_LOG)"

# The user, before the first ssh: is the host key offered the one this
# CVM's vTPM attested, per the cloud's CA?
cat "$VM_TMP"/ssh/ssh_host_*_key.pub >"$VM_TMP/offered.pub"
verdict=$("$CVM_VERIFY_HOST" --console-log="$VM_LOG" --host-key-file="$VM_TMP/offered.pub" \
        --ca="$ca/cloud-vtpm-ca.pem" 2>&1) && rc=0 || rc=$?
echo "cvm-verify-host: $verdict"
check_eq "cvm-verify-host accepts the attested host keys from the serial log" 0 "$rc"
attest_ssh_keys "$VM_TMP/fake"
check_fails "cvm-verify-host refuses host keys the vTPM did not attest (a host's fake)" \
        "$CVM_VERIFY_HOST" --console-log="$VM_LOG" --host-key-file="$VM_TMP/fake/ssh_host_ed25519_key.pub" \
        --ca="$ca/cloud-vtpm-ca.pem"
attest_ca "$ca" other-ca
check_fails "cvm-verify-host refuses an AK not certified by the trusted CA" \
        "$CVM_VERIFY_HOST" --console-log="$VM_LOG" --host-key-file="$VM_TMP/offered.pub" \
        --ca="$ca/other-ca.pem"
for k in first-grow-ms noop-ms live-grow-ms tpm2-commands maxrss-kb; do
        echo "measured: $k = $(vm_log_values "cvm-$k" | tail -1)"
done
check_done
