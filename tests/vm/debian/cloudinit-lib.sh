# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Helpers for Debian guests with cloud-init in charge (NoCloud) and logins
# over ssh: tests/vm/debian/test-cloudinit-module.sh and bench/firstboot.
# Source after common.sh, vm.sh and mkguest.sh; don't run it.
#
#   ci_install_cvm ROOT [UNITS]  the project's binaries in ROOT/usr/bin and the
#                                cloud-init module in cloud-init's package dir;
#                                with UNITS=units also the systemd units
#                                (enabled as the package enables them) and
#                                the kind (a) cloud.cfg.d drop-in
#   ci_seed IMG ID USERDATA      a NoCloud seed: vfat labelled CIDATA with
#                                meta-data (instance-id ID) and USERDATA (a file)
#   ci_userdata_base PUBKEY      the #cloud-config lines every guest shares
#                                (root login with PUBKEY, ed25519 host key,
#                                slow modules nobody measures turned off)
#   ci_ssh CMD...                ssh root@guest; known_hosts: $CI_KNOWN_HOSTS
#                                (StrictHostKeyChecking=yes), key $CI_SSH_KEY
#   ci_wait_sshd                 until the guest's sshd sends its banner
#   ci_keyscan FILE              the host keys sshd offers, into FILE (ssh-keyscan's
#                                5 s default is too short under TCG on a busy host;
#                                retried while cloud-init may restart sshd)
#   ci_wait_evidence LABEL SECS  until the evidence is on the console and sshd
#                                answers; else kill the guest, show the log, exit 1
#   ci_check_user_side LABEL CA  the user's first contact, as checks: the keys
#                                sshd offers are the attested ones under CA/
#                                cloud-vtpm-ca.pem (known_hosts into
#                                $CI_KNOWN_HOSTS), refused under CA/other-ca.pem,
#                                and ssh logs in with them; LABEL prefixes the
#                                check names ("" for none)

CI_PY_MODDIR=/usr/lib/python3/dist-packages/cloudinit/config

ci_install_cvm() {
        local root=$1 units=${2:-} b u
        for b in "$CVM_GROWROOT" "$CVM_ENROLL" "$CVM_AUTHCHECK"; do
                install -m 0755 "$b" "$root/usr/bin/"
        done
        install -m 0644 "$CVM_SRCDIR/dist/cloud-init/cc_cvm_firstboot.py" "$root$CI_PY_MODDIR/"
        [ "$units" = units ] || return 0
        # The build's units name @bindir@ of the build's prefix; the guest
        # has the binaries in /usr/bin, as the package installs them.
        for u in cvm-growroot cvm-enroll-firstboot cvm-enroll-finalize cvm-authcheck; do
                sed -e "s#^ExecStart=[^ ]*/cvm-#ExecStart=/usr/bin/cvm-#" \
                        "$CVM_BUILDDIR/units/$u.service" >"$root/etc/systemd/system/$u.service"
        done
        install -D -m 0644 "$CVM_SRCDIR/units/cvm-firstboot.preset" \
                "$root/usr/lib/systemd/system-preset/80-cvm-firstboot.preset"
        deb_enable_cvm_units "$root"
        install -m 0644 "$CVM_SRCDIR/dist/cloud-init/90-cvm-firstboot.cfg" "$root/etc/cloud/cloud.cfg.d/"
}

ci_seed() {
        local img=$1 id=$2 userdata=$3 d
        d=$(mktemp -d "$VM_TMP/seed.XXXXXX")
        printf 'instance-id: %s\nlocal-hostname: cvm-guest\n' "$id" >"$d/meta-data"
        cp "$userdata" "$d/user-data"
        rm -f "$img"
        mkfs.vfat -n CIDATA -C "$img" 2048 >/dev/null
        mcopy -i "$img" "$d/user-data" "$d/meta-data" ::
        rm -rf "$d"
}

ci_userdata_base() {
        cat <<-EOF
	#cloud-config
	disable_root: false
	ssh_authorized_keys:
	  - $1
	# RSA-3072 costs 30-40 s of TCG; ed25519 is enough here.
	ssh_genkeytypes: [ed25519]
	# Slow under TCG (grub-dpkg 3 s) or failing in this image without
	# locales (update-locale en_US.UTF-8); not what is measured or tested.
	locale: false
	grub_dpkg: {enabled: false}
	EOF
}

ci_ssh() {
        ssh -F /dev/null -p "$VM_SSH_PORT" -i "$CI_SSH_KEY" \
                -o IdentitiesOnly=yes -o BatchMode=yes \
                -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$CI_KNOWN_HOSTS" \
                -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=30 -o LogLevel=ERROR \
                root@127.0.0.1 "$@"
}

# qemu's forwarded port accepts connections before anything listens in the
# guest: only a banner proves sshd answered.
ci_wait_sshd() {
        local _ line
        for _ in $(seq 1 120); do
                line=$({ read -r -t 10 l && echo "$l"; } 2>/dev/null <"/dev/tcp/127.0.0.1/$VM_SSH_PORT") || :
                case $line in SSH-2.0-*) return 0 ;; esac
                sleep 1
        done
        return 1
}

ci_keyscan() {
        local _
        # cloud-init's later stages may restart sshd under the scan: retry.
        for _ in 1 2 3 4 5 6; do
                ssh-keyscan -T 120 -p "$VM_SSH_PORT" 127.0.0.1 >"$1" 2>/dev/null || :
                [ -s "$1" ] && return 0
                sleep 5
        done
        return 1
}

ci_wait_evidence() {
        local label=${1:+$1: } secs=$2
        vm_wait_log '^-----END CVM HOST KEY ATTESTATION-----' "$secs" && ci_wait_sshd && return 0
        vm_kill
        echo "${label}no evidence on the console or no sshd; last lines of $VM_LOG:"
        tr -d '\r' <"$VM_LOG" | tail -n 60
        exit 1
}

ci_check_user_side() {
        local label=${1:+$1: } ca=$2 offered
        offered=$(mktemp "$VM_TMP/offered.XXXXXX")
        # The console is untrusted: the CA is the anchor.
        check "${label}ssh-keyscan gets the host keys sshd offers" ci_keyscan "$offered"
        if "$CVM_VERIFY_HOST" --console-log="$VM_LOG" --ca="$ca/cloud-vtpm-ca.pem" \
                --host="127.0.0.1:$VM_SSH_PORT" --host-key-file="$offered" known-hosts \
                >"$CI_KNOWN_HOSTS" 2>"$VM_TMP/verify.err"; then
                ok "${label}cvm-verify-host accepts the module's evidence and the keys sshd offers"
        else
                not_ok "${label}cvm-verify-host accepts the module's evidence: $(cat "$VM_TMP/verify.err")"
        fi
        check_fails "${label}cvm-verify-host refuses the evidence under another CA" \
                "$CVM_VERIFY_HOST" --console-log="$VM_LOG" --ca="$ca/other-ca.pem" -q
        check_eq "${label}ssh login with the attested host key only" cvm-guest "$(ci_ssh hostname || :)"
}
