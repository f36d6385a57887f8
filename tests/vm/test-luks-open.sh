#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm tier smoke test: a LUKS2 volume made on the host opens through dm-crypt
# in the guest, and a file put on it by the host reads back unchanged.
#
# The host kernel has no device-mapper, so the host cannot luksFormat and then
# write through dm-crypt. Instead it builds the ext4 image with `mkfs.ext4 -d`
# and encrypts it in place with `cryptsetup reencrypt --encrypt
# --reduce-device-size`, which works offline on an image file (libcryptsetup
# encrypts in userspace and shifts the data to make room for the header).
# The disk has 4096-byte sectors, as many CVM disks do.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/swtpm.sh"
. "$(dirname "$0")/lib/vm.sh"

require_cmd mkfs.ext4
vm_setup

content=$VM_TMP/content
img=$VM_TMP/luks.img
mkdir "$content"
head -c 1M /dev/urandom >"$content/payload"
echo cvm-plaintext-marker >"$content/marker"
want=$(sha256sum "$content/payload" | cut -d' ' -f1)
(umask 077 && head -c 32 /dev/urandom >"$VM_TMP/key")

# 32 MiB of ext4 in a 64 MiB file: reencrypt needs the other 32 MiB for the
# LUKS2 header. PBKDF2 with 1000 iterations keeps the guest's unlock fast.
truncate -s 64M "$img"
mkfs.ext4 -q -b 4096 -d "$content" -L cvmtest "$img" 32M
cryptsetup reencrypt --encrypt --type luks2 --batch-mode --reduce-device-size 32M \
        --sector-size 4096 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
        --key-file "$VM_TMP/key" "$img" >/dev/null

marker_in_image() {
        grep -a -F cvm-plaintext-marker "$img" >/dev/null
}
check "host: image is LUKS2" cryptsetup isLuks --type luks2 "$img"
check_fails "host: plaintext marker no longer readable in the image" marker_in_image
check "host: key file unlocks the keyslot" \
        cryptsetup open --test-passphrase --key-file "$VM_TMP/key" "$img"

cat >"$VM_TMP/scenario.sh" <<'EOF'
module_loaded() {
        grep "^$1 " /proc/modules >/dev/null
}
status_has() {
        cryptsetup status cvmtest | grep -E "$1" >/dev/null
}

check_eq "disk has 4096-byte logical blocks" 4096 "$(cat /sys/block/vda/queue/logical_block_size)"
check "dm_crypt module loaded" module_loaded dm_crypt
check "cryptsetup opens the LUKS2 volume" cryptsetup open --key-file /files/key /dev/vda cvmtest
check "mapping is LUKS2 aes-xts-plain64" status_has 'cipher: +aes-xts-plain64'
mkdir -p /mnt/luks
check "ext4 on it mounts" mount -t ext4 -o ro /dev/mapper/cvmtest /mnt/luks
got=$(sha256sum /mnt/luks/payload | cut -d' ' -f1)
echo "cvm-sha256 $got"
check_eq "payload sha256 matches the host's" "$WANT_SHA256" "$got"
umount /mnt/luks
check "cryptsetup closes it" cryptsetup close cvmtest
EOF

vm_run --scenario "$VM_TMP/scenario.sh" --disk-4k "$img" --file "$VM_TMP/key" --env "WANT_SHA256=$want"
check_eq "host: guest read back the host's sha256" "$want" "$(vm_log_values cvm-sha256)"
check_done
