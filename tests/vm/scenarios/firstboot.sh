# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest side of tests/vm/test-firstboot.sh (busybox ash, runs as /scenario.sh).
# Lines "cvm-<name> <value>" are read back by the host.

now_ms() {
        awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}
json_field() { # json_field KEY: first "KEY":value in stdin (flat scalars only)
        sed -n "s/.*\"$1\": *\\([^,}]*\\).*/\\1/p" | head -n 1
}
sums_ok() {
        (cd /mnt/root && sha256sum -c /files/sums >/dev/null)
}
slot_count() {
        cryptsetup luksDump /dev/vda1 | grep -c -E '^  [0-9]+: luks2'
}
part_sectors() {
        cat /sys/class/block/vda1/size
}

wait_for /dev/vda1
wait_for /dev/tpmrm0
check "TPM device present" test -c /dev/tpmrm0

# --- initrd: grow the partition before the root volume is opened --------
echo "cvm-demo: image partition $(($(part_sectors) / 2048)) MiB on a ${DISK_MIB} MiB disk"
out=$(cvm-growroot --initrd --json=short)
check_eq "cvm-growroot --initrd finds the root via rd.luks.uuid= and grows it" true \
        "$(echo "$out" | json_field changed)"
# The partition ends on the last 1 MiB boundary before the backup GPT.
check_eq "partition spans the disk (1 MiB aligned)" $(((DISK_MIB - 1 - 1) * 2048)) "$(part_sectors)"
out=$(cvm-growroot --initrd --json=short)
check_eq "cvm-growroot --initrd rerun is a no-op" false "$(echo "$out" | json_field changed)"

# --- the image as it boots: key file opens the root ---------------------
check "legacy key opens the LUKS2 root" cryptsetup open --key-file /files/key /dev/vda1 root
# LUKS2's "dynamic" segment: the mapping covers the grown partition at once.
check_eq "LUKS2 mapping covers the grown partition without a key" \
        $(((DISK_MIB - 2 - 16) * 2048)) "$(cat /sys/block/dm-0/size)"
mkdir -p /mnt/root
check "root filesystem mounts" mount -t ext4 /dev/mapper/root /mnt/root
check "data intact before first boot" sums_ok
size0=$(df -k /mnt/root | awk 'NR == 2 { print $2 }')
echo "cvm-demo: root opened, root fs ${size0} KiB"

# --- first boot ---------------------------------------------------------
check "cvm-enroll tpm2 (unlock with the legacy key file)" \
        cvm-enroll tpm2 --device /dev/vda1 --unlock-keydata=/cc_growpart_keydata --pcrs 7
check "cvm-enroll check --root: the new TPM2 token opens the volume under /" cvm-enroll check --root=/mnt/root

t0=$(now_ms)
out=$(cvm-growroot --root=/mnt/root --json=short)
rc=$?
t1=$(now_ms)
echo "cvm-demo: cvm-growroot: $out"
check_eq "cvm-growroot exit status" 0 "$rc"
check_eq "cvm-growroot reports a change" true "$(echo "$out" | json_field changed)"
check_eq "LUKS2 needed no key (already spans the partition)" '"none"' "$(echo "$out" | json_field unlocked_with)"
echo "cvm-first-grow-ms $((t1 - t0))"

size1=$(df -k /mnt/root | awk 'NR == 2 { print $2 }')
check "root filesystem grew" test "$size1" -gt $((size0 * 3))
check "data intact after growing" sums_ok

t0=$(now_ms)
out=$(cvm-growroot --root=/mnt/root --json=short)
t1=$(now_ms)
check_eq "second run is a no-op" false "$(echo "$out" | json_field changed)"
echo "cvm-noop-ms $((t1 - t0))"

check_eq "keyslots before wipe (key file + TPM)" 2 "$(slot_count)"
check "cvm-enroll wipe-temporary --root (as the first-boot unit runs it)" \
        cvm-enroll wipe-temporary --root=/mnt/root --keydata=/cc_growpart_keydata
check_eq "one keyslot left (the TPM's)" 1 "$(slot_count)"
check_fails "legacy key file destroyed" test -e /cc_growpart_keydata
check_fails "legacy key no longer opens the volume" \
        cryptsetup open --test-passphrase --key-file /files/key /dev/vda1
check "TPM2 token still opens the volume" cvm-enroll check --device /dev/vda1
out=$(cvm-enroll wipe-temporary --device /dev/vda1 --keydata=/cc_growpart_keydata --json=short)
check_eq "wipe-temporary rerun is a no-op" false "$(echo "$out" | json_field changed)"

# --- the disk grows again, live (the cloud resizes a running VM) --------
sectors_before=$(cat /sys/block/vda/size)
echo "cvm-ready-for-live-resize"
n=0
while [ "$(cat /sys/block/vda/size)" = "$sectors_before" ] && [ $n -lt 300 ]; do
        sleep 0.1
        n=$((n + 1))
done
check_eq "guest sees the live-resized disk" $((LIVE_MIB * 2048)) "$(cat /sys/block/vda/size)"
t0=$(now_ms)
out=$(cvm-growroot --root=/mnt/root --json=short)
t1=$(now_ms)
echo "cvm-demo: cvm-growroot after live resize: $out"
check_eq "second growth after a live resize" true "$(echo "$out" | json_field changed)"
check_eq "LUKS2 grown online with the key unsealed from the TPM" '"tpm2"' "$(echo "$out" | json_field unlocked_with)"
check_eq "partition spans the live-resized disk" $(((LIVE_MIB - 2) * 2048)) "$(part_sectors)"
echo "cvm-live-grow-ms $((t1 - t0))"
echo "cvm-tpm2-commands $(echo "$out" | json_field tpm2_commands)"
echo "cvm-maxrss-kb $(echo "$out" | json_field maxrss_kb)"
size2=$(df -k /mnt/root | awk 'NR == 2 { print $2 }')
check "root filesystem grew again" test "$size2" -gt "$size1"
check "data intact after the second growth" sums_ok

# --- publish the attested SSH host-key binding on the console ------------
chmod 600 /etc/ssh/ssh_host_*_key
check "cvm-authcheck quotes the host keys with the vTPM's AK" \
        cvm-authcheck --host-keys-dir=/etc/ssh --console=/dev/console
check "evidence written to /run/cvm-authcheck/evidence.json" test -s /run/cvm-authcheck/evidence.json

umount /mnt/root
cryptsetup close root

# --- for the host's secret scan: the firmware's TPM event log (public
# data), so the host can replay PCR 7 on this TPM's state after power-off
# and unseal the token's secret with tpm2-tools alone.
mkdir -p /sys/kernel/security
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || true
if [ -r /sys/kernel/security/tpm0/binary_bios_measurements ]; then
        od -An -v -tx1 /sys/kernel/security/tpm0/binary_bios_measurements | sed 's/ //g; s/^/cvm-eventlog /'
fi
