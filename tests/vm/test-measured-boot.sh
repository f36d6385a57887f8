#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm tier: measured boot. OVMF with Secure Boot enforced boots a signed UKI
# (systemd-stub + Debian's kernel + the busybox initramfs) twice, the two
# UKIs differing only in their .cmdline. The guest checks that Secure Boot
# is on, that systemd-stub ran and that PCR 7 and 11 were extended; the host
# then compares the PCRs the guests printed: PCR 7 (Secure Boot policy) must
# be the same, PCR 4 (the boot application's hash) and PCR 11 (the UKI's
# sections, measured by systemd-stub) must differ. This is what a TPM policy
# on PCR 7 vs. 4/11 relies on.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/swtpm.sh"
. "$(dirname "$0")/lib/vm.sh"

vm_setup

cat >"$VM_TMP/scenario.sh" <<'EOF'
efi_guid=8be4df61-93ca-11d2-aa0d-00e098032b8c
stub_guid=4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
zero=0000000000000000000000000000000000000000000000000000000000000000

# An EFI variable's file is 4 bytes of attributes, then the data (here one
# byte). Busybox's od ignores -j, hence tail.
secure_boot() {
        [ "$(tail -c 1 /sys/firmware/efi/efivars/SecureBoot-$efi_guid | od -An -tu1 | tr -d ' ')" = 1 ]
}
pcr_extended() {
        [ -n "$1" ] && [ "$1" != "$zero" ]
}

check "TPM 2.0 with a sha256 bank" test -r /sys/class/tpm/tpm0/pcr-sha256/7
check "booted by UEFI" test -d /sys/firmware/efi
check "Secure Boot is enabled" secure_boot
check "systemd-stub started us (StubInfo set)" test -e /sys/firmware/efi/efivars/StubInfo-$stub_guid
echo "cvm-cmdline $(cut -d' ' -f1- /proc/cmdline | tr ' ' '_')"
for i in 4 7 11; do
        v=$(cat /sys/class/tpm/tpm0/pcr-sha256/$i)
        echo "cvm-pcr$i $v"
        eval "pcr$i=\$v"
done
check "PCR 7 (Secure Boot policy) extended" pcr_extended "$pcr7"
check "PCR 4 (boot applications) extended" pcr_extended "$pcr4"
check "PCR 11 (UKI sections) extended" pcr_extended "$pcr11"
EOF

# Same TPM state for both boots: the PCRs reset at each TPM startup, as on a
# reboot of one machine.
vm_run --uefi-uki --scenario "$VM_TMP/scenario.sh" --append cvm.variant=a
log_a=$VM_LOG
uki_a=$VM_UKI
vm_run --uefi-uki --scenario "$VM_TMP/scenario.sh" --append cvm.variant=b
log_b=$VM_LOG
uki_b=$VM_UKI

# section_sha UKI SECTION: sha256 of one PE section's content.
section_sha() {
        objcopy -O binary --only-section="$2" "$1" "$VM_TMP/section"
        sha256sum "$VM_TMP/section" | cut -d' ' -f1
}
# The PCR differences below must come from the command line alone.
for s in .osrel .linux .initrd; do
        check_eq "host: both UKIs have the same $s" "$(section_sha "$uki_a" "$s")" "$(section_sha "$uki_b" "$s")"
done
check_fails "host: the UKIs' .cmdline differ" \
        test "$(section_sha "$uki_a" .cmdline)" = "$(section_sha "$uki_b" .cmdline)"

declare -A a b
for i in 4 7 11; do
        a[$i]=$(vm_log_values "cvm-pcr$i" "$log_a")
        b[$i]=$(vm_log_values "cvm-pcr$i" "$log_b")
        printf 'PCR %-2s  cmdline a: %s\n         cmdline b: %s\n' "$i" "${a[$i]}" "${b[$i]}"
done
differs() {
        [ -n "$1" ] && [ -n "$2" ] && [ "$1" != "$2" ]
}
check_eq "PCR 7 is the same for both command lines" "${a[7]}" "${b[7]}"
check "PCR 4 differs between the command lines" differs "${a[4]}" "${b[4]}"
check "PCR 11 differs between the command lines" differs "${a[11]}" "${b[11]}"
check_done
