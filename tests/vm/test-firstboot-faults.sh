#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The first boot's jobs in a real kernel when the machine is not as they
# expect (issue #9): no TPM, the TPM in dictionary-attack lockout, PCR 7
# changed after enrollment, the disk shrunk below its GPT's claim, a
# read-only disk, a full /run. The guest (scenarios/firstboot-faults.sh)
# runs cvm-growroot, cvm-enroll convert-import / tpm2 / wipe-temporary /
# check and cvm-authcheck as the units run them; each must exit with the
# status its man page documents (and test-tpm-faults / test-growroot-bad /
# test-enroll-pcr-change expect on the host) with one error line saying
# why, the LUKS2 header area must be unchanged, the image's key must still
# open the volume and the files be intact. A last boot with every condition
# removed must finish the jobs. Boots (one TPM state, as one machine):
#   1 setup    enroll a TPM2 token on the E disks (one per TPM condition)
#   2 notpm    qemu without a TPM
#   3 lockout  the swtpm put in lockout on the host with tpm2-tools
#   4 mixed    lockout cleared; disk S shrunk under the running VM (QMP
#              block_resize, asked for by the guest), disk R read-only
#              (BLKROSET), /run filled, then PCR 7 extended
#   5 normal   S's cut-off tail given back; everything must complete
# The host checks that each disk's LUKS2 header area hashes the same in
# boots 1-4 (the guest prints it at the end of each boot).
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/swtpm.sh"
. "$(dirname "$0")/lib/vm.sh"
. "$(dirname "$0")/lib/mkdisk.sh"

require_cmd mkfs.ext4 sfdisk ssh-keygen tpm2_dictionarylockout tpm2_getcap
# PCR 7 is extended in the guest with tpm2-tools (the busybox guest then
# carries /usr/bin/tpm2 and its libraries).
# shellcheck disable=SC2034 # read by vm_setup (lib/vm.sh)
VM_EXTRA_TOOLS="tpm2_pcrextend"
vm_setup

content=$VM_TMP/content
mkdir -p "$content/etc"
head -c 2M /dev/urandom >"$content/data.bin"
echo "cvm-firstboot faults" >"$content/etc/motd"
(cd "$content" && sha256sum data.bin etc/motd) >"$VM_TMP/sums"
(umask 077 && head -c 32 /dev/urandom >"$VM_TMP/key")
attest_keys=$VM_TMP/ssh
mkdir -p "$attest_keys"
ssh-keygen -q -t ed25519 -N '' -C '' -f "$attest_keys/ssh_host_ed25519_key"

# F, S, R: images as shipped (keyslot 0 = the key, also in the legacy key
# file); E: no key file (what a finished first boot leaves, except that
# keyslot 0 stays so the test can show it still opens).
for d in vdb vde vdf; do
        mkdisk_luks_gpt "$VM_TMP/$d.img" 96 64 "$content" "$VM_TMP/key"
done
printf '{"key": "%s", "slot": 0}\n' "$(base64 -w0 "$VM_TMP/key")" >"$content/cc_growpart_keydata"
chmod 600 "$content/cc_growpart_keydata"
for d in vda vdc vdd; do
        mkdisk_luks_gpt "$VM_TMP/$d.img" 96 64 "$content" "$VM_TMP/key"
done
rm -f "$content/cc_growpart_keydata"
all_disks="vda vdb vdc vdd vde vdf"
disks="" disk_args=()
for d in $all_disks; do
        disks+=" $d:ext4:512:cvm"
        disk_args+=(--disk "$VM_TMP/$d.img")
done
disks=${disks# }

# S shrinks to 65.5 MiB: partition 1 (1 MiB + 64 MiB) still fits, the
# backup GPT (written for a 66 MiB image) does not.
shrink_bytes=$((131 * 512 * 1024))
shrink_sectors=$((shrink_bytes / 512))

logs=()
boot() { # boot PHASE [vm_start OPTION...]
        local phase=$1
        shift
        vm_start --scenario "$CVM_SRCDIR/tests/vm/scenarios/firstboot-faults.sh" \
                --file "$CVM_SRCDIR/tests/vm/scenarios/growroot-lib.sh" \
                --file "$VM_TMP/key" --file "$VM_TMP/sums" \
                --file "$attest_keys/ssh_host_ed25519_key:/etc/ssh/ssh_host_ed25519_key" \
                --file "$attest_keys/ssh_host_ed25519_key.pub:/etc/ssh/ssh_host_ed25519_key.pub" \
                --env "DISKS=$disks" --append "cvm.phase=$phase cvm.shrink_sectors=$shrink_sectors" \
                "${disk_args[@]}" --timeout 600 "$@"
        if [ "$phase" = mixed ]; then
                vm_wait_log '^cvm-guest: shrink vdc now$' || { vm_kill; die "the guest never asked to shrink vdc"; }
                # A copy of what is cut off, to give it back before boot 5.
                dd if="$VM_TMP/vdc.img" of="$VM_TMP/vdc.tail" bs=512 skip="$shrink_sectors" status=none
                vm_qmp "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"disk2\",\"size\":$shrink_bytes}}" >/dev/null
        fi
        vm_wait
        logs+=("$VM_LOG")
}

in_lockout() {
        tpm2_getcap properties-variable | sed -n 's/^ *inLockout: *//p'
}

boot setup
boot notpm --no-tpm

saved_tcti=${TPM2TOOLS_TCTI:-}
swtpm_start_tcp "$VM_TMP/tpm"
check "host: the VM's TPM put in dictionary-attack lockout" swtpm_lockout "$VM_TMP/lockout-ctx"
swtpm_stop "$SWTPM_PID"
export TPM2TOOLS_TCTI=$saved_tcti
boot lockout

swtpm_start_tcp "$VM_TMP/tpm"
check_eq "host: the lockout survived the boot (a reboot does not clear it)" 1 "$(in_lockout)"
tpm2_dictionarylockout -Q -c
check_eq "host: lockout cleared (tpm2_dictionarylockout -c)" 0 "$(in_lockout)"
swtpm_stop "$SWTPM_PID"
export TPM2TOOLS_TCTI=$saved_tcti
boot mixed

check_eq "host: qemu shrank vdc's image" "$shrink_bytes" "$(stat -c %s "$VM_TMP/vdc.img")"
cat "$VM_TMP/vdc.tail" >>"$VM_TMP/vdc.img"
check_eq "host: vdc's tail given back" $((96 * 1024 * 1024)) "$(stat -c %s "$VM_TMP/vdc.img")"
boot normal

# The header area of each disk, boot by boot: only boot 5 may change it.
for d in $all_disks; do
        sums=$(for l in "${logs[@]:0:4}"; do
                _vm_log_text "$l" | awk -v d="$d" '$1 == "cvm-header" && $3 == d { print $4 }'
        done | sort -u)
        echo "# $d: LUKS2 header area sha256 in boots 1-4: $(echo "$sums" | tr '\n' ' ')"
        check_eq "$d: one LUKS2 header area hash over boots 1-4 (4 boots printed it)" \
                "1 4" "$(echo "$sums" | grep -c .) $(for l in "${logs[@]:0:4}"; do
                        _vm_log_text "$l" | awk -v d="$d" '$1 == "cvm-header" && $3 == d'; done | wc -l)"
done

echo "--- job exit statuses (boot phase, job, status) ---"
for l in "${logs[@]}"; do
        _vm_log_text "$l" | awk '$1 == "cvm-job" { $1 = ""; print substr($0, 2) }'
done
failed_jobs=$(cat "${logs[@]}" | tr -d '\r' | awk '$1 == "cvm-job" && $2 != "normal" && $2 != "setup" && $NF != 0' | wc -l)
echo "conditions: 6 (no TPM, lockout, PCR 7 changed, disk shrunk, read-only disk, full /run);" \
        "refusals checked: $failed_jobs; boots: $VM_BOOTS"
check_done
