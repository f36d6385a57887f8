# SPDX-License-Identifier: LGPL-2.1-or-later
# Build test disks for the vm tier on a host without device-mapper. Source
# after common.sh.
#
#   mkdisk_luks_gpt DISK DISK_MIB PART_MIB CONTENT_DIR KEYFILE [FSTYPE]
#       GPT disk of DISK_MIB MiB (sparse) whose partition 1 (1 MiB aligned,
#       PART_MIB MiB) is a LUKS2 volume (PBKDF2, 1000 iterations, as image
#       builders set it for a throwaway build key) holding a FSTYPE (ext4)
#       filesystem made from CONTENT_DIR, unlocked by KEYFILE in keyslot 0.
#       The LUKS2 data segment is "dynamic", so it follows the partition.
#       The GPT is written for an image of PART_MIB + 2 MiB, then the file
#       is grown to DISK_MIB: a disk bigger than its image.
#
# The host kernel cannot write through dm-crypt; the filesystem is made as a
# file (mkfs -d) and encrypted in place by libcryptsetup in userspace
# (`cryptsetup reencrypt --encrypt --reduce-device-size`).

mkdisk_luks_gpt() {
        local disk=$1 disk_mib=$2 part_mib=$3 content=$4 key=$5 fstype=${6:-ext4}
        local part=$disk.part header=32M

        rm -f "$part" "$disk"
        truncate -s "${part_mib}M" "$part"
        # The filesystem leaves the last 32 MiB free: reencrypt shifts the
        # data up by that much to make room for the LUKS2 header.
        case $fstype in
        ext4) mkfs.ext4 -q -b 4096 -d "$content" -L cvmroot "$part" "$((part_mib - 32))M" ;;
        *) die "mkdisk_luks_gpt: unsupported fs '$fstype'" ;;
        esac
        cryptsetup reencrypt --encrypt --type luks2 --batch-mode --reduce-device-size "$header" \
                --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$key" "$part" >/dev/null ||
                die "offline encryption failed"

        # The image is just big enough for its partition, as an image builder
        # makes it; the "cloud" then gives it a bigger disk: the backup GPT
        # header stays at the old end until something moves it.
        truncate -s "$((part_mib + 2))M" "$disk"
        sfdisk -q "$disk" <<<"label: gpt
start=2048, size=$((part_mib * 2048)), type=linux, name=root" || die "sfdisk failed"
        dd if="$part" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none || die "dd failed"
        rm -f "$part"
        truncate -s "${disk_mib}M" "$disk"
}
