#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm tier, full system, image kind (b) on an encrypted root: cloud-init 22.4
# in charge of first boot, our config module (cc_cvm_firstboot.py, from the
# .deb) listed by 90-cvm-firstboot-module.cfg, on the CVM image of
# mkguest.sh deb_cvm_image: a 2 GiB LUKS2 root whose only keyslot 0 holds
# the image-build key, which also sits in the legacy /cc_growpart_keydata,
# on a bigger disk; a vTPM (swtpm) with an AK certified by a test "cloud CA".
# The image is set up as docs/CLOUD-INIT.md tells kind (b) images: kind
# (a)'s drop-in removed, cvm-growroot/cvm-enroll-firstboot/cvm-authcheck
# disabled; cvm.growroot=0 cvm.enroll=0 on the command line also keep the
# initrd unit from growing the partition, so the module does all of it.
#
# Two images, one first boot each (≈ 4 min with the ssh checks under TCG on
# a loaded 2-core host; the whole test ≈ 9 min), checked from the host
# and over ssh:
#   legacy: the image as today's CVM images ship it (build key + key file);
#   sealed: the same, plus a keyslot and cvm-tpm2-import token that
#     `cvm-enroll seal-offline` sealed on the host to this VM's swtpm SRK
#     (systemd's ECC template, tpm2-tools) and PCR 7 (as the legacy guest
#     read it: same firmware, no Secure Boot); the module must convert that
#     token (the systemd-tpm2 token owns the import token's keyslot: no
#     fresh slot was added) and still wipe the temporary keys.
# Each boot:
#   * cloud-init finished without errors, ran config-cvm_firstboot and no
#     growpart/resizefs/keys-to-console; none of our units ran;
#   * the module enrolled (its log line, the shared stamp) and grew the
#     root: partition to the last MiB before the backup GPT of the disk qemu
#     was given, the LUKS2 mapping = partition - data offset (cryptsetup's
#     JSON), ext4 = mapping (dumpe2fs);
#   * cryptsetup's JSON: slot 0 gone, the only keyslot is a systemd-tpm2
#     token's (sealed: the import token's slot), no other token;
#     /cc_growpart_keydata gone; the build key opens nothing; systemd's TPM2 token plugin opens the root
#     (cryptsetup --token-only) and `cvm-enroll check --root=/` passes;
#   * the evidence on the console is accepted by cvm-verify-host
#     --console-log --ca for the keys sshd offers (the ssh logins use only
#     the keys it verified), and refused under another CA;
#   * files the image shipped (a random payload, /usr/bin, /usr/sbin,
#     cloud-init's package) have the sha256 they had in the image.
set -eu -o pipefail

TEST_DIR=$(cd "$(dirname "$0")" && pwd)
. "$TEST_DIR/../../lib/common.sh"
. "$TEST_DIR/../../lib/swtpm.sh"
. "$TEST_DIR/../../lib/attest.sh"
. "$TEST_DIR/../lib/vm.sh"
. "$TEST_DIR/mkguest.sh"
. "$TEST_DIR/cloudinit-lib.sh"

BOOT_TIMEOUT=${CVM_DEB_BOOT_TIMEOUT:-600}
DISK_MIB=2560
export CVM_DEB_DISK_MIB=$DISK_MIB CVM_DEB_ROOT_MIB=2048
STAMP=/var/lib/cvm-firstboot/enrolled
# What the image ships and first boot must leave intact.
SHIPPED="usr/bin usr/sbin usr/lib/python3/dist-packages/cloudinit srv/cvm-payload"

# Kind (b) as docs/CLOUD-INIT.md sets it up, with the package's own files.
customize_kind_b() {
        local root=$1 cfg=usr/share/cvm-firstboot/cloud-init/90-cvm-firstboot-module.cfg
        [ -f "$root/$cfg" ] || die "the package installed no /$cfg"
        install -m 0644 "$root/$cfg" "$root/etc/cloud/cloud.cfg.d/"
        rm -f "$root/etc/cloud/cloud.cfg.d/90-cvm-firstboot.cfg"
        deb_chroot "$root" systemctl disable cvm-growroot.service cvm-enroll-firstboot.service \
                cvm-authcheck.service >/dev/null 2>&1
        install -d -m 0755 "$root/srv/cvm-payload"
        head -c $((16 * 1024 * 1024)) /dev/urandom >"$root/srv/cvm-payload/random.bin"
        # shellcheck disable=SC2086 # SHIPPED is a list of paths
        (cd "$root" && find $SHIPPED -type f -print0 | sort -z | xargs -0 sha256sum) >"$VM_TMP/shipped.sha256"
}

# sizes: "PARTITION_SECTORS DM_SECTORS FS_BYTES" of the root, from sysfs,
# blockdev and dumpe2fs in the guest.
sizes() {
        ci_ssh 'echo $(cat /sys/class/block/vda1/size) $(blockdev --getsz /dev/mapper/root) \
                $(dumpe2fs -h /dev/mapper/root 2>/dev/null |
                  awk -F: "/^Block count/ { c = \$2 } /^Block size/ { s = \$2 } END { printf \"%.0f\", c * s }")'
}

# never_started UNIT: systemd has no start of UNIT in this boot.
never_started() {
        [ "$(ci_ssh systemctl show -p ExecMainStartTimestampMonotonic --value "$1")" = 0 ]
}

# seal_offline PART: the image builder's side of an offline-sealed image.
seal_offline() {
        "$CVM_ENROLL" -q seal-offline --device="$1" --unlock-key-file="$DEB_IMAGE_KEY" \
                --srk-pub="$VM_TMP/srk.pub" --pcrs=7 --pcr-values="7=$PCR7"
}

# first_boot KIND: build KIND's image (legacy|sealed), boot it once with a
# fresh provisioned vTPM and check everything the header lists.
first_boot() {
        local kind=$1 img=$VM_TMP/img-$1 t0 rc part dm fs slots toks off summary want_slot='' want_token='' enrolled=''
        local tpm=$VM_TMP/tpm-$kind u
        CI_KNOWN_HOSTS=$VM_TMP/known_hosts-$kind
        echo "=== guest $kind ==="
        swtpm_start_tcp "$tpm"
        attest_provision_azure "$VM_TMP/ak-$kind" "$ca" cloud-vtpm-ca >/dev/null
        if [ "$kind" = sealed ]; then
                # The SRK systemd uses (ECC P-256 primary), as an image
                # builder reads it (docs/IMPORT-TOKEN.md).
                tpm2_createprimary -Q -C o -g sha256 -G ecc256:null:aes128cfb \
                        -a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth' \
                        -c "$VM_TMP/srk.ctx"
                tpm2_readpublic -Q -c "$VM_TMP/srk.ctx" -o "$VM_TMP/srk.pub"
                tpm2_flushcontext -t
        fi
        swtpm_stop "$SWTPM_PID"

        t0=$(_vm_now)
        if [ "$kind" = sealed ]; then
                DEB_LUKS_PART_HOOK=seal_offline deb_cvm_image "$img" customize_kind_b
                # The import token's keyslot, from the image as built
                # (cryptsetup's JSON of the header at the partition's 1 MiB).
                dd if="$img/disk.raw" of="$VM_TMP/header-$kind" bs=1M skip=1 count=32 status=none
                want_slot=$(cryptsetup luksDump --dump-json-metadata "$VM_TMP/header-$kind" | python3 -c '
import json, sys
t = [t for t in json.load(sys.stdin)["tokens"].values() if t["type"] == "cvm-tpm2-import"]
print(t[0]["keyslots"][0] if len(t) == 1 and len(t[0]["keyslots"]) == 1 else "")')
                echo "$kind image: keyslots|tokens|data offset:" \
                        "$(cryptsetup luksDump --dump-json-metadata "$VM_TMP/header-$kind" | deb_luks_summary offset)"
                check "$kind: the image has one cvm-tpm2-import token on a slot of its own" \
                        eval '[[ $want_slot =~ ^[1-9][0-9]*$ ]]'
                want_token=$(cryptsetup luksDump --dump-json-metadata "$VM_TMP/header-$kind" | python3 -c '
import json, sys
print(" ".join(i for i, t in json.load(sys.stdin)["tokens"].items() if t["type"] == "cvm-tpm2-import"))')
                # The module says it converted that token, not that it sealed a new key.
                enrolled="root LUKS2 volume: offline-sealed key converted for this TPM (cvm-tpm2-import token"
                enrolled="$enrolled $want_token), temporary keys wiped"
        else
                deb_cvm_image "$img" customize_kind_b
                enrolled="root LUKS2 volume: key sealed to this TPM, temporary keys wiped"
        fi
        echo "time: $kind: CVM image (package, LUKS2 disk, initrd) $(_vm_elapsed "$t0") s"
        check_eq "$kind: the disk is $DISK_MIB MiB" $((DISK_MIB * 1024 * 1024)) "$(stat -c %s "$img/disk.raw")"
        ci_seed "$VM_TMP/seed-$kind.img" "cvm-cloudinit-module-luks-$kind" "$VM_TMP/user-data"

        t0=$(_vm_now)
        vm_start --kernel "$img/vmlinuz" --initrd "$img/initrd.img" \
                --cmdline "$(cat "$img/cmdline") cvm.growroot=0 cvm.enroll=0" \
                --disk "$img/disk.raw" --disk "$VM_TMP/seed-$kind.img" \
                --tpm-state "$tpm" --net --timeout $((BOOT_TIMEOUT * 2)) --done 'reboot: Power down'
        ci_wait_evidence "$kind" "$BOOT_TIMEOUT"
        echo "time: $kind: boot to evidence + sshd $(_vm_elapsed "$t0") s"
        ci_check_user_side "$kind" "$ca"

        # cloud-init's view: finished, nothing failed, our module ran.
        ci_ssh cloud-init status --wait >/dev/null || :
        ci_ssh cloud-init status --long >"$VM_TMP/status-$kind.txt" && rc=0 || rc=$?
        sed "s/^/  $kind: /" "$VM_TMP/status-$kind.txt"
        check_eq "$kind: cloud-init finished without errors" 0 "$rc"
        check "$kind: cloud-init status names no error" \
                bash -c "! grep -i -E -e '^ *errors?: *\\[?[^] ]' '$VM_TMP/status-$kind.txt'"
        ci_ssh cloud-init analyze blame >"$VM_TMP/blame-$kind.txt" || :
        check "$kind: cloud-init ran config-cvm_firstboot" grep -F -e config-cvm_firstboot "$VM_TMP/blame-$kind.txt"
        check "$kind: cloud-init ran neither growpart, resizefs nor keys-to-console" \
                bash -c "! grep -E -e 'config-(growpart|resizefs|keys-to-console|keys_to_console)' '$VM_TMP/blame-$kind.txt'"
        echo "$kind: cloud-init analyze blame (top 6):"
        grep -E -e '^ *[0-9.]+s \(' "$VM_TMP/blame-$kind.txt" | head -n 6 | sed 's/^/  /' || :
        for u in cvm-enroll-firstboot.service cvm-growroot.service cvm-authcheck.service; do
                check "$kind: $u did not run (the module did its job)" never_started "$u"
        done
        ci_ssh cat /var/log/cloud-init.log >"$VM_TMP/cloud-init-$kind.log" || :
        grep -F -e cc_cvm_firstboot "$VM_TMP/cloud-init-$kind.log" | sed "s/^/  $kind: cloud-init.log: /" || :
        check "$kind: the module enrolled: its log line says '$enrolled'" grep -F -e \
                "$enrolled" "$VM_TMP/cloud-init-$kind.log"
        check "$kind: the module grew /: its log line" \
                grep -E -e "'--root=/' resized: partition [0-9]+ -> [0-9]+, luks [0-9]+ -> [0-9]+, filesystem" \
                "$VM_TMP/cloud-init-$kind.log"
        check "$kind: the shared stamp $STAMP exists" ci_ssh test -f "$STAMP"

        # Sizes against the disk qemu was given (the partition starts at
        # 1 MiB and ends at the last MiB boundary before the backup GPT).
        summary=$(ci_ssh cryptsetup luksDump --dump-json-metadata /dev/vda1 | deb_luks_summary offset)
        # shellcheck disable=SC2034 # toks is read by the eval'd check below
        IFS='|' read -r slots toks off <<<"$summary"
        echo "$kind: LUKS2 keyslots|tokens|data offset: $summary"
        read -r part dm fs <<<"$(sizes)"
        echo "$kind: sizes: partition $part sectors, LUKS2 mapping $dm sectors, ext4 $fs bytes (disk $DISK_MIB MiB)"
        check_eq "$kind: the root partition spans the ${DISK_MIB} MiB disk" $(((DISK_MIB - 2) * 2048)) "$part"
        check_eq "$kind: the LUKS2 mapping spans the partition" $((part - off)) "$dm"
        check_eq "$kind: ext4 spans the LUKS2 mapping" $((dm * 512)) "$fs"

        check "$kind: keyslot 0 (the build key) is gone, one systemd-tpm2 token owns the only slot, no other token" \
                eval '[[ $slots =~ ^[0-9]+$ ]] && [ "$slots" != 0 ] && [ "$toks" = "systemd-tpm2:$slots:temp=False" ]'
        if [ "$kind" = sealed ]; then
                check_eq "$kind: that slot is the one sealed offline (the import token was converted)" \
                        "$want_slot" "$slots"
        fi
        check "$kind: the legacy key file is gone" ci_ssh test ! -e /cc_growpart_keydata
        check_fails "$kind: the build key no longer opens the root" \
                ci_ssh cryptsetup open --test-passphrase --disable-external-tokens --key-file - /dev/vda1 \
                <"$img/image.key"
        check "$kind: systemd's TPM2 token plugin opens the root (cryptsetup --token-only)" \
                ci_ssh cryptsetup open --token-only --test-passphrase /dev/vda1
        check "$kind: cvm-enroll check --root=/" ci_ssh cvm-enroll check --root=/

        check "$kind: the files the image shipped are intact (sha256 from the image build)" \
                ci_ssh 'cd / && sha256sum --quiet -c -' <"$VM_TMP/shipped.sha256"
        echo "$kind: shipped files checked: $(wc -l <"$VM_TMP/shipped.sha256")"
        # For the sealed image: PCR 7 as this firmware leaves it.
        PCR7=$(ci_ssh cat /sys/class/tpm/tpm0/pcr-sha256/7 | tr A-F a-f)

        ci_ssh systemctl --no-block poweroff || :
        vm_wait || :
}

main() {
        local t_all
        require_cmd ssh ssh-keygen mkfs.vfat mcopy tpm2_createak tpm2_createprimary tpm2_readpublic openssl \
                python3 cryptsetup cpio dpkg-buildpackage
        vm_setup cloudinit-module-luks
        t_all=$(_vm_now)
        CI_SSH_KEY=$VM_TMP/id_ed25519
        ssh-keygen -q -t ed25519 -N '' -C cvm-test -f "$CI_SSH_KEY"
        ca=$VM_TMP/ca
        attest_ca "$ca" cloud-vtpm-ca
        attest_ca "$ca" other-ca
        {
                ci_userdata_base "$(cat "$CI_SSH_KEY.pub")"
                printf 'growpart:\n  mode: auto\n  devices: ["/"]\n  ignore_growroot_disabled: false\n'
                printf 'resize_rootfs: true\n'
        } >"$VM_TMP/user-data"

        first_boot legacy
        check "PCR 7 read from the legacy guest" eval '[[ $PCR7 =~ ^[0-9a-f]{64}$ ]]'
        first_boot sealed
        echo "time: whole test $(_vm_elapsed "$t_all") s"
        check_done
}

main "$@"
