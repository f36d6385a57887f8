#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-growroot refuses bad input: the documented exit status (growroot.h,
# cvm-growroot(8): 3 unsupported layout, 4 corrupt or inconsistent table,
# 6 read-only), exactly one line on stderr that names the problem, nothing
# on stdout, the image byte-identical and the kernel's partitions as they
# were. Hostile GPTs come from tests/generators/gpt-corrupt.py and are
# confirmed broken by our own reader (tests/lib/ptable-inspect.py) first.
#
# No repair: when one GPT copy is corrupt the tool stops with status 4
# rather than letting libfdisk rewrite it from the other copy
# (docs/DECISIONS.md, "Growing"); this test holds it to that.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/disk.sh"

require_root
require_cmd sfdisk mkfs.xfs mksquashfs
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"

MiB=1048576
EXIT_UNSUPPORTED=3
EXIT_CORRUPT=4
EXIT_READ_ONLY=6

corrupt() {
        "$CVM_PYTHON" "$CVM_SRCDIR/tests/generators/gpt-corrupt.py" "$LOOP" 512 "$1" >/dev/null
}

# new_disk NAME TABLE [LOSETUP_ARGS...]: a 600 MiB image with the sfdisk
# script TABLE on a loop device, partitions added. Sets IMG, LOOP.
new_disk() {
        local name=$1 table=$2
        shift 2
        IMG=$tmp/$name.img
        rm -f "$IMG"
        truncate -s $((600 * MiB)) "$IMG"
        sfdisk -q "$IMG" <<<"$table" >/dev/null
        loop_attach "$IMG" "$@"
        [ -b "${LOOP}p1" ] || die "partx did not add '${LOOP}p1'"
}

# resize_disk SIZE: the image file (and the loop device) become SIZE bytes.
resize_disk() {
        truncate -s "$1" "$IMG"
        losetup -c "$LOOP"
}

done_disk() {
        loop_release "$LOOP" "$IMG"
        rm -f "$IMG"
}

kernel_parts() {
        local p
        for p in "/sys/class/block/${LOOP##*/}"/"${LOOP##*/}"p*; do
                [ -e "$p" ] || continue
                echo "${p##*/}:$(cat "$p/start"):$(cat "$p/size")"
        done
}

# refused NAME STATUS PHRASE ARGS...: cvm-growroot ARGS must exit STATUS,
# print one line on stderr containing PHRASE and nothing on stdout, and
# leave the image and the kernel's partitions unchanged. Mounted
# filesystems here are read-only (squashfs, xfs on a read-only device), so
# the image can only change if the tool writes it.
refused() {
        local name=$1 status=$2 phrase=$3 k0
        shift 3
        k0=$(kernel_parts)
        RUN_BEFORE=$(image_sum "$IMG")
        RUN_RC=0
        RUN_ERR=$(timeout 60 "$CVM_GROWROOT" "$@" 2>&1 >"$tmp/stdout") || RUN_RC=$?
        RUN_OUT=$(cat "$tmp/stdout")
        RUN_AFTER=$(image_sum "$IMG")
        echo "# $name: exit $RUN_RC: $RUN_ERR"
        check_eq "$name: exit status $status" "$status" "$RUN_RC"
        check_eq "$name: one line on stderr" 1 "$(printf '%s' "$RUN_ERR" | grep -c '')"
        check "$name: stderr says '$phrase'" contains "$RUN_ERR" "$phrase"
        check_eq "$name: nothing on stdout" "" "$RUN_OUT"
        check_eq "$name: image byte-identical" "$RUN_BEFORE" "$RUN_AFTER"
        check_eq "$name: kernel's partitions unchanged" "$k0" "$(kernel_parts)"
}

GPT1='label: gpt
start=2048, size=400MiB, type=L'
DOS1='label: dos
start=2048, size=400MiB, type=83'

# --- Corrupt GPTs, on a grown disk and on one of the table's own size.
for grown in grown same-size; do
        new_disk "primary-header-$grown" "$GPT1"
        corrupt primary-header
        [ $grown = same-size ] || resize_disk $((1000 * MiB))
        ptable_load "$LOOP" 512
        check_eq "primary-header-$grown: generator broke the primary header" 0 "${PT[primary_valid]}"
        if [ $grown = grown ]; then
                # The backup is not at the end: no GPT can be used at all.
                refused "primary-header-$grown" $EXIT_CORRUPT "protective MBR but no valid GPT" \
                        --device="${LOOP}p1"
        else
                refused "primary-header-$grown" $EXIT_CORRUPT "primary GPT table is corrupt" --device="${LOOP}p1"
        fi
        done_disk

        new_disk "primary-entries-$grown" "$GPT1"
        corrupt primary-entries
        [ $grown = same-size ] || resize_disk $((1000 * MiB))
        ptable_load "$LOOP" 512
        check_eq "primary-entries-$grown: generator broke the primary entry array" 0 "${PT[primary_valid]}"
        if [ $grown = grown ]; then
                refused "primary-entries-$grown" $EXIT_CORRUPT "protective MBR but no valid GPT" \
                        --device="${LOOP}p1"
        else
                refused "primary-entries-$grown" $EXIT_CORRUPT "primary GPT table is corrupt" --device="${LOOP}p1"
        fi
        done_disk

        new_disk "backup-header-$grown" "$GPT1"
        corrupt backup-header
        [ $grown = same-size ] || resize_disk $((1000 * MiB))
        ptable_load "$LOOP" 512
        check_eq "backup-header-$grown: primary still valid" 1 "${PT[primary_valid]}"
        check_eq "backup-header-$grown: generator broke the backup header" 0 "${PT[backup_valid]}"
        refused "backup-header-$grown" $EXIT_CORRUPT "backup GPT table is corrupt" --device="${LOOP}p1"
        done_disk
done

# --- Partition 1 is not the last one: partition 2 lies after it.
new_disk not-last 'label: gpt
start=2048, size=200MiB, type=L
size=100MiB, type=L'
resize_disk $((1000 * MiB))
refused not-last $EXIT_UNSUPPORTED "Partition 2 follows partition 1" --device="${LOOP}p1"
done_disk

# --- The disk is smaller than the table claims (the image shrank).
new_disk smaller-backup "$GPT1"
resize_disk $((500 * MiB)) # partition 1 still fits, the backup GPT does not
refused smaller-backup $EXIT_CORRUPT "smaller than its GPT says" --device="${LOOP}p1"
done_disk

new_disk smaller-partition "$GPT1"
resize_disk $((300 * MiB)) # partition 1 itself runs past the end
refused smaller-partition $EXIT_CORRUPT "smaller than its GPT says" --device="${LOOP}p1"
done_disk

new_disk smaller-dos "$DOS1"
resize_disk $((300 * MiB))
refused smaller-dos $EXIT_CORRUPT "disk is smaller than the table claims" --device="${LOOP}p1"
done_disk

# --- A filesystem we don't grow, mounted (squashfs: the host kernel has
# no vfat): refused before the partition grows, since a grown partition
# under a refused filesystem would be a write.
new_disk squashfs "$GPT1"
mkdir "$tmp/sq"
echo hello >"$tmp/sq/file"
mksquashfs "$tmp/sq" "$tmp/sq.img" -quiet -noappend >/dev/null
dd if="$tmp/sq.img" of="${LOOP}p1" bs=64K conv=fsync status=none
mount_at "${LOOP}p1" "$tmp/squashfs.mnt" -t squashfs -o ro
resize_disk $((1000 * MiB))
refused squashfs $EXIT_UNSUPPORTED "only ext4, xfs and btrfs grow" --root="$tmp/squashfs.mnt"
mnt_release "$tmp/squashfs.mnt"
done_disk

# --- Read-only loop device (losetup -r): by device, and as a mounted root.
new_disk read-only "$GPT1" -r
resize_disk $((1000 * MiB))
refused read-only $EXIT_READ_ONLY "is read-only" --device="${LOOP}p1"
done_disk

new_disk read-only-root "$GPT1"
mkfs.xfs -q -f "${LOOP}p1"
loop_release "$LOOP" "$IMG"
loop_attach "$IMG" -r
resize_disk $((1000 * MiB))
mount_at "${LOOP}p1" "$tmp/ro.mnt" -o ro
refused read-only-root $EXIT_READ_ONLY "is read-only" --root="$tmp/ro.mnt"
mnt_release "$tmp/ro.mnt"
done_disk

# A read-only disk with nothing to grow (the partition fills the disk) is
# no error: the every-boot rerun must succeed.
new_disk read-only-nothing-to-do 'label: gpt
start=2048, type=L' -r
rc=0
out=$("$CVM_GROWROOT" --device="${LOOP}p1" --json) || rc=$?
check_eq "read-only, nothing to grow: exit 0" 0 "$rc"
check_eq "read-only, nothing to grow: no change" false "$(json_get "$out" changed)"
done_disk

# --- A logical DOS partition (5, inside extended partition 2).
new_disk dos-logical 'label: dos
start=2048, size=100MiB, type=83
start=206848, size=400MiB, type=5
start=208896, size=200MiB, type=83'
[ -b "${LOOP}p5" ] || die "partx did not add '${LOOP}p5'"
resize_disk $((1000 * MiB))
refused dos-logical $EXIT_UNSUPPORTED "logical DOS partition" --device="${LOOP}p5"
done_disk

# --- --device on something that is not a block device: a regular file
# holding a partition table (which must stay as it is).
IMG=$tmp/not-a-device.img
truncate -s $((600 * MiB)) "$IMG"
sfdisk -q "$IMG" <<<"$GPT1" >/dev/null
truncate -s $((1000 * MiB)) "$IMG"
LOOP=/dev/null-not-a-loop
refused not-a-block-device $EXIT_UNSUPPORTED "is not a block device" --device="$IMG"
rm -f "$IMG"

check_done
