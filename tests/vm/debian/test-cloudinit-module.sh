#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm tier, full system, image kind (b): cloud-init 22.4 stays in charge of
# first boot and runs our config module (dist/cloud-init/cc_cvm_firstboot.py)
# in place of growpart, resizefs and keys-to-console, as listed by
# dist/cloud-init/90-cvm-firstboot-module.cfg. NoCloud seed (a CIDATA vfat
# disk) with user-data; the Debian guest of mkguest.sh, plain ext4 root,
# 2 GiB image on a bigger disk.
#
# One boot (each costs about a minute of TCG):
#   * first boot, growpart defaults: partition + ext4 grown to the disk by the
#     module (sizes from blockdev and dumpe2fs in the guest, expected from
#     the disk size qemu was given); no LUKS, so enroll skips cleanly;
#     cloud-init reports no error; the evidence on the console is verified
#     by cvm-verify-host against the test "cloud" CA and the host keys sshd
#     offers, and its known_hosts lines carry the ssh login
#     (StrictHostKeyChecking=yes); keys-to-console printed nothing.
#   * then, over ssh, the disk grown live (QMP block_resize) and the module
#     run again with `cloud-init --file CFG single --name cvm_firstboot
#     --frequency always` under other settings: mode off,
#     /etc/growroot-disabled, a devices entry that is not mounted,
#     ignore_growroot_disabled + devices: [/dev/vda1] + resize_rootfs false,
#     mode off + resize_rootfs true, resize_rootfs noblock. After each run the
#     partition and filesystem sizes must be exactly what cc_growpart and
#     cc_resizefs would have left.
set -eu -o pipefail

TEST_DIR=$(cd "$(dirname "$0")" && pwd)
. "$TEST_DIR/../../lib/common.sh"
. "$TEST_DIR/../../lib/swtpm.sh"
. "$TEST_DIR/../../lib/attest.sh"
. "$TEST_DIR/../lib/vm.sh"
. "$TEST_DIR/mkguest.sh"
. "$TEST_DIR/cloudinit-lib.sh"

BOOT_TIMEOUT=${CVM_DEB_BOOT_TIMEOUT:-400}
MIB=$((1024 * 1024))
# The image's root partition is CVM_DEB_ROOT_MIB (2048) MiB; the disk is
# bigger at first boot and grows twice more while the guest runs.
DISK0_MIB=2560
DISK1_MIB=2816
DISK2_MIB=3072

customize_module_image() {
        ci_install_cvm "$1"
        install -m 0644 "$CVM_SRCDIR/dist/cloud-init/90-cvm-firstboot-module.cfg" "$1/etc/cloud/cloud.cfg.d/"
}

# sizes: "DISK PART FS" in bytes, as the guest's kernel (blockdev) and
# e2fsprogs (dumpe2fs: block count x block size) see them.
sizes() {
        ci_ssh 'set -e
                d=$(blockdev --getsize64 /dev/vda)
                p=$(blockdev --getsize64 /dev/vda1)
                f=$(dumpe2fs -h /dev/vda1 2>/dev/null |
                    awk -F: "/^Block count/ { c = \$2 } /^Block size/ { s = \$2 } END { printf \"%.0f\\n\", c * s }")
                echo "$d $p $f"
'
}

# resize_disk MIB: grow the disk live and wait until the guest's kernel
# sees the new size (virtio-blk's config-change interrupt).
resize_disk() {
        local mib=$1 _
        vm_qmp "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"disk0\",\"size\":$((mib * MIB))}}" >/dev/null
        for _ in $(seq 1 60); do
                [ "$(ci_ssh blockdev --getsize64 /dev/vda)" = $((mib * MIB)) ] && return 0
                sleep 1
        done
        return 1
}

# A partition "fills" a disk of DISK bytes when it ends within the last MiB
# before the backup GPT (start 1 MiB; growers differ in end alignment), and
# a filesystem fills its partition when less than 1 MiB is left over.
fills_disk() {
        local disk=$1 part=$2
        [ "$part" -le $((disk - MIB - 33 * 512)) ] && [ "$part" -ge $((disk - 2 * MIB - 33 * 512)) ]
}
fills_part() {
        local part=$1 fs=$2
        [ "$fs" -le "$part" ] && [ $((part - fs)) -lt "$MIB" ]
}

# run_module NAME YAML: run the module once more with YAML merged over the
# instance's config (cloud-init --file wins over user-data); the new sizes
# ("DISK PART FS") are left in STEP_SIZES.
run_module() {
        local name=$1 yaml=$2 rc=0 t0
        ci_ssh "cat >/tmp/cvm-step.yaml" <<<"$yaml"
        t0=$(_vm_now)
        ci_ssh cloud-init --file /tmp/cvm-step.yaml single --name cvm_firstboot --frequency always grow \
                >"$VM_TMP/step-$name.out" 2>&1 || rc=$?
        echo "step $name: cloud-init single exit $rc in $(_vm_elapsed "$t0") s" >&2
        check_eq "step $name: cloud-init single --name cvm_firstboot succeeds" 0 "$rc"
        [ "$rc" = 0 ] || sed 's/^/  /' "$VM_TMP/step-$name.out" >&2
        STEP_SIZES=$(sizes)
}

main() {
        local dir ca t0 d p f rc p_prev f_prev
        require_cmd ssh ssh-keygen mkfs.vfat mcopy tpm2_createak openssl
        vm_setup cloudinit-module
        dir=$VM_TMP/guest
        CI_SSH_KEY=$VM_TMP/id_ed25519 CI_KNOWN_HOSTS=$VM_TMP/known_hosts
        ssh-keygen -q -t ed25519 -N '' -C cvm-test -f "$CI_SSH_KEY"

        # The "cloud": an AK persisted in the vTPM with a certificate from
        # the cloud's CA (Azure's layout); the user trusts only that CA.
        ca=$VM_TMP/ca
        attest_ca "$ca" cloud-vtpm-ca
        attest_ca "$ca" other-ca
        swtpm_start_tcp "$VM_TMP/tpm"
        attest_provision_azure "$VM_TMP/ak" "$ca" cloud-vtpm-ca
        swtpm_stop "$SWTPM_PID"

        t0=$(_vm_now)
        deb_guest_image "$dir" customize_module_image
        truncate -s $((DISK0_MIB * MIB)) "$dir/disk.raw"
        {
                ci_userdata_base "$(cat "$CI_SSH_KEY.pub")"
                printf 'growpart:\n  mode: auto\n  devices: ["/"]\n  ignore_growroot_disabled: false\n'
                printf 'resize_rootfs: true\n'
        } >"$VM_TMP/user-data"
        ci_seed "$VM_TMP/seed.img" cvm-cloudinit-module-1 "$VM_TMP/user-data"
        echo "time: guest image $(_vm_elapsed "$t0") s"

        t0=$(_vm_now)
        vm_start --kernel "$dir/vmlinuz" --initrd "$dir/initrd.img" \
                --cmdline "$(cat "$dir/cmdline")" --disk "$dir/disk.raw" --disk "$VM_TMP/seed.img" \
                --tpm-state "$VM_TMP/tpm" --net --timeout 1200 --done 'reboot: Power down'
        ci_wait_evidence "" "$BOOT_TIMEOUT"
        echo "time: boot to evidence + sshd $(_vm_elapsed "$t0") s"
        ci_check_user_side "" "$ca"
        check "keys-to-console printed no host keys" \
                bash -c "! grep -F -e '-----BEGIN SSH HOST KEY KEYS-----' '$VM_LOG' >/dev/null"

        # cloud-init's own view: finished, no module failed, ours ran.
        ci_ssh cloud-init status --wait >/dev/null || :
        ci_ssh cloud-init status --long >"$VM_TMP/status.txt" && rc=0 || rc=$?
        sed 's/^/  /' "$VM_TMP/status.txt"
        check_eq "cloud-init finished without errors" 0 "$rc"
        ci_ssh cloud-init analyze blame >"$VM_TMP/blame.txt" || :
        check "cloud-init ran config-cvm_firstboot" grep -F -e config-cvm_firstboot "$VM_TMP/blame.txt"
        check "cloud-init ran neither growpart nor resizefs" \
                bash -c "! grep -E -e 'config-(growpart|resizefs|keys-to-console|keys_to_console)' '$VM_TMP/blame.txt'"
        echo "cloud-init analyze blame (first boot, top 8):"
        grep -E -e '^ *[0-9.]+s \(' "$VM_TMP/blame.txt" | head -n 8 | sed 's/^/  /' || :
        check "enroll skipped cleanly: / is not LUKS2" \
                ci_ssh 'grep -F -e "/ is not on LUKS2" /var/log/cloud-init.log >/dev/null &&
                           test ! -e /var/lib/cvm-firstboot/enrolled'

        read -r d p f < <(sizes)
        echo "first boot: disk $d, partition $p, ext4 $f bytes"
        check_eq "disk is $DISK0_MIB MiB" $((DISK0_MIB * MIB)) "$d"
        check "first boot: partition grown from 2048 MiB to fill the disk" fills_disk "$d" "$p"
        check "first boot: ext4 grown to fill the partition" fills_part "$p" "$f"

        # --- the settings, each on a disk with room to grow ---------------
        check "disk grown live to $DISK1_MIB MiB" resize_disk "$DISK1_MIB"
        p_prev=$p f_prev=$f

        run_module mode-off 'growpart: {mode: "off"}'
        check_eq "growpart mode off: partition and ext4 unchanged (resize_rootfs cannot grow ext4 alone)" \
                "$((DISK1_MIB * MIB)) $p_prev $f_prev" "$STEP_SIZES"

        ci_ssh touch /etc/growroot-disabled
        run_module growroot-disabled 'growpart: {mode: auto}'
        check_eq "/etc/growroot-disabled: partition and ext4 unchanged" "$((DISK1_MIB * MIB)) $p_prev $f_prev" "$STEP_SIZES"

        run_module not-mounted $'growpart: {devices: ["/srv/none"], ignore_growroot_disabled: true}\nresize_rootfs: false'
        check_eq "devices: a path with nothing mounted: nothing grown" "$((DISK1_MIB * MIB)) $p_prev $f_prev" "$STEP_SIZES"

        run_module devices-noresize \
                $'growpart: {devices: ["/dev/vda1"], ignore_growroot_disabled: true}\nresize_rootfs: false'
        read -r d p f <<<"$STEP_SIZES"
        check "ignore_growroot_disabled + devices [/dev/vda1]: partition grown to the disk" fills_disk "$d" "$p"
        check_eq "resize_rootfs false: ext4 unchanged" "$f_prev" "$f"
        ci_ssh rm -f /etc/growroot-disabled
        p_prev=$p

        run_module fs-only $'growpart: {mode: "off"}\nresize_rootfs: true'
        read -r d p f <<<"$STEP_SIZES"
        check_eq "mode off + resize_rootfs on, partition full: partition unchanged" "$p_prev" "$p"
        check "mode off + resize_rootfs on: ext4 grown to the partition" fills_part "$p" "$f"

        check "disk grown live to $DISK2_MIB MiB" resize_disk "$DISK2_MIB"
        run_module noblock 'resize_rootfs: noblock'
        read -r d p f <<<"$STEP_SIZES"
        check "defaults + resize_rootfs noblock: partition grown to the disk" fills_disk "$d" "$p"
        check "defaults + resize_rootfs noblock: ext4 grown to the partition" fills_part "$p" "$f"
        check_eq "disk is $DISK2_MIB MiB" $((DISK2_MIB * MIB)) "$d"
        # The module's own account of the last run, from cloud-init's log.
        check "cloud-init.log names what the module grew" \
                ci_ssh "grep -E -e \"'--root=/' resized: partition [0-9]+ -> [0-9]+\" /var/log/cloud-init.log >/dev/null"

        ci_ssh systemctl --no-block poweroff || :
        vm_wait || :
        check_done
}

main "$@"
