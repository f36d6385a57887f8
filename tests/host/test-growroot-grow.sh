#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-growroot grows a plain (unencrypted) root online on loop devices:
# {gpt, dos} x {xfs, btrfs} with 512-byte sectors and gpt x {xfs, btrfs}
# with 4096-byte sectors. A 400 MiB partition on a 600 MiB image holds a
# mounted filesystem with a few files; the image file grows to an odd size
# (not a whole number of MiB) and the loop device is told (losetup -c).
#
# The expected table is computed here from the specifications, not from
# the tool's code, and read back with our own reader
# (tests/lib/ptable-inspect.py): the partition keeps its start and ends on
# the last 1 MiB boundary at or below the last usable sector (GPT: the
# backup entry array (128 entries x 128 bytes) and header occupy the last
# 16384/SS + 1 sectors; dos: the last sector is usable), the primary GPT
# points at a valid backup in the last sector, the protective MBR covers
# the disk. The kernel's partition size (sysfs) must equal the table's, the
# filesystem must fill the partition, the files must be unchanged.
#
# "Nothing written" is proved on the whole image (sha256), with the
# filesystem frozen (fsfreeze) around the command: a mounted xfs or btrfs
# may write on its own at any time (log covering, commits), so comparing an
# unfrozen image could fail for reasons that are not the tool's, and
# unmounting to compare would not show what the tool does to a mounted
# root. Frozen, the filesystem writes nothing; a filesystem resize by the
# tool would block until the thaw (tests/lib/disk.sh: frozen_run thaws
# after 20 s and reports status 124).
#
# At the end: grow and no-op rerun time of cvm-growroot against growpart +
# xfs_growfs on identical images, medians of 5 (printed, not asserted).
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/disk.sh"

require_root
require_cmd sfdisk mkfs.xfs mkfs.btrfs xfs_info btrfs df
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"

MiB=1048576
# The image grows from 600 MiB to 1000 MiB plus a few sectors, so the
# aligned end is not simply "the end minus the GPT backup".
grown_size() {
        echo $((1000 * MiB + 777 * $1))
}

# Last sector of the grown partition: the last usable sector (GPT: before
# the 16384-byte backup entry array and the backup header; dos: the last
# sector), then down to a 1 MiB boundary: end + 1 is a multiple of the
# grain, the largest such <= last usable + 1.
expected_end() {
        local n=$1 ss=$2 label=$3 last grain
        if [ "$label" = gpt ]; then
                last=$((n - 1 - 16384 / ss - 1)) # 512: n - 34; 4096: n - 6
        else
                last=$((n - 1))
        fi
        grain=$((MiB / ss))
        echo $(((last + 1) / grain * grain - 1))
}

fs_bytes() {
        local fs=$1 mnt=$2
        case $fs in
        xfs)
                xfs_info "$mnt" | sed -n 's/^data *= *bsize=\([0-9]*\) *blocks=\([0-9]*\),.*/\1 \2/p' |
                        (read -r bs blocks && echo $((bs * blocks)))
                ;;
        btrfs)
                btrfs filesystem usage -b "$mnt" | sed -n 's/^[[:space:]]*Device size:[[:space:]]*\([0-9]*\)$/\1/p'
                ;;
        esac
}

df_bytes() {
        df -B1 --output=size "$1" | tail -n 1 | tr -d ' '
}

now_ns() {
        date +%s%N
}

ms_since() {
        echo $((($(now_ns) - $1) / 1000000))
}

# make_image NAME LABEL FS SS: a 600 MiB image on a loop device with a
# 400 MiB partition at 1 MiB, FS on it, mounted at $tmp/NAME.mnt with a few
# files whose checksums are in $tmp/NAME.sums. Sets IMG, LOOP, PART, MNT.
make_image() {
        local name=$1 label=$2 fs=$3 ss=$4
        IMG=$tmp/$name.img
        MNT=$tmp/$name.mnt
        rm -f "$IMG"
        truncate -s $((600 * MiB)) "$IMG"
        loop_attach "$IMG" --sector-size "$ss"
        PART=${LOOP}p1
        printf 'label: %s\nstart=%s, size=%s, type=L\n' "$label" $((MiB / ss)) $((400 * MiB / ss)) |
                sfdisk -q --no-reread --no-tell-kernel "$LOOP" >/dev/null
        partx -a "$LOOP"
        [ -b "$PART" ] || die "partx did not add '$PART'"
        case $fs in
        xfs) mkfs.xfs -q -f "$PART" ;;
        btrfs) mkfs.btrfs -q -f "$PART" >/dev/null ;;
        esac
        mount_at "$PART" "$MNT"
        mkdir "$MNT/dir"
        head -c $((3 * MiB + 123)) /dev/urandom >"$MNT/random"
        seq 1 100000 >"$MNT/dir/numbers"
        echo "$name" >"$MNT/dir/name"
        (cd "$MNT" && sha256sum random dir/numbers dir/name) >"$tmp/$name.sums"
        sync
}

# grow_image SS: grow the image file and tell the loop device.
grow_image() {
        truncate -s "$(grown_size "$1")" "$IMG"
        losetup -c "$LOOP"
}

kernel_size() {
        cat "/sys/class/block/${PART##*/}/size"
}

grow_case() {
        local label=$1 fs=$2 ss=$3
        local name=$label-$fs-$ss n want_end start old_fs old_df new_fs part_bytes out rc t0 ms_grow ms_rerun k0 verify
        local plan_part plan_fs
        echo "# $name"
        make_image "$name" "$label" "$fs" "$ss"
        ptable_load "$LOOP" "$ss"
        start=${PT[part1_start]}
        check_eq "$name: partition 1 starts at 1 MiB" $((MiB / ss)) "$start"
        old_fs=$(fs_bytes "$fs" "$MNT")
        old_fs=${old_fs:-0}
        old_df=$(df_bytes "$MNT")

        grow_image "$ss"
        n=$(sectors "$LOOP")
        check_eq "$name: the loop device sees the grown image" $(($(grown_size "$ss") / ss)) "$n"
        want_end=$(expected_end "$n" "$ss" "$label")

        # --dry-run: the plan shows what would happen, nothing is written.
        k0=$(kernel_size)
        frozen_run "$MNT" "$IMG" "$CVM_GROWROOT" --root="$MNT" --dry-run --json
        out=$RUN_OUT
        check_eq "$name: --dry-run exits 0" 0 "$RUN_RC"
        check_eq "$name: --dry-run leaves the image byte-identical" "$RUN_BEFORE" "$RUN_AFTER"
        check_eq "$name: --dry-run does not tell the kernel" "$k0" "$(kernel_size)"
        check_eq "$name: --dry-run reports dry_run" true "$(json_get "$out" dry_run)"
        check_eq "$name: --dry-run reports nothing changed" false "$(json_get "$out" changed)"
        check_eq "$name: --dry-run plans to grow the partition" true "$(json_get "$out" partition_step.changed)"
        check_eq "$name: --dry-run plans the partition's new size" $(((want_end - start + 1) * ss)) \
                "$(json_get "$out" partition_step.new_size)"
        check_eq "$name: --dry-run plans to grow the filesystem" true "$(json_get "$out" filesystem_step.changed)"
        plan_part=$(json_get "$out" partition_step.new_size)
        plan_fs=$(json_get "$out" filesystem_step.new_size)

        # The real run.
        t0=$(now_ns)
        rc=0
        out=$("$CVM_GROWROOT" --root="$MNT" --json) || rc=$?
        ms_grow=$(ms_since "$t0")
        check_eq "$name: cvm-growroot exits 0" 0 "$rc"
        check_eq "$name: it reports a change" true "$(json_get "$out" changed)"
        check_eq "$name: it reports the label" "\"$label\"" "$(json_get "$out" partition_step.label)"
        check_eq "$name: the partition grew as --dry-run planned" "$plan_part" \
                "$(json_get "$out" partition_step.new_size)"
        check_eq "$name: the filesystem grew as --dry-run planned" "$plan_fs" \
                "$(json_get "$out" filesystem_step.new_size)"

        # sfdisk 2.38 exits 0 even when it reports "1 error detected":
        # read what it says.
        verify=$(sfdisk --verify "$LOOP" 2>&1) || true
        check "$name: sfdisk --verify finds no errors" contains "$verify" "No errors detected"

        ptable_load "$LOOP" "$ss"
        check_eq "$name: still a $label table" "$label" "${PT[label]}"
        check_eq "$name: partition 1 keeps its start" "$start" "${PT[part1_start]}"
        check_eq "$name: partition 1 ends at the last usable sector aligned down to 1 MiB" "$want_end" \
                "${PT[part1_end]}"
        if [ "$label" = gpt ]; then
                check_eq "$name: primary GPT header and entries valid" 1 "${PT[primary_valid]}"
                check_eq "$name: primary header's AlternateLBA is the last sector" $((n - 1)) \
                        "${PT[alternate_lba]}"
                check_eq "$name: backup GPT at AlternateLBA valid, same entries" 1 "${PT[backup_valid]}"
                check_eq "$name: LastUsableLBA is before the backup array" $((n - 2 - 16384 / ss)) \
                        "${PT[last_usable]}"
                check_eq "$name: protective MBR covers the disk" $((n - 1)) "${PT[pmbr_size]}"
        fi
        check_eq "$name: kernel's partition size equals the table's" $(((want_end - start + 1) * ss / 512)) \
                "$(kernel_size)"
        check_eq "$name: kernel's partition start equals the table's" $((start * ss / 512)) \
                "$(cat "/sys/class/block/${PART##*/}/start")"

        new_fs=$(fs_bytes "$fs" "$MNT")
        new_fs=${new_fs:-0}
        part_bytes=$(((want_end - start + 1) * ss))
        check "$name: $fs grew ($old_fs -> $new_fs bytes)" test "$new_fs" -gt "$old_fs"
        check "$name: $fs fills the partition (within 1 MiB of $part_bytes bytes)" \
                test "$new_fs" -le "$part_bytes" -a $((part_bytes - new_fs)) -lt "$MiB"
        check "$name: df shows the growth" test "$(df_bytes "$MNT")" -gt "$old_df"
        check "$name: file checksums unchanged" \
                bash -c 'cd "$1" && sha256sum --quiet -c "$2"' - "$MNT" "$tmp/$name.sums"

        # The rerun: nothing to do, nothing written.
        frozen_run "$MNT" "$IMG" "$CVM_GROWROOT" --root="$MNT" --json
        out=$RUN_OUT
        check_eq "$name: rerun exits 0" 0 "$RUN_RC"
        check_eq "$name: rerun reports no change" false "$(json_get "$out" changed)"
        check_eq "$name: rerun: partition step has nothing to do" false "$(json_get "$out" partition_step.changed)"
        check_eq "$name: rerun: filesystem step has nothing to do" false \
                "$(json_get "$out" filesystem_step.changed)"
        check_eq "$name: rerun leaves the image byte-identical" "$RUN_BEFORE" "$RUN_AFTER"
        t0=$(now_ns)
        "$CVM_GROWROOT" --root="$MNT" >/dev/null
        ms_rerun=$(ms_since "$t0")
        echo "# $name: grow ${ms_grow} ms, no-op rerun ${ms_rerun} ms"

        mnt_release "$MNT"
        loop_release "$LOOP" "$IMG"
        rm -f "$IMG"
}

for label in gpt dos; do
        for fs in xfs btrfs; do
                grow_case "$label" "$fs" 512
        done
done
for fs in xfs btrfs; do
        grow_case gpt "$fs" 4096
done

# Informative: cvm-growroot against growpart (cloud-guest-utils) +
# xfs_growfs, each on a fresh identical image (gpt, xfs, 512-byte sectors)
# grown the same way. Medians of 5 of the grow and of the no-op rerun.
median() {
        printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"
}
bench() {
        local tool=$1 i t0 grow=() rerun=()
        for i in 1 2 3 4 5; do
                make_image "bench-$tool-$i" gpt xfs 512
                grow_image 512
                t0=$(now_ns)
                if [ "$tool" = cvm-growroot ]; then
                        "$CVM_GROWROOT" --root="$MNT" >/dev/null
                else
                        growpart "$LOOP" 1 >/dev/null && xfs_growfs -d "$MNT" >/dev/null 2>&1
                fi
                grow+=("$(ms_since "$t0")")
                t0=$(now_ns)
                if [ "$tool" = cvm-growroot ]; then
                        "$CVM_GROWROOT" --root="$MNT" >/dev/null
                else
                        # growpart says NOCHANGE with exit status 1.
                        { growpart "$LOOP" 1 >/dev/null || [ $? = 1 ]; } && xfs_growfs -d "$MNT" >/dev/null 2>&1
                fi
                rerun+=("$(ms_since "$t0")")
                mnt_release "$MNT"
                loop_release "$LOOP" "$IMG"
                rm -f "$IMG"
        done
        echo "# $tool: grow median $(median "${grow[@]}") ms (${grow[*]}), no-op rerun median" \
             "$(median "${rerun[@]}") ms (${rerun[*]})"
}
if command -v growpart >/dev/null && [ "${CVM_GROWROOT_BENCH:-1}" = 1 ]; then
        bench cvm-growroot
        bench growpart+xfs_growfs
else
        echo "# growpart not installed (or CVM_GROWROOT_BENCH=0): no comparison"
fi

check_done
