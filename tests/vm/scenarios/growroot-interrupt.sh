# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest side of tests/vm/test-growroot-interrupt.sh (busybox ash). One boot
# of a chain; the kernel command line says what this boot does:
#   cvm.verify=POINT    the previous boot was cut at POINT: open every disk
#                       with its TPM2 token, check the files, let a plain
#                       cvm-growroot finish the job (full size, rerun no-op),
#                       check the filesystem with its own checker
#   cvm.first           first boot: open with the image's key file, enroll
#                       cvm-enroll's TPM2 token where the host did not make
#                       a systemd-cryptenroll one
#   cvm.abort_at=POINT  then (after the host grew the disks live, except on
#                       the first boot, whose disks were grown before it)
#                       run CVM_TEST_ABORT_AT=POINT cvm-growroot on every
#                       disk and cut the power (no sync)
# Result lines for the host: "cvm-injected POINT DEV RC",
# "cvm-recovered POINT DEV yes|no", "cvm-intact POINT DEV yes|no".

. /files/growroot-lib.sh

fsck_ro() {
        case $(gr_field "$1" 2) in
        ext4) e2fsck -f -n "/dev/mapper/gr-$1" ;;
        xfs) xfs_repair -n "/dev/mapper/gr-$1" ;;
        btrfs) btrfs check --readonly "/dev/mapper/gr-$1" ;;
        esac >"/run/fsck-$1.log" 2>&1 || { tail -n 20 "/run/fsck-$1.log"; return 1; }
}

fails_before=0
count_fails() { # 0 also before the first result (no file yet)
        local n
        n=$(grep -c '^fail$' "$CVM_RESULTS" 2>/dev/null)
        echo "${n:-0}"
}

wait_for /dev/tpmrm0
for dev in $(gr_devs); do
        wait_for "/dev/${dev}1"
done

if point=$(cmdline_arg cvm.verify); then
        for dev in $(gr_devs); do
                fails_before=$(count_fails)
                check "$dev after a cut at $point: its TPM2 token opens the volume" tpm_open "$dev"
                check "$dev after a cut at $point: mounts" gr_mount "$dev"
                intact=no
                sums_ok "$dev" && intact=yes
                check_eq "$dev after a cut at $point: files intact (sha256)" yes "$intact"
                echo "cvm-intact $point $dev $intact"
                out=$(cvm-growroot --root="/mnt/$dev" --json=short)
                rc=$?
                echo "cvm-demo: $dev recovery after $point: $out"
                check_eq "$dev after a cut at $point: plain cvm-growroot succeeds" 0 "$rc"
                gr_expect_full "$dev" "after a cut at $point"
                out=$(cvm-growroot --root="/mnt/$dev" --json=short)
                check_eq "$dev after a cut at $point: rerun is a no-op" false "$(echo "$out" | json_step_field "" changed)"
                check "$dev after a cut at $point: unmounts" umount "/mnt/$dev"
                check "$dev after a cut at $point: $(gr_field "$dev" 2) checker finds no error" fsck_ro "$dev"
                check "$dev after a cut at $point: mounts again" gr_mount "$dev"
                recovered=no
                [ "$(count_fails)" = "$fails_before" ] && recovered=yes
                echo "cvm-recovered $point $dev $recovered"
        done
elif cmdline_arg cvm.first >/dev/null; then
        for dev in $(gr_devs); do
                check "$dev: key file opens the LUKS2 partition" gr_open_keyfile "$dev"
                check "$dev: mounts" gr_mount "$dev"
                check "$dev: files intact" sums_ok "$dev"
                if [ "$(gr_field "$dev" 4)" = cvm ]; then
                        check "$dev: cvm-enroll tpm2 --pcrs 7" \
                                cvm-enroll tpm2 --device "/dev/${dev}1" --pcrs 7 --unlock-key-file /files/key -q
                fi
        done
        # The enrollment is set-up, not under test: make it durable.
        sync
fi

if point=$(cmdline_arg cvm.abort_at); then
        if ! cmdline_arg cvm.first >/dev/null; then
                check "guest sees every disk grow live" gr_wait_live_resize cvm-ready-for-live-resize
        fi
        for dev in $(gr_devs); do
                CVM_TEST_ABORT_AT=$point cvm-growroot --root="/mnt/$dev" >/run/abort.out 2>/run/abort.err
                rc=$?
                echo "cvm-injected $point $dev $rc"
                check_eq "$dev: cvm-growroot died at $point" 134 "$rc"
                check "$dev: ... and said where" grep -F "test hook: aborting at '$point'" /run/abort.err
        done
        # Flush the serial console, not the disks.
        echo "cvm-guest: $(grep -c '^ok$' "$CVM_RESULTS" 2>/dev/null) passed, $(count_fails) failed before the cut"
        power_cut
fi
