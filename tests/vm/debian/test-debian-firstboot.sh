#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm tier, full system (issue #8): the first boot of a real Debian 12 CVM
# image with cvm-firstboot installed from its .deb (mkguest.sh
# deb_cvm_image): a 2 GiB LUKS2 root whose only keyslot is the image-build
# key (also in the legacy /cc_growpart_keydata) on a 6 GiB disk, a vTPM
# (swtpm) provisioned with an AK and its certificate from a test "cloud CA".
#
#   boot 1 (first boot): the initrd grows the partition, the build key opens
#     the root, cvm-enroll-firstboot enrolls a TPM2 token and wipes slot 0
#     and the key file, cvm-growroot grows LUKS2 + ext4, cvm-authcheck puts
#     the quote over the SSH host keys on the serial console. The host then
#     checks all of that over ssh, and the user's side: cvm-verify-host
#     --console-log --host --ca, ssh with KnownHostsCommand, and another
#     machine's evidence (its own vTPM, same CA) refused for this endpoint.
#   boot 2: the root can only open through the TPM2 token now; every cvm
#     unit is a no-op and the LUKS2 header is unchanged. Then the disk is
#     grown live (QMP block_resize) and `systemctl restart cvm-growroot`
#     grows partition, LUKS2 (key unsealed from the TPM) and ext4 again.
# Secret hygiene, after both boots with the VM off: the disk image, both
# serial logs, the guest's journal (`journalctl -o export` at the end of
# each boot, and its journal files) are searched (tests/lib/secret-scan.sh)
# for every secret the test knows: the image-build key (which the image
# also puts in the legacy /cc_growpart_keydata), the volume key (dumped on
# the host from the image as built, with the build key) and the secret
# sealed to the vTPM by the first boot (unsealed on the host with
# tpm2-tools alone, from the VM's swtpm state with PCR 7 replayed from the
# guest's event log); a planted copy must be found.
# Per-unit times (systemd-analyze) and the critical chain to sshd are
# printed. Expected sizes come from the disk geometry, the LUKS2 metadata
# from cryptsetup's own JSON dump, the TPM2 unlock from systemd's token
# plugin (cryptsetup --token-only), never from our tools.
set -eu -o pipefail

TEST_DIR=$(cd "$(dirname "$0")" && pwd)
. "$TEST_DIR/../../lib/common.sh"
. "$TEST_DIR/../../lib/swtpm.sh"
. "$TEST_DIR/../lib/vm.sh"
. "$TEST_DIR/mkguest.sh"
. "$TEST_DIR/../../lib/attest.sh"
. "$TEST_DIR/../../lib/tpm2-oracle.sh"
. "$TEST_DIR/../../lib/secret-scan.sh"

BOOT_TIMEOUT=${CVM_DEB_BOOT_TIMEOUT:-600}
DISK_MIB=6144
LIVE_MIB=7168
export CVM_DEB_DISK_MIB=$DISK_MIB CVM_DEB_ROOT_MIB=2048
UNITS=(cvm-growroot-initrd.service cvm-enroll-firstboot.service cvm-enroll-finalize.service cvm-growroot.service
       cvm-authcheck.service)

_phase_start=
phase_begin() {
        _phase_start=$(_vm_now)
}
phase_end() {
        echo "time: $1 $(_vm_elapsed "$_phase_start") s"
}

customize_test_image() {
        local root=$1
        install -d -m 0700 "$root/root/.ssh"
        install -m 0600 "$VM_TMP/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
}

ssh_banner() {
        local line
        line=$({ read -r -t 20 l && echo "$l"; } 2>/dev/null <"/dev/tcp/127.0.0.1/$1") || :
        echo "${line%$'\r'}"
}

# khc CONSOLE_LOG: the KnownHostsCommand a user sets, trusting only the CA.
khc() {
        echo "$CVM_VERIFY_HOST known-hosts-command --ca=$VM_TMP/ca/cloud-vtpm-ca.pem --console-log=$1 %H %K %t"
}

# guest_ssh CMD...: as root in the guest; the host key is accepted only if
# the evidence in $KHC_LOG (default: this boot's serial log) attests it.
# No known_hosts file, no StrictHostKeyChecking=no.
guest_ssh() {
        XDG_CACHE_HOME=$VM_TMP/cache ssh -F /dev/null -p "$VM_SSH_PORT" -i "$VM_TMP/id_ed25519" \
                -o IdentitiesOnly=yes -o BatchMode=yes \
                -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/dev/null \
                -o GlobalKnownHostsFile=/dev/null -o KnownHostsCommand="$(khc "${KHC_LOG:-$VM_LOG}")" \
                -o ConnectTimeout=30 -o LogLevel=ERROR \
                root@127.0.0.1 "$@"
}

# ssh to this VM trusting what the other machine's console log attests.
ssh_with_other_evidence() {
        KHC_LOG=$VM_TMP/other-console.log guest_ssh true
}

# boot N: start the image and wait until sshd answers and the boot is over.
boot() {
        local n=$1 banner='' t
        phase_begin
        vm_start --kernel "$IMG/vmlinuz" --initrd "$IMG/initrd.img" \
                --cmdline "$(cat "$IMG/cmdline")" --disk "$IMG/disk.raw" \
                --net --timeout "$BOOT_TIMEOUT" --done 'reboot: Power down'
        t=$(_vm_now)
        while [ $(($(_vm_now) - t)) -lt $((BOOT_TIMEOUT * 1000000)) ]; do
                kill -0 "$VM_PID" 2>/dev/null || break
                banner=$(ssh_banner "$VM_SSH_PORT")
                [[ $banner != SSH-2.0-* ]] || break
                sleep 2
        done
        if [[ $banner != SSH-2.0-* ]]; then
                vm_kill
                echo "boot $n: sshd never answered; last lines of $VM_LOG:"
                tr -d '\r' <"$VM_LOG" | tail -n 60
                exit 1
        fi
        phase_end "boot $n to sshd"
        # `--wait` blocks until the boot transaction is over (or failed).
        echo "boot $n: system is $(guest_ssh systemctl is-system-running --wait || :)"
        phase_end "boot $n to the end of the boot transaction"
        guest_ssh systemctl --failed --no-legend --plain | sed "s/^/boot $n: failed unit: /" || :
}

# unit_state UNIT: "Result ExecMainStatus ConditionResult" of this boot.
unit_state() {
        guest_ssh systemctl show -p Result -p ExecMainStatus -p ConditionResult "$1" |
                sort | tr '\n' ' ' | sed 's/ $//'
}

# check_finalize LABEL: cvm-enroll-finalize is enabled, so it is in every
# boot: it ran and succeeded, or, in a guest booted without EFI firmware
# (this test's direct kernel boot), it was skipped for ConditionSecurity=tpm2
# alone, which wants firmware TPM2 support besides the driver: a resealed
# UKI, the only thing it finalizes, needs an EFI boot.
check_finalize() {
        if guest_ssh test -d /sys/firmware/efi; then
                check_eq "$1: cvm-enroll-finalize ran and succeeded" \
                        "ConditionResult=yes ExecMainStatus=0 Result=success" "$(unit_state cvm-enroll-finalize.service)"
        else
                check "$1: cvm-enroll-finalize was started, skipped for ConditionSecurity=tpm2 (no EFI boot)" \
                        contains "$(unit_log cvm-enroll-finalize.service)" \
                        "skipped because of an unmet condition check (ConditionSecurity=tpm2)"
        fi
}

# Journal of this boot for UNIT (the initrd's units included).
unit_log() {
        guest_ssh journalctl -b -o cat -u "$1" 2>/dev/null || :
}

# initrd_unit_order: with cvm-growroot-generator's drop-in, PID 1 starts
# cvm-growroot-initrd once the LUKS2 partition's device unit is up, and
# runs it with --device=. Prints "DEVICE_FOUND_USEC STARTING_USEC ROOT_LINE"
# from this boot's journal (PID 1's job-done message for the device unit,
# its "Starting" message for ours, cvm-growroot's "Root device ..." line,
# which names the device and where it came from; not journald's _CMDLINE,
# which it misses when the process has exited before it reads /proc);
# "-" for what is missing.
initrd_unit_order() {
        local dev
        dev=$(systemd-escape --path --suffix=device "/dev/disk/by-uuid/$(cat "$IMG/luks-uuid")")
        guest_ssh journalctl -b -o json | python3 -c '
import json, sys
dev, found, starting, root = sys.argv[1], "-", "-", "-"
for line in sys.stdin:
    e = json.loads(line)
    if e.get("_PID") == "1" and e.get("UNIT") == dev and e.get("JOB_TYPE") == "start" \
            and e.get("JOB_RESULT") == "done" and found == "-":
        found = e["__MONOTONIC_TIMESTAMP"]
    if e.get("_PID") == "1" and e.get("UNIT") == "cvm-growroot-initrd.service" \
            and e.get("MESSAGE_ID") == "7d4958e842da4a758f6c1cdc7b36dcc5" and starting == "-":
        starting = e["__MONOTONIC_TIMESTAMP"]
    # Only an --initrd run says "Root device"; not by _SYSTEMD_UNIT, which
    # journald, too, reads from /proc (of a process that may be gone).
    # On stderr, the line reads "cvm-growroot: Root device ...".
    msg = e.get("MESSAGE", "")
    i = msg.find("Root device \x27") if isinstance(msg, str) else -1
    if e.get("SYSLOG_IDENTIFIER") == "cvm-growroot" and i >= 0 and root == "-":
        root = msg[i:]
print(found, starting, root)' "$dev"
}

# The root volume's LUKS2 metadata, as cryptsetup dumps it.
luks_json() {
        guest_ssh cryptsetup luksDump --dump-json-metadata /dev/vda1
}

# sizes: "PARTITION_SECTORS DM_SECTORS FS_BYTES" of the root.
sizes() {
        guest_ssh sh -c '"echo \$(cat /sys/class/block/vda1/size) \$(blockdev --getsz /dev/mapper/root)' \
                '\$(dumpe2fs -h /dev/mapper/root 2>/dev/null | awk -F: '"'"'/^Block count/ { c = \$2 }'\
                ' /^Block size/ { s = \$2 } END { printf \"%.0f\", c * s }'"'"')"'
}

# check_grown DISK_MIB WHAT: partition up to the last MiB boundary before
# the backup GPT, LUKS2 mapping = partition - data offset, ext4 fills it.
check_grown() {
        local disk_mib=$1 what=$2 s part dm fs off
        read -r part dm fs <<<"$(sizes)"
        off=$(python3 -c 'import json,sys; print(int(json.load(sys.stdin)["segments"]["0"]["offset"]) // 512)' \
                <<<"$(luks_json)")
        check_eq "$what: partition spans the ${disk_mib} MiB disk" $(((disk_mib - 2) * 2048)) "$part"
        check_eq "$what: LUKS2 mapping spans the partition" $((part - off)) "$dm"
        check_eq "$what: ext4 spans the LUKS2 mapping" $((dm * 512)) "$fs"
}

# The root's LUKS2 header (the partition starts at 1 MiB, mkdisk_luks_gpt
# reserves 32 MiB for it) as a file cryptsetup reads without a loop device.
luks_header() {
        dd if="$IMG/disk.raw" of="$1" bs=1M skip=1 count=32 status=none
}

# save_journal N: this boot's view of the guest's journal, for the scan:
# every entry in export format, and the journal files themselves.
save_journal() {
        guest_ssh journalctl -o export >"$VM_TMP/journal-$1.export"
        guest_ssh 'tar -C / -cf - $(cd / && ls -d var/log/journal run/log/journal 2>/dev/null)' \
                >"$VM_TMP/journal-$1.tar"
        echo "boot $1: journal: $(grep -c '^__CURSOR=' "$VM_TMP/journal-$1.export") entries exported," \
                "$(tar -tf "$VM_TMP/journal-$1.tar" | grep -c '\.journal') journal files," \
                "boots: $(guest_ssh journalctl --list-boots --no-pager | grep -c -E '^ *-?[0-9]+ ')"
        check "boot $1: the journal was exported" test -s "$VM_TMP/journal-$1.export"
        check "boot $1: it holds cvm-enroll's messages" grep -q '^SYSLOG_IDENTIFIER=cvm-enroll$' \
                "$VM_TMP/journal-$1.export"
}

hexof() { od -An -v -tx1 "$1" | tr -d ' \n'; }

# secret_hygiene: with the VM off, unseal the first boot's TPM2 token on
# the host, then scan everything the guest wrote or printed.
secret_hygiene() {
        local tid pcr7 logs
        luks_header "$VM_TMP/header1"
        tid=$(cryptsetup luksDump --dump-json-metadata "$VM_TMP/header1" | python3 -c 'import json, sys
t = json.load(sys.stdin)["tokens"]
print(" ".join(i for i in t if t[i]["type"] == "systemd-tpm2"))')
        check_eq "secrets: one systemd-tpm2 token in the image" 1 "$(wc -w <<<"$tid")"
        swtpm_start_tcp "$VM_TMP/tpm"
        oracle_replay_eventlog "$VM_TMP/eventlog.bin" 7
        pcr7=$(tpm2_pcrread sha256:7 | sed -n 's/.*7 *: *0x//p' | tr A-F a-f)
        check_eq "secrets: host swtpm replays the guest's PCR 7 from its event log" "$GUEST_PCR7" "$pcr7"
        check "secrets: tpm2-tools unseal the first boot's TPM2 token" \
                oracle_unseal_token "$VM_TMP/header1" "$tid" 7 "$VM_TMP/tpm.secret"
        swtpm_stop "$SWTPM_PID"
        base64 -w0 "$VM_TMP/tpm.secret" >"$VM_TMP/tpm.pass"
        check "secrets: the unsealed secret opens the root (so it is the right one)" \
                cryptsetup open --test-passphrase --key-file "$VM_TMP/tpm.pass" "$VM_TMP/header1"
        {
                # The same bytes are the legacy /cc_growpart_keydata key (its
                # JSON holds their base64: a form the scan searches).
                echo "build-key $(hexof "$IMG/image.key")"
                echo "volume-key $(hexof "$VM_TMP/volume.key")"
                echo "tpm2-sealed-secret $(hexof "$VM_TMP/tpm.secret")"
        } >"$VM_TMP/secrets"
        logs=("$VM_LOGDIR/$VM_NAME-1.log" "$VM_LOGDIR/$VM_NAME-2.log")
        phase_begin
        check "secrets: none in the disk image, serial logs, journal exports and journal files" \
                secret_scan "$VM_TMP/secrets" "$IMG/disk.raw" "${logs[@]}" "$VM_TMP"/journal-{1,2}.export \
                "$VM_TMP"/journal-{1,2}.tar
        phase_end "secret scan"
        # Positive controls on the same data: planted secrets are found.
        { cat "$VM_TMP/journal-1.export"; base64 -w0 "$VM_TMP/volume.key"; } >"$VM_TMP/planted.export"
        check_fails "secrets: positive control (volume key planted in a copy of the journal export) is found" \
                secret_scan "$VM_TMP/secrets" "$VM_TMP/planted.export"
        { cat "${logs[0]}"; base64 -w0 "$VM_TMP/tpm.secret"; } >"$VM_TMP/planted.log"
        check_fails "secrets: positive control (sealed secret's passphrase planted in a copy of the serial log) is found" \
                secret_scan "$VM_TMP/secrets" "$VM_TMP/planted.log"
}

main() {
        local t_all t_boot2 luks1 luks2 summary ev_count out rc st invocation

        require_cmd ssh ssh-keygen swtpm tpm2_createak tpm2_pcrextend tpm2_unseal openssl python3 cryptsetup dpkg-buildpackage
        vm_setup debian-firstboot
        t_all=$(_vm_now)
        ssh-keygen -q -t ed25519 -N '' -C cvm-test -f "$VM_TMP/id_ed25519"
        IMG=$VM_TMP/img

        phase_begin
        deb_cvm_image "$IMG" customize_test_image
        phase_end "CVM image (package, rootfs cache, LUKS2 disk, initrd)"
        echo "image: $(cat "$IMG/cmdline")"
        # For the secret scan: the volume key, from the image as built, with
        # the build key (cryptsetup, not our code).
        luks_header "$VM_TMP/header0"
        cryptsetup luksDump -q --dump-volume-key --volume-key-file "$VM_TMP/volume.key" \
                --key-file "$IMG/image.key" "$VM_TMP/header0" >/dev/null

        # The cloud: this VM's vTPM gets an AK + certificate from the CA, as
        # Azure provisions them; the user trusts only that CA.
        phase_begin
        attest_ca "$VM_TMP/ca" cloud-vtpm-ca
        swtpm_start_tcp "$VM_TMP/tpm"
        attest_provision_azure "$VM_TMP/ak" "$VM_TMP/ca" cloud-vtpm-ca >/dev/null
        swtpm_stop "$SWTPM_PID"
        # Another machine of the same cloud: its own vTPM and AK (same CA),
        # its own host keys; its cvm-authcheck writes its console log.
        swtpm_start_tcp "$VM_TMP/tpm-other"
        attest_provision_azure "$VM_TMP/ak-other" "$VM_TMP/ca" cloud-vtpm-ca >/dev/null
        attest_ssh_keys "$VM_TMP/hk-other"
        printf 'HostKey %s\n' "$VM_TMP"/hk-other/ssh_host_{ed25519,ecdsa,rsa}_key >"$VM_TMP/sshd-other.conf"
        mkdir -p /run/sshd
        "$CVM_AUTHCHECK" --tpm2-device="$SWTPM_TCTI" --sshd-config="$VM_TMP/sshd-other.conf" \
                --runtime-dir="$VM_TMP/run-other" --console="$VM_TMP/other-console.log" >/dev/null
        swtpm_stop "$SWTPM_PID"
        phase_end "vTPM provisioning (AK + certificate) of both machines"

        # ---- boot 1: first boot -------------------------------------------
        boot 1
        check "boot 1: attestation evidence on the serial console" \
                grep -q -e '-----BEGIN CVM HOST KEY ATTESTATION-----' "$VM_LOG"
        # ssh-keyscan (run by --host) gives up after 10 s; a TCG guest on a
        # loaded machine can take longer for a key exchange. Only that is
        # retried, never a verdict.
        for _ in 1 2 3; do
                out=$("$CVM_VERIFY_HOST" --console-log="$VM_LOG" --host="127.0.0.1:$VM_SSH_PORT" \
                        --ca="$VM_TMP/ca/cloud-vtpm-ca.pem" 2>&1) && rc=0 || rc=$?
                [ "$rc" != 0 ] && contains "$out" "ssh-keyscan got no host keys" || break
                echo "cvm-verify-host: $out (retrying)"
        done
        echo "cvm-verify-host: $out"
        check_eq "cvm-verify-host --console-log --host --ca accepts the first VM" 0 "$rc"
        check_eq "ssh with KnownHostsCommand (cvm-verify-host) logs in and runs a command" \
                cvm-guest "$(guest_ssh hostname || :)"
        check_fails "cvm-verify-host refuses the first VM's endpoint with the other machine's evidence" \
                "$CVM_VERIFY_HOST" --console-log="$VM_TMP/other-console.log" --host="127.0.0.1:$VM_SSH_PORT" \
                --ca="$VM_TMP/ca/cloud-vtpm-ca.pem"
        rm -rf "$VM_TMP/cache"
        check_fails "ssh refuses the first VM with the other machine's console log" \
                ssh_with_other_evidence

        for st in "${UNITS[@]}"; do
                echo "boot 1: $st: $(unit_state "$st")"
                unit_log "$st" | sed "s/^/boot 1: $st: /"
        done
        # The initrd's unit: its state in the real root is not its run in
        # the initrd (ConditionPathExists=/etc/initrd-release), the journal is.
        check "boot 1: cvm-growroot-initrd grew the partition in the initrd" \
                contains "$(unit_log cvm-growroot-initrd.service)" "partition  grew"
        # ... started by systemd once the device was there (the generator's
        # Requires=/After=), told which device (--device=), not polling.
        read -r t_dev t_start root1 <<<"$(initrd_unit_order)"
        echo "boot 1: device unit up at ${t_dev} us, cvm-growroot-initrd starting at ${t_start} us: $root1"
        check "boot 1: PID 1 logged the LUKS2 partition's device unit coming up" test "$t_dev" != -
        check "boot 1: cvm-growroot-initrd started after its device appeared" \
                eval '[ "$t_dev" != - ] && [ "$t_start" != - ] && [ "$t_dev" -le "$t_start" ]'
        check_eq "boot 1: cvm-growroot-initrd ran with the generator's --device=" \
                "Root device '/dev/disk/by-uuid/$(cat "$IMG/luks-uuid")' (--device=): partition 1 of /dev/vda." "$root1"
        check_finalize "boot 1"
        for st in cvm-enroll-firstboot.service cvm-growroot.service cvm-authcheck.service; do
                check_eq "boot 1: $st ran and succeeded" "ConditionResult=yes ExecMainStatus=0 Result=success" \
                        "$(unit_state "$st")"
        done
        check_grown "$DISK_MIB" "boot 1"
        luks1=$(luks_json)
        summary=$(deb_luks_summary <<<"$luks1")
        echo "boot 1: LUKS2 keyslots|tokens: $summary"
        check "boot 1: keyslot 0 (the build key) is gone, one TPM2 token opens the only slot" \
                eval '[[ $summary =~ ^([0-9]+)\|systemd-tpm2:([0-9]+):temp=False$ ]] &&
                        [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && [ "${BASH_REMATCH[1]}" != 0 ]'
        check "boot 1: the legacy key file is gone" guest_ssh test ! -e /cc_growpart_keydata
        check_fails "boot 1: the build key no longer opens the root" \
                guest_ssh cryptsetup open --test-passphrase --disable-external-tokens --key-file - /dev/vda1 \
                <"$IMG/image.key"
        check "boot 1: systemd's TPM2 token plugin opens the root (cryptsetup --token-only)" \
                guest_ssh cryptsetup open --token-only --test-passphrase /dev/vda1
        check "boot 1: cvm-enroll check --root=/" guest_ssh cvm-enroll check --root=/
        save_journal 1
        guest_ssh systemctl --no-block poweroff || :
        vm_wait
        phase_end "boot 1 total"

        # ---- boot 2: nothing to do; root opens from the TPM ----------------
        t_boot2=$(_vm_now)
        boot 2
        check "boot 2: the root opened (only the TPM2 token can open it now)" \
                guest_ssh findmnt -n -o SOURCE /
        for st in "${UNITS[@]}"; do
                echo "boot 2: $st: $(unit_state "$st")"
                unit_log "$st" | sed "s/^/boot 2: $st: /"
        done
        check_eq "boot 2: cvm-enroll-firstboot is skipped (stamp)" "ConditionResult=no" \
                "$(unit_state cvm-enroll-firstboot.service | grep -o 'ConditionResult=no')"
        check "boot 2: cvm-growroot-initrd ran in the initrd and had nothing to do" \
                contains "$(unit_log cvm-growroot-initrd.service)" "Nothing to grow"
        check_eq "boot 2: cvm-growroot ran and succeeded" "ConditionResult=yes ExecMainStatus=0 Result=success" \
                "$(unit_state cvm-growroot.service)"
        check "boot 2: cvm-growroot had nothing to do" contains "$(unit_log cvm-growroot.service)" "Nothing to grow"
        check_eq "boot 2: cvm-authcheck ran and succeeded" "ConditionResult=yes ExecMainStatus=0 Result=success" \
                "$(unit_state cvm-authcheck.service)"
        check_finalize "boot 2"
        luks2=$(luks_json)
        check_eq "boot 2: LUKS2 metadata unchanged" "$luks1" "$luks2"

        echo "--- per-unit time (systemd-analyze blame, boot 2) ---"
        guest_ssh 'systemd-analyze time; systemd-analyze blame | grep -E "cvm-|ssh|cryptsetup"' || :
        echo "--- critical chain to ssh.service (boot 2) ---"
        out=$(guest_ssh systemd-analyze critical-chain ssh.service 2>&1 || :)
        echo "$out"
        if grep -q 'cvm-' <<<"$out"; then
                echo "critical chain: a cvm unit IS on the critical chain to sshd"
        else
                echo "critical chain: no cvm unit on the critical chain to sshd"
        fi

        # ---- live: grow the disk under the running VM ----------------------
        phase_begin
        vm_qmp "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"disk0\",\"size\":$((LIVE_MIB * 1024 * 1024))}}" >/dev/null
        guest_ssh 'for i in $(seq 50); do [ "$(blockdev --getsz /dev/vda)" -gt 12582912 ] && break; sleep 0.2; done'
        check "live: systemctl restart cvm-growroot" guest_ssh systemctl restart cvm-growroot.service
        invocation=$(guest_ssh systemctl show -p InvocationID --value cvm-growroot.service)
        out=$(guest_ssh journalctl -o cat "_SYSTEMD_INVOCATION_ID=$invocation" || :)
        echo "$out" | sed 's/^/live: cvm-growroot: /'
        check_grown "$LIVE_MIB" "live"
        # Growing a LUKS2 mapping needs the volume key; the only keyslot
        # left is the TPM2 token's and there is no key file: the key came
        # from the TPM.
        check "live: LUKS2 grown online" contains "$out" "luks       grew"
        check "live: no key file on the system" guest_ssh test ! -e /cc_growpart_keydata
        check_eq "live: LUKS2 keyslots unchanged (only the TPM2 token's)" "$(deb_luks_summary <<<"$luks1")" \
                "$(deb_luks_summary <<<"$(luks_json)")"
        phase_end "live grow"
        save_journal 2
        # The firmware's event log and PCR 7, for unsealing on the host.
        guest_ssh base64 -w0 /sys/kernel/security/tpm0/binary_bios_measurements | base64 -d >"$VM_TMP/eventlog.bin"
        GUEST_PCR7=$(guest_ssh cat /sys/class/tpm/tpm0/pcr-sha256/7 | tr A-F a-f)
        guest_ssh systemctl --no-block poweroff || :
        vm_wait
        secret_hygiene
        echo "time: boot 2 total $(_vm_elapsed "$t_boot2") s"
        echo "time: whole test $(_vm_elapsed "$t_all") s"
        check_done
}

main "$@"
