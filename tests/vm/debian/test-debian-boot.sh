#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm tier, full system: build (or reuse) the Debian 12 guest, boot it with a
# swtpm and user networking, wait for the guest's own report that it
# reached multi-user with a TPM, then log in over ssh with a key made by
# this test and the host key the guest made at first boot (pinned, not
# trusted on first use), and power it off from there. Each phase is timed.
set -eu -o pipefail

TEST_DIR=$(cd "$(dirname "$0")" && pwd)
. "$TEST_DIR/../../lib/common.sh"
. "$TEST_DIR/../../lib/swtpm.sh"
. "$TEST_DIR/../lib/vm.sh"
. "$TEST_DIR/mkguest.sh"

# The guest reaches multi-user in ≈ 15-20 s of TCG; first boot makes ssh
# host keys. Generous, since CI's 2 cores may be shared with other tests.
BOOT_TIMEOUT=${CVM_DEB_BOOT_TIMEOUT:-300}
RESULT_RE='^[0-9]+ passed, [0-9]+ failed$'

_phase_start=
phase_begin() {
        _phase_start=$(_vm_now)
}
# phase_end NAME: print how long the phase since phase_begin took.
phase_end() {
        echo "time: $1 $(_vm_elapsed "$_phase_start") s"
}

# What this test adds to the image: the reporting unit, and root's
# authorized key for the ssh login.
customize_test_image() {
        local root=$1
        install -D -m 0755 "$TEST_DIR/guest-check.sh" "$root/usr/local/libexec/cvm-guest-check"
        install -m 0644 "$TEST_DIR/cvm-guest-check.service" "$root/etc/systemd/system/"
        ln -sf ../cvm-guest-check.service \
                "$root/etc/systemd/system/multi-user.target.wants/cvm-guest-check.service"
        install -d -m 0700 "$root/root/.ssh"
        install -m 0600 "$VM_TMP/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
}

# ssh_banner PORT: the first line the server sends. Through qemu's user
# networking the host port accepts even when nothing listens in the guest;
# only a banner proves sshd answered.
ssh_banner() {
        local line
        # A refused connection must end up as a failed check, not end the test.
        line=$({ read -r -t 30 l && echo "$l"; } 2>/dev/null <"/dev/tcp/127.0.0.1/$1") || :
        echo "${line%$'\r'}"
}

# guest_ssh CMD...: run CMD as root in the guest, verifying its host key
# against the one it printed on the serial console.
guest_ssh() {
        ssh -F /dev/null -p "$VM_SSH_PORT" -i "$VM_TMP/id_ed25519" \
                -o IdentitiesOnly=yes -o BatchMode=yes \
                -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$VM_TMP/known_hosts" \
                -o GlobalKnownHostsFile=/dev/null -o HostKeyAlgorithms=ssh-ed25519 \
                -o ConnectTimeout=30 -o LogLevel=ERROR \
                root@127.0.0.1 "$@"
}

main() {
        local dir hostkey banner

        require_cmd ssh ssh-keygen
        vm_setup debian-boot
        dir=$VM_TMP/guest
        ssh-keygen -q -t ed25519 -N '' -C cvm-test -f "$VM_TMP/id_ed25519"

        phase_begin
        deb_guest_image "$dir" customize_test_image
        phase_end "guest image (incl. rootfs cache)"

        phase_begin
        vm_start --kernel "$dir/vmlinuz" --initrd "$dir/initrd.img" \
                --cmdline "$(cat "$dir/cmdline")" --disk "$dir/disk.raw" \
                --net --timeout "$BOOT_TIMEOUT"
        if ! vm_wait_log "$RESULT_RE"; then
                vm_kill
                echo "no result line from the guest; last lines of $VM_LOG:"
                tr -d '\r' <"$VM_LOG" | tail -n 60
                exit 1
        fi
        phase_end "boot to multi-user + guest checks"
        # vm_wait judges the result line at the end, but its log tail will
        # then show the shutdown: name the guest's failures now.
        tr -d '\r' <"$VM_LOG" | grep -E '^not ok - ' | sed 's/^/guest: /' || :
        echo "time: guest's own boot time $(vm_log_values cvm-boottime) s" \
                "(kernel $(vm_log_values cvm-boottime-kernel) s," \
                "initrd $(vm_log_values cvm-boottime-initrd) s," \
                "userspace $(vm_log_values cvm-boottime-userspace) s)"

        phase_begin
        hostkey=$(vm_log_values cvm-hostkey-ed25519 | tail -1)
        check "guest printed its ssh host key" test -n "$hostkey"
        echo "[127.0.0.1]:$VM_SSH_PORT ssh-ed25519 $hostkey" >"$VM_TMP/known_hosts"
        banner=$(ssh_banner "$VM_SSH_PORT")
        case $banner in
        SSH-2.0-OpenSSH_*) ok "sshd answers on the forwarded port ($banner)" ;;
        *) not_ok "sshd answers on the forwarded port: got '$banner'" ;;
        esac
        check_eq "ssh login with the pinned host key" cvm-guest "$(guest_ssh hostname || :)"
        phase_end "ssh"

        phase_begin
        if guest_ssh systemctl --no-block poweroff; then
                ok "poweroff requested over ssh"
                # vm_wait checks the guest's "N passed, 0 failed" line.
                check "guest passed its checks and powered off" vm_wait
        else
                not_ok "poweroff requested over ssh"
                vm_kill
        fi
        phase_end "poweroff"
        check_done
}

main "$@"
