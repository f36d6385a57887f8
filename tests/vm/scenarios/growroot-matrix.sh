# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest side of tests/vm/test-growroot-matrix.sh (busybox ash, /scenario.sh).
# $DISKS (see growroot-lib.sh) lists the disks; each is a GPT disk bigger
# than its image with a LUKS2 + ext4/xfs/btrfs partition. For every disk:
#   1. open with the image's key file, mount, (cvm-enroll a TPM2 token where
#      the host did not systemd-cryptenroll one), --dry-run writes nothing,
#      cvm-growroot --root=MNT grows partition + LUKS2 (key unsealed from
#      the TPM) + filesystem, a rerun is a no-op;
#   2. systemd-cryptenroll's tokens are replaced by cvm-enroll's (unlocking
#      with the systemd one), so the second growth uses cvm-enroll's;
#   3. the host grows every disk live (QMP block_resize), cvm-growroot again;
#   4. each filesystem is unmounted and checked by its own fsck.
# Lines "cvm-<name> <dev> <value>" are read back by the host.

. /files/growroot-lib.sh

# One cvm-growroot run on DEV's mount point, checked: exit 0, something
# grown, LUKS2 unlocked through a TPM2 token, then the whole stack spans the
# disk, and a rerun changes nothing.
grow_and_check() {
        local dev=$1 what=$2 out rc t0 t1
        t0=$(now_ms)
        out=$(cvm-growroot --root="/mnt/$dev" --json=short)
        rc=$?
        t1=$(now_ms)
        echo "cvm-demo: $dev $what: $out"
        check_eq "$dev $what: cvm-growroot exit status" 0 "$rc"
        check_eq "$dev $what: cvm-growroot reports a change" true "$(echo "$out" | json_step_field "" changed)"
        check_eq "$dev $what: partition grown" true "$(echo "$out" | json_step_field partition_step changed)"
        check_eq "$dev $what: backup GPT header moved" true \
                "$(echo "$out" | json_step_field partition_step backup_relocated)"
        check_eq "$dev $what: LUKS2 grown" true "$(echo "$out" | json_step_field luks_step changed)"
        check_eq "$dev $what: LUKS2 key unsealed from the TPM" tpm2 \
                "$(echo "$out" | json_step_field luks_step unlocked_with)"
        check_eq "$dev $what: filesystem grown" true "$(echo "$out" | json_step_field filesystem_step changed)"
        check_eq "$dev $what: filesystem type" "$(gr_field "$dev" 2)" \
                "$(echo "$out" | json_step_field filesystem_step type)"
        gr_expect_full "$dev" "$what"
        echo "cvm-grow-ms $dev $((t1 - t0))"
        echo "cvm-tpm2-commands $dev $(echo "$out" | json_step_field luks_step tpm2_commands)"
        echo "cvm-maxrss-kb $dev $(echo "$out" | json_step_field "" maxrss_kb)"

        t0=$(now_ms)
        out=$(cvm-growroot --root="/mnt/$dev" --json=short)
        rc=$?
        t1=$(now_ms)
        check_eq "$dev $what: rerun exit status" 0 "$rc"
        check_eq "$dev $what: rerun is a no-op" false "$(echo "$out" | json_step_field "" changed)"
        check_eq "$dev $what: rerun: partition untouched" false \
                "$(echo "$out" | json_step_field partition_step changed)"
        check_eq "$dev $what: rerun: LUKS2 untouched, no key needed" "false none" \
                "$(echo "$out" | json_step_field luks_step changed) $(echo "$out" | json_step_field luks_step unlocked_with)"
        check_eq "$dev $what: rerun: filesystem untouched" false \
                "$(echo "$out" | json_step_field filesystem_step changed)"
        echo "cvm-noop-ms $dev $((t1 - t0))"
}

# keyslot of the first token of type systemd-tpm2 ("id slot")
first_tpm2_token() {
        cryptsetup token export --token-id "$1" "/dev/${2}1" 2>/dev/null |
                sed -n 's/.*"keyslots":\["\([0-9]*\)".*/\1/p'
}

fsck_ro() { # fsck_ro DEV: the filesystem's own checker, read-only
        case $(gr_field "$1" 2) in
        ext4) e2fsck -f -n "/dev/mapper/gr-$1" ;;
        xfs) xfs_repair -n "/dev/mapper/gr-$1" ;;
        btrfs) btrfs check --readonly "/dev/mapper/gr-$1" ;;
        esac >"/run/fsck-$1.log" 2>&1 || { tail -n 20 "/run/fsck-$1.log"; return 1; }
}

wait_for /dev/tpmrm0
check "TPM device present" test -c /dev/tpmrm0
for dev in $(gr_devs); do
        wait_for "/dev/${dev}1"
done

# --- 1. the disk was grown before boot --------------------------------------
for dev in $(gr_devs); do
        fs=$(gr_field "$dev" 2)
        ss=$(gr_field "$dev" 3)
        echo "cvm-demo: $dev: LUKS2 + $fs, $ss-byte sectors, token by $(gr_field "$dev" 4)," \
                "image partition $(($(part_bytes "$dev") / 1048576)) MiB on a $(($(disk_bytes "$dev") / 1048576)) MiB disk"
        check_eq "$dev: logical sector size" "$ss" "$(cat "/sys/block/$dev/queue/logical_block_size")"
        check_eq "$dev: disk grown before boot" "$DISK_MIB" $(($(disk_bytes "$dev") / 1048576))
        check "$dev: key file opens the LUKS2 partition" gr_open_keyfile "$dev"
        check "$dev: $fs mounts" gr_mount "$dev"
        check "$dev: files intact before growth" sums_ok "$dev"
        if [ "$(gr_field "$dev" 4)" = cvm ]; then
                check "$dev: cvm-enroll tpm2 --pcrs 7" \
                        cvm-enroll tpm2 --device "/dev/${dev}1" --pcrs 7 --unlock-key-file /files/key -q
        else
                check_eq "$dev: systemd-cryptenroll's token (keyslot 1) is there" 1 "$(first_tpm2_token 0 "$dev")"
        fi

        part0=$(part_bytes "$dev")
        lba0=$(gpt_last_lba "$dev")
        fs0=$(fs_bytes "$dev")
        out=$(cvm-growroot --root="/mnt/$dev" --dry-run --json=short)
        check_eq "$dev: --dry-run exit status" 0 $?
        check_eq "$dev: --dry-run plans a partition growth" true \
                "$(echo "$out" | json_step_field partition_step changed)"
        check_eq "$dev: --dry-run changed nothing (partition, GPT, fs)" "$part0 $lba0 $fs0" \
                "$(part_bytes "$dev") $(gpt_last_lba "$dev") $(fs_bytes "$dev")"

        grow_and_check "$dev" "first growth"
done

# --- 2. systemd-cryptenroll's tokens give way to cvm-enroll's ---------------
for dev in $(gr_devs); do
        [ "$(gr_field "$dev" 4)" = sd ] || continue
        check "$dev: cvm-enroll tpm2 unlocking with systemd-cryptenroll's token" \
                cvm-enroll tpm2 --device "/dev/${dev}1" --pcrs 7 --unlock-tpm2 -q
        slot=$(first_tpm2_token 0 "$dev")
        check "$dev: systemd-cryptenroll's token removed" cryptsetup token remove --token-id 0 "/dev/${dev}1"
        check "$dev: its keyslot $slot killed" cryptsetup luksKillSlot -q --key-file /files/key "/dev/${dev}1" "$slot"
        check "$dev: cvm-enroll check: cvm-enroll's token opens the volume" cvm-enroll check --device "/dev/${dev}1" -q
done

# --- 3. the host grows the disks live --------------------------------------
check "guest sees every disk grow live" gr_wait_live_resize cvm-ready-for-live-resize
for dev in $(gr_devs); do
        check_eq "$dev: disk live-resized" "$LIVE_MIB" $(($(disk_bytes "$dev") / 1048576))
        grow_and_check "$dev" "live growth"
done

# --- 4. the grown filesystems are consistent --------------------------------
for dev in $(gr_devs); do
        check "$dev: unmounts" umount "/mnt/$dev"
        check "$dev: $(gr_field "$dev" 2) checker finds no error" fsck_ro "$dev"
        check "$dev: LUKS2 closes" cryptsetup close "gr-$dev"
done
