#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-enroll ⇄ systemd 252 in a real kernel (dm-crypt, TPM through
# /dev/tpmrm0), with systemd's own programs, not our reading of its format:
#  * a volume cvm-enroll enrolled (in the guest with PCR 7, and on the host
#    before boot into this VM's swtpm state with PCR 16) opens with
#    `systemd-cryptsetup attach NAME DEV - tpm2-device=auto` and with
#    `cryptsetup open --token-only` through systemd's libcryptsetup token
#    plugin, and the file on the mapping has the host's sha256;
#  * a token systemd-cryptenroll made in the guest passes `cvm-enroll check`;
#  * after PCR 7 is extended, the PCR 7 volumes open with neither tool and
#    check fails naming PCR 7, while the PCR 16 volume still opens.
# The busybox guest gets systemd-cryptsetup, systemd-cryptenroll and tpm2
# (VM_EXTRA_TOOLS: copied with their libraries, libsystemd-shared-252.so
# included) and the token plugin at libcryptsetup's compiled-in plugin
# path. systemd 252 dlopen()s libtss2-{esys,mu,rc} (cvm-enroll links them,
# so they are in the guest) and libtss2-tcti-device (the harness adds it).
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/swtpm.sh"
. "$(dirname "$0")/lib/vm.sh"

SD_CRYPTSETUP=/lib/systemd/systemd-cryptsetup
SD_PLUGIN=libcryptsetup-token-systemd-tpm2.so

require_cmd mkfs.ext4 systemd-cryptenroll tpm2
[ -x "$SD_CRYPTSETUP" ] || skip "$SD_CRYPTSETUP not installed (systemd-cryptsetup)"
# Where libcryptsetup dlopen()s token plugins from, as it reports it.
plugin_dir=$(cryptsetup --help | sed -n 's/^LUKS2 external token plugin path: \(.*\)\.$/\1/p')
[ -n "$plugin_dir" ] || skip "this cryptsetup has no external token plugin support"
[ -f "$plugin_dir/$SD_PLUGIN" ] || skip "systemd's token plugin $plugin_dir/$SD_PLUGIN is not installed"
# The guest has Debian's merged /usr with /lib a symlink: a file in the
# scenario's cpio must name the real directory.
guest_plugin=$plugin_dir/$SD_PLUGIN
[[ $guest_plugin == /usr/* ]] || guest_plugin=/usr$guest_plugin

# Read by vm_setup (vm.sh).
# shellcheck disable=SC2034
VM_EXTRA_TOOLS="$SD_CRYPTSETUP systemd-cryptenroll tpm2"
vm_setup

content=$VM_TMP/content
mkdir "$content"
head -c 2M /dev/urandom >"$content/data.bin"
want=$(sha256sum "$content/data.bin" | cut -d' ' -f1)
(umask 077 && head -c 32 /dev/urandom >"$VM_TMP/key")

# mk_volume IMG: a 64 MiB LUKS2 volume (whole disk) holding a 32 MiB ext4
# with data.bin, the key file in slot 0 (PBKDF2, 1000 iterations). The host
# has no device-mapper: encrypt the file system in place (see
# test-luks-open.sh).
mk_volume() {
        truncate -s 64M "$1"
        mkfs.ext4 -q -b 4096 -d "$content" "$1" 32M
        cryptsetup reencrypt --encrypt --type luks2 --batch-mode --reduce-device-size 32M \
                --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$VM_TMP/key" "$1" >/dev/null ||
                die "offline encryption of '$1' failed"
}
for d in vda vdb vdc; do
        mk_volume "$VM_TMP/$d.img"
done

# vdb: cvm-enroll on the host into the VM's own TPM (the state dir the VM
# then boots with), PCR 16: zero on the host swtpm and in the guest alike.
tpm=$VM_TMP/tpm
swtpm_start_tcp "$tpm"
out=$("$CVM_ENROLL" --tpm2-device="$SWTPM_TCTI" tpm2 --device="$VM_TMP/vdb.img" --pcrs=16 \
        --unlock-key-file="$VM_TMP/key" --json=short)
swtpm_stop "$SWTPM_PID"
_vm_forget_exit_action swtpm_stop "$SWTPM_PID"
check "host: cvm-enroll tpm2 --pcrs=16 into the VM's TPM state" contains "$out" '"changed":true'
check_eq "host: vdb has a systemd-tpm2 token" systemd-tpm2 \
        "$(cryptsetup token export --token-id 0 "$VM_TMP/vdb.img" | sed -n 's/.*"type":"\([^"]*\)".*/\1/p')"

vm_start --scenario "$CVM_SRCDIR/tests/vm/scenarios/enroll-systemd.sh" \
        --disk "$VM_TMP/vda.img" --disk "$VM_TMP/vdb.img" --disk "$VM_TMP/vdc.img" \
        --tpm-state "$tpm" \
        --file "$VM_TMP/key:/files/key" \
        --file "$plugin_dir/$SD_PLUGIN:$guest_plugin" \
        --env "WANT_SHA256=$want" --env "TOKEN_PLUGIN=$guest_plugin" \
        --timeout 600
vm_wait
ok "guest: systemd 252 interop scenario passed (serial log: $VM_LOG)"

# Guest timings (TCG: slow in absolute terms, comparable within one run).
_vm_log_text | awk '$1 ~ /^cvm-(attach|attach-builtin|token-open)-ms-/ { print "measured: " substr($1, 5), $2 }'
check_done
