#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# README's main command: boot a throwaway CVM under qemu (TCG) + swtpm and
# run its first boot with cvm-firstboot, printing each step and its timing.
#
#   sudo tools/demo.sh
#
# The CVM: Debian's 6.1 kernel, a vTPM (swtpm), a 1 GiB virtio disk holding a
# 256 MiB image whose LUKS2 root is unlocked by a legacy cloud-init key file
# (/cc_growpart_keydata), as RHEL CVM images ship today. First boot replaces
# that key by a TPM2 token, grows partition + LUKS2 + ext4 online with the
# TPM-unsealed key, wipes the temporary slot and key file; then the disk is
# grown live and grown again. Finally cvm-authcheck quotes the SSH host keys
# with the vTPM's AK (provisioned with a certificate from a test "cloud CA",
# as Azure does) onto the serial console, and cvm-verify-host checks, from
# that console log alone, that the offered keys are the attested ones.
set -eu -o pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${CVM_BUILDDIR:-$src/build}

step() { printf '\n==> %s\n' "$*"; }

step "Installing prerequisites (apt-get)"
"$src/tools/install-deps.sh"

step "Building"
[ -f "$build/build.ninja" ] || meson setup "$build" "$src" -Dvm-tests=enabled >/dev/null
meson compile -C "$build" >/dev/null
echo "built in $build"

step "Booting a throwaway CVM (qemu TCG + swtpm) and running its first boot"
start=$(date +%s)
rc=0
CVM_BUILDDIR=$build "$src/tests/vm/test-firstboot.sh" >"$build/demo.log" 2>&1 || rc=$?
log=$(sed -n 's/.*serial log: \(.*\))$/\1/p' "$build/demo.log" | tail -1)
log=${log:-$(ls -t "$build"/vm-logs/test-firstboot-*.log 2>/dev/null | head -1)}

step "What happened in the guest (from its serial console: $log)"
if [ -n "$log" ] && [ -f "$log" ]; then
        tr -d '\r' <"$log" | grep -E '^(ok|not ok|cvm-demo:|cvm-[a-z-]+ [0-9]+$|[0-9]+ passed)'
fi

step "The user's check before the first ssh (on the host, from the serial log)"
grep -E '^cvm-verify-host:' "$build/demo.log" || true

step "Measured in the guest (TCG, 1 vCPU)"
grep '^measured:' "$build/demo.log" || true
echo "whole demo: $(($(date +%s) - start)) s"

step "Verdict"
if [ "$rc" = 0 ]; then
        echo "PASS: root grown online through the vTPM, temporary key destroyed, data intact;"
        echo "      the SSH host keys are attested by this CVM's vTPM (AK certified by the cloud CA)."
else
        echo "FAIL (exit $rc): see $build/demo.log and the serial log above."
fi
exit "$rc"
