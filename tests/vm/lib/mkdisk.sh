# SPDX-License-Identifier: LGPL-2.1-or-later
# Build test disks for the vm tier on a host without device-mapper. Source
# after common.sh.
#
#   mkdisk_luks_gpt DISK DISK_MIB PART_MIB CONTENT_DIR KEYFILE [FSTYPE [OPTION...]]
#       GPT disk of DISK_MIB MiB (sparse) whose partition 1 (1 MiB aligned,
#       PART_MIB MiB) is a LUKS2 volume (PBKDF2, 1000 iterations, as image
#       builders set it for a throwaway build key) holding a FSTYPE (ext4,
#       xfs or btrfs; default ext4) filesystem made from CONTENT_DIR,
#       unlocked by KEYFILE in keyslot 0. The LUKS2 data segment is
#       "dynamic", so it follows the partition. The GPT is written for an
#       image of PART_MIB + 2 MiB, then the file is grown to DISK_MIB: a
#       disk bigger than its image. xfs needs PART_MIB >= 332 (mkfs.xfs
#       refuses filesystems under 300 MiB). Options:
#         --sector-size 4096   for a disk with 4096-byte logical sectors
#                              (vm_start --disk-4k): the GPT is written in
#                              4096-byte sectors and LUKS2 encrypts in
#                              4096-byte sectors (default 512: the
#                              historical behaviour, LUKS2 sector size left
#                              to cryptsetup)
#         --part-hook CMD      run `CMD PART_IMAGE` on the LUKS2 partition
#                              image before it goes into the disk (e.g. to
#                              enroll a token with systemd-cryptenroll, which
#                              takes an image file but not a GPT disk)
#
# The host kernel cannot write through dm-crypt; the filesystem is made as a
# file (mkfs.ext4 -d, mkfs.btrfs --rootdir, mkfs.xfs -p PROTOFILE: Debian
# 12's xfsprogs has no -d DIR, but its protofile populates regular files,
# directories and symlinks) and encrypted in place by libcryptsetup in
# userspace (`cryptsetup reencrypt --encrypt --reduce-device-size`).

# _mkdisk_xfs_proto DIR: an mkfs.xfs protofile (xfsprogs' proto.c format)
# describing DIR: one line per entry, mode string, uid, gid, and for regular
# files and symlinks the host source. Names with blanks can't be expressed.
_mkdisk_xfs_proto() {
        local dir=$1
        echo /dev/null # "boot image" line, ignored
        echo "0 0"     # inode and block counts, ignored
        echo "d--755 0 0"
        _mkdisk_xfs_proto_dir "$dir"
        echo '$'
}

_mkdisk_xfs_proto_dir() {
        local dir=$1 path name mode
        for path in "$dir"/* "$dir"/.[!.]*; do
                [ -e "$path" ] || [ -L "$path" ] || continue
                name=${path##*/}
                [[ $name != *[[:space:]]* ]] || die "mkdisk: '$path': xfs protofiles cannot name it"
                mode=$(stat -c %a "$path")
                mode=$(printf %03o $((8#$mode & 8#777)))
                if [ -L "$path" ]; then
                        echo "$name l--$mode 0 0 $(readlink "$path")"
                elif [ -d "$path" ]; then
                        echo "$name d--$mode 0 0"
                        _mkdisk_xfs_proto_dir "$path"
                        echo '$'
                elif [ -f "$path" ]; then
                        echo "$name ---$mode 0 0 $(readlink -f "$path")"
                else
                        die "mkdisk: '$path': only files, directories and symlinks go into an xfs image"
                fi
        done
}

# _mkdisk_sfdisk IMAGE SECTOR_SIZE < SCRIPT: write a partition table in
# SECTOR_SIZE-byte sectors. util-linux 2.38's sfdisk has no --sector-size
# and takes 512 for a file, so a 4096-byte table is written through a loop
# device with 4096-byte logical blocks (the host kernel parses no
# partitions: tell it nothing).
_mkdisk_sfdisk() {
        local img=$1 ss=$2 loop rc=0
        if [ "$ss" = 512 ]; then
                sfdisk -q "$img" || die "sfdisk failed"
                return 0
        fi
        loop=$(losetup --sector-size "$ss" --find --show "$img") || die "losetup --sector-size $ss failed"
        sfdisk -q --no-reread --no-tell-kernel "$loop" || rc=$?
        losetup -d "$loop"
        [ "$rc" = 0 ] || die "sfdisk failed on $loop"
}

mkdisk_luks_gpt() {
        local disk=$1 disk_mib=$2 part_mib=$3 content=$4 key=$5 fstype=${6:-ext4}
        local part=$disk.part header=32M ss=512 hook='' fs_mib spm
        local -a luks_ss=()
        shift $(($# < 6 ? $# : 6))
        while [ $# -gt 0 ]; do
                case $1 in
                --sector-size) ss=$2; shift ;;
                --part-hook) hook=$2; shift ;;
                *) die "mkdisk_luks_gpt: unknown option '$1'" ;;
                esac
                shift
        done
        case $ss in
        512) ;;
        4096) luks_ss=(--sector-size 4096) ;;
        *) die "mkdisk_luks_gpt: sector size '$ss' is neither 512 nor 4096" ;;
        esac
        spm=$((1048576 / ss)) # sectors per MiB

        rm -f "$part" "$disk"
        truncate -s "${part_mib}M" "$part"
        # The filesystem leaves the last 32 MiB free: reencrypt shifts the
        # data up by that much to make room for the LUKS2 header.
        fs_mib=$((part_mib - 32))
        case $fstype in
        ext4) mkfs.ext4 -q -b 4096 -d "$content" -L cvmroot "$part" "${fs_mib}M" ;;
        xfs)
                [ "$fs_mib" -ge 300 ] || die "mkdisk_luks_gpt: xfs needs PART_MIB >= 332"
                _mkdisk_xfs_proto "$content" >"$disk.proto"
                # 4096-byte xfs sectors mount on 512- and 4096-byte devices
                # alike (a 512-byte one would not mount on a 4K disk).
                mkfs.xfs -q -f -L cvmroot -s size=4096 -d size="${fs_mib}m" -p "$disk.proto" "$part" ||
                        die "mkfs.xfs failed"
                rm -f "$disk.proto"
                ;;
        btrfs)
                mkfs.btrfs -q -f -L cvmroot --byte-count "${fs_mib}M" --rootdir "$content" "$part" >/dev/null ||
                        die "mkfs.btrfs failed"
                ;;
        *) die "mkdisk_luks_gpt: unsupported fs '$fstype'" ;;
        esac
        cryptsetup reencrypt --encrypt --type luks2 --batch-mode --reduce-device-size "$header" \
                "${luks_ss[@]}" --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$key" "$part" >/dev/null ||
                die "offline encryption failed"
        if [ -n "$hook" ]; then
                $hook "$part" || die "mkdisk_luks_gpt: '$hook $part' failed"
        fi

        # The image is just big enough for its partition, as an image builder
        # makes it; the "cloud" then gives it a bigger disk: the backup GPT
        # header stays at the old end until something moves it.
        truncate -s "$((part_mib + 2))M" "$disk"
        _mkdisk_sfdisk "$disk" "$ss" <<<"label: gpt
start=$spm, size=$((part_mib * spm)), type=linux, name=root"
        dd if="$part" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none || die "dd failed"
        rm -f "$part"
        truncate -s "${disk_mib}M" "$disk"
}
