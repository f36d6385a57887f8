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
# one-shot key file of cloud-init cannot do. Last, secret hygiene: the disk
# image and the serial log hold none of the legacy key, the volume key and
# the TPM-sealed secret (unsealed independently with tpm2-tools).
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/swtpm.sh"
. "$(dirname "$0")/lib/vm.sh"
. "$(dirname "$0")/lib/mkdisk.sh"
. "$(dirname "$0")/../lib/attest.sh"
. "$(dirname "$0")/../lib/tpm2-oracle.sh"
. "$(dirname "$0")/../lib/secret-scan.sh"

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
# luks_header OUT: the LUKS2 header (the partition starts at 1 MiB, the
# header is 32 MiB) as a file cryptsetup reads without a loop device.
luks_header() {
        dd if="$VM_TMP/disk.img" of="$1" bs=1M skip=1 count=32 status=none
}
# For the secret scan after the boot: the volume key, from the image as
# built, with the key the test knows (independent of our code).
luks_header "$VM_TMP/header0"
cryptsetup luksDump -q --dump-volume-key --volume-key-file "$VM_TMP/volume.key" --key-file "$VM_TMP/key" \
        "$VM_TMP/header0" >/dev/null

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
# --- Secret hygiene: no secret the test knows is in the disk image or the
# serial log after the whole first boot (the busybox guest has no journal;
# its logs all went to the serial console). The secrets: the legacy key,
# the volume key, and the secret cvm-enroll sealed to the vTPM, unsealed
# here with tpm2-tools alone from the VM's TPM state after it stopped.
luks_header "$VM_TMP/header1"
tid=$(cryptsetup luksDump --dump-json-metadata "$VM_TMP/header1" | python3 -c 'import json, sys
t = json.load(sys.stdin)["tokens"]
print(" ".join(i for i in t if t[i]["type"] == "systemd-tpm2"))')
check_eq "one systemd-tpm2 token after the first boot" 1 "$(wc -w <<<"$tid")"
# The guest's PCR 7, from the evidence it printed on the console (the quote
# it is in was verified above). A host swtpm on the same state starts with
# PCRs reset: replay the PCR 7 events of the firmware's event log, which the
# guest printed as hex (crypto-agile TCG format, parsed here).
pcr7=$(python3 - "$VM_LOG" <<'PY'
import base64, json, re, sys
log = open(sys.argv[1], errors="replace").read().replace("\r", "")
blocks = re.findall(r"-----BEGIN CVM HOST KEY ATTESTATION-----\n(.*?)-----END CVM HOST KEY ATTESTATION-----", log, re.S)
ev = json.loads(base64.b64decode("".join(l.strip() for l in blocks[-1].splitlines())))
print(ev["pcrs"]["sha256"]["7"].lower())
PY
)
vm_log_values cvm-eventlog | tr -d '\n' | python3 -c 'import sys
open(sys.argv[1], "wb").write(bytes.fromhex(sys.stdin.read().strip()))' "$VM_TMP/eventlog.bin"
swtpm_start_tcp "$VM_TMP/tpm"
pcr_now() { tpm2_pcrread sha256:7 | sed -n 's/.*7 *: *0x//p' | tr A-F a-f; }
oracle_replay_eventlog "$VM_TMP/eventlog.bin" 7
check_eq "host swtpm reproduces the guest's PCR 7" "$pcr7" "$(pcr_now)"
oracle_unseal_token "$VM_TMP/header1" "$tid" 7 "$VM_TMP/tpm.secret"
swtpm_stop "$SWTPM_PID"
# The independent proof that this is the slot's secret: its base64 opens
# the volume (as systemd-cryptsetup uses it).
base64 -w0 "$VM_TMP/tpm.secret" >"$VM_TMP/tpm.pass"
check "the secret unsealed by tpm2-tools opens the volume" \
        cryptsetup open --test-passphrase --key-file "$VM_TMP/tpm.pass" "$VM_TMP/header1"
hexof() { od -An -v -tx1 "$1" | tr -d ' \n'; }
{
        echo "legacy-key $(hexof "$VM_TMP/key")"
        echo "volume-key $(hexof "$VM_TMP/volume.key")"
        echo "tpm2-sealed-secret $(hexof "$VM_TMP/tpm.secret")"
} >"$VM_TMP/secrets"
check "secret scan: no known secret in the disk image or the serial log" \
        secret_scan "$VM_TMP/secrets" "$VM_TMP/disk.img" "$VM_LOG"
# Positive control on the same data: the scan finds a secret that is there.
{ cat "$VM_LOG"; base64 -w0 "$VM_TMP/volume.key"; } >"$VM_TMP/planted.log"
check_fails "secret scan: positive control (volume key planted in a copy of the serial log) is found" \
        secret_scan "$VM_TMP/secrets" "$VM_TMP/planted.log"

for k in first-grow-ms noop-ms live-grow-ms tpm2-commands maxrss-kb; do
        echo "measured: $k = $(vm_log_values "cvm-$k" | tail -1)"
done
check_done
