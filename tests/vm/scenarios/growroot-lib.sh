# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest-side helpers shared by the growroot-* scenarios (busybox ash). The
# host passes this file with `--file .../growroot-lib.sh` and the scenario
# sources /files/growroot-lib.sh. Disks are described by the host in $DISKS,
# one word per disk: DEV:FSTYPE:SECTOR_SIZE:TOKEN (e.g. vdb:xfs:4096:cvm,
# TOKEN = sd for a systemd-cryptenroll token made on the host, cvm for one
# cvm-enroll makes in the guest). Disk DEV's LUKS2 partition is DEV1, opened
# as gr-DEV, its filesystem mounted on /mnt/DEV. /files/key opens keyslot 0
# of every disk, /files/sums holds the sha256 of the content (relative
# paths). Sizes below are in MiB unless a name says otherwise.

GR_LUKS_OFFSET_MIB=16 # mkdisk_luks_gpt: reencrypt --reduce-device-size 32M

gr_field() { # gr_field DEV FIELD: 1 dev, 2 fstype, 3 sector size, 4 token
        local d
        for d in $DISKS; do
                case $d in
                "$1":*) echo "$d" | cut -d: -f"$2"; return 0 ;;
                esac
        done
        return 1
}
gr_devs() {
        local d
        for d in $DISKS; do echo "${d%%:*}"; done
}

now_ms() {
        awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# Flat JSON: the value of KEY inside the object STEP of cvm-growroot
# --json=short output on stdin ("" = top level; the top-level "changed"
# comes last, after the step objects).
json_step_field() {
        local step=$1 key=$2 obj
        obj=$(cat)
        if [ -n "$step" ]; then
                obj=$(echo "$obj" | sed -n "s/.*\"$step\": *{\\([^}]*\\)}.*/\\1/p")
        else
                obj=$(echo "$obj" | sed 's/"[a-z_]*_step": *{[^}]*}//g')
        fi
        echo "$obj" | sed -n "s/.*\"$key\": *\"\\{0,1\\}\\([^,}\"]*\\).*/\\1/p" | head -n 1
}

# Sizes as the kernel and the tools other than cvm-growroot see them, bytes.
disk_bytes() { echo $(($(cat "/sys/block/$1/size") * 512)); }
part_start_bytes() { echo $(($(cat "/sys/block/$1/${1}1/start") * 512)); }
part_bytes() { echo $(($(cat "/sys/block/$1/${1}1/size") * 512)); }
dm_bytes() { # dm_bytes MAPPING
        local d
        for d in /sys/block/dm-*; do
                if [ "$(cat "$d/dm/name")" = "$1" ]; then
                        echo $(($(cat "$d/size") * 512))
                        return 0
                fi
        done
        return 1
}
luks_offset_bytes() { # from dm-crypt's table, as cryptsetup reads it back
        echo $(($(cryptsetup status "$1" | awk '$1 == "offset:" { print $2 }') * 512))
}
fs_bytes() { # fs_bytes DEV: the mounted filesystem's size per its own tools
        local dev=$1 mnt=/mnt/$1
        case $(gr_field "$dev" 2) in
        ext4)
                dumpe2fs -h "/dev/mapper/gr-$dev" 2>/dev/null |
                        awk -F: '$1 == "Block count" { c = $2 } $1 == "Block size" { s = $2 } END { print c * s }'
                ;;
        xfs)
                xfs_growfs -n "$mnt" | sed -n 's/^data *= *bsize=\([0-9]*\) *blocks=\([0-9]*\),.*/\1 \2/p' |
                        awk '{ print $1 * $2 }'
                ;;
        btrfs)
                btrfs filesystem show --raw "$mnt" | awk '$1 == "devid" && $2 == 1 { print $4 }'
                ;;
        esac
}

# fs_usable_bytes DEV BYTES: how much of a BYTES device DEV's filesystem
# can span. xfs and btrfs: all of it (growroot aligns to 1 MiB, far above
# xfs's 64-block minimum last AG). ext4: ext4_resize_fs() leaves out a last
# block group too small to hold its own metadata (group start + overhead +
# 2 + inode table blocks + cluster ratio >= end: the group is dropped), as
# resize2fs does; computed here from dumpe2fs's numbers.
fs_usable_bytes() {
        local dev=$1 bytes=$2
        [ "$(gr_field "$dev" 2)" = ext4 ] || { echo "$bytes"; return 0; }
        dumpe2fs -h "/dev/mapper/gr-$dev" 2>/dev/null | awk -F': *' -v bytes="$bytes" '
                $1 == "Block size" { bs = $2 }
                $1 == "Blocks per group" { bpg = $2 }
                $1 == "First block" { first = $2 }
                $1 == "Inode blocks per group" { itb = $2 }
                $1 == "Reserved GDT blocks" { rgdt = $2 }
                $1 == "Group descriptor size" { dsz = $2 }
                $1 == "Filesystem features" { sparse = ($2 ~ /sparse_super/) }
                function power_of(n, b) { while (n > 1 && n % b == 0) n /= b; return n == 1 }
                function has_super(g) { return !sparse || g <= 1 || power_of(g, 3) || power_of(g, 5) || power_of(g, 7) }
                END {
                        if (!dsz) dsz = 32
                        n = int(bytes / bs)
                        g = int((n - 1 - first) / bpg)
                        start = first + g * bpg
                        ov = has_super(g) ? 1 + int((g + 1 + bs / dsz - 1) / (bs / dsz)) + rgdt : 0
                        if (start + ov + 2 + itb + 1 >= n) n = start
                        printf "%d\n", n * bs
                }'
}

# Last usable LBA of a GPT whose backup header is at the disk's end
# (128 entries x 128 bytes), and what sfdisk reads from the table.
gpt_want_last_lba() { # DEV
        local ss n
        ss=$(cat "/sys/block/$1/queue/logical_block_size")
        n=$(($(disk_bytes "$1") / ss))
        echo $((n - 2 - 16384 / ss))
}
gpt_last_lba() {
        sfdisk -d "/dev/$1" 2>/dev/null | awk '$1 == "last-lba:" { print $2 }'
}
gpt_clean() { # sfdisk --verify finds nothing (it exits 0 even when it does)
        local out
        out=$(sfdisk --verify "/dev/$1" 2>&1)
        case $out in
        *"not on the end"* | *mismatch* | *[0-9]" error detected"* | *[0-9]" errors detected"*) ;;
        *"No errors detected."*) return 0 ;;
        esac
        echo "$out"
        return 1
}

sums_ok() { # sums_ok DEV
        (cd "/mnt/$1" && sha256sum -c /files/sums >/dev/null)
}

# gr_expect_full DEV LABEL: partition, LUKS2 mapping and filesystem span the
# disk: the partition starts at 1 MiB and ends on the last 1 MiB boundary
# before the backup GPT (for a whole number of MiB of disk: 1 MiB before its
# end), the mapping is the partition minus the LUKS2 header, the filesystem
# is the mapping; the backup GPT header is at the end of the disk.
gr_expect_full() {
        local dev=$1 what=$2 disk_mib part_want
        disk_mib=$(($(disk_bytes "$dev") / 1048576))
        part_want=$(((disk_mib - 2) * 1048576))
        check_eq "$dev $what: partition starts at 1 MiB" 1048576 "$(part_start_bytes "$dev")"
        check_eq "$dev $what: partition ends 1 MiB before the disk's end" "$part_want" "$(part_bytes "$dev")"
        check_eq "$dev $what: backup GPT at the disk's end (last usable LBA)" \
                "$(gpt_want_last_lba "$dev")" "$(gpt_last_lba "$dev")"
        check "$dev $what: sfdisk --verify is clean" gpt_clean "$dev"
        check_eq "$dev $what: LUKS2 mapping = partition - header" \
                $((part_want - GR_LUKS_OFFSET_MIB * 1048576)) "$(dm_bytes "gr-$dev")"
        check_eq "$dev $what: LUKS2 data offset as made on the host" \
                $((GR_LUKS_OFFSET_MIB * 1048576)) "$(luks_offset_bytes "gr-$dev")"
        check_eq "$dev $what: $(gr_field "$dev" 2) fills the mapping" \
                "$(fs_usable_bytes "$dev" $((part_want - GR_LUKS_OFFSET_MIB * 1048576)))" "$(fs_bytes "$dev")"
        check "$dev $what: files intact (sha256)" sums_ok "$dev"
}

# Open DEV's LUKS2 partition as gr-DEV with keyslot 0's key file (what the
# image's first boot has before any TPM enrollment), mount it.
gr_open_keyfile() {
        cryptsetup open --key-file /files/key --key-slot 0 "/dev/${1}1" "gr-$1"
}
gr_mount() { # $GR_MOUNT_OPTS: extra mount options (e.g. noinit_itable)
        mkdir -p "/mnt/$1"
        mount -t "$(gr_field "$1" 2)" ${GR_MOUNT_OPTS:+-o "$GR_MOUNT_OPTS"} "/dev/mapper/gr-$1" "/mnt/$1"
}

# tpm_open DEV: open DEV1 as gr-DEV with its first systemd-tpm2 token, as
# systemd-cryptsetup would: unseal the token's blob under its PCR policy
# (cvm-testtool, which prints the secret: tests only), passphrase = base64
# of the secret, tried on the token's own keyslot only.
tpm_open() {
        local dev=$1 id json pcrs alg policy slot
        id=$(cryptsetup luksDump "/dev/${dev}1" | sed -n '/^Tokens:/,/^Digests:/p' |
                awk '$2 == "systemd-tpm2" { sub(":", "", $1); print $1; exit }')
        [ -n "$id" ] || { echo "tpm_open: no systemd-tpm2 token on /dev/${dev}1"; return 1; }
        json=$(cryptsetup token export --token-id "$id" "/dev/${dev}1") || return 1
        echo "$json" | sed -n 's/.*"tpm2-blob":"\([^"]*\)".*/\1/p' | base64 -d >"/run/blob-$dev" || return 1
        pcrs=$(echo "$json" | sed -n 's/.*"tpm2-pcrs":\[\([0-9,]*\)\].*/\1/p' | tr , +)
        alg=$(echo "$json" | sed -n 's/.*"tpm2-primary-alg":"\([a-z]*\)".*/\1/p')
        policy=$(echo "$json" | sed -n 's/.*"tpm2-policy-hash":"\([0-9a-f]*\)".*/\1/p')
        slot=$(echo "$json" | sed -n 's/.*"keyslots":\["\([0-9]*\)".*/\1/p')
        cvm-testtool unseal auto "$pcrs" "/run/blob-$dev" "${alg:-ecc}" "$policy" 2>/dev/null |
                xxd -r -p | base64 | tr -d '\n' |
                cryptsetup open --key-file - --key-slot "$slot" "/dev/${dev}1" "gr-$dev"
}

# The host's block_resize handshake: announce, then wait until every disk
# of $DISKS has grown past the size it had (30 s at most).
gr_wait_live_resize() {
        local tag=$1 dev n before=""
        for dev in $(gr_devs); do
                before="$before $dev:$(cat "/sys/block/$dev/size")"
        done
        echo "$tag"
        n=0
        while [ $n -lt 300 ]; do
                local grown=1 b
                for b in $before; do
                        [ "$(cat "/sys/block/${b%%:*}/size")" != "${b#*:}" ] || grown=0
                done
                [ $grown = 1 ] && return 0
                usleep 100000
                n=$((n + 1))
        done
        return 1
}
