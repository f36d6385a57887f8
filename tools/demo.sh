#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# README's main command: build a Debian 12 CVM image with cvm-firstboot
# installed from its .deb, boot it twice under qemu (TCG) + swtpm, and
# verify it from the host the way a user would, printing each step, its
# timing and the final verdict.
#
#   sudo tools/demo.sh
#
# The image (tests/vm/debian/mkguest.sh deb_cvm_image): a 2 GiB LUKS2 root
# on a 6 GiB disk, unlocked at first boot by the image-build key (also in
# the legacy cloud-init key file /cc_growpart_keydata, as today's CVM
# images ship it), dracut initrd with cvm-firstboot's module, sshd host keys
# made at first boot. The vTPM gets an AK + certificate from a test "cloud
# CA", as Azure provisions them. Then (tests/vm/debian/test-debian-firstboot.sh):
#   boot 1: the initrd grows the partition; cvm-enroll-firstboot replaces
#     the build key by a TPM2 token and wipes it and the key file;
#     cvm-growroot grows LUKS2 + ext4 online; cvm-authcheck puts a TPM quote
#     over the SSH host keys on the serial console. On the host,
#     cvm-verify-host checks the console log against the ssh endpoint and
#     ssh logs in through KnownHostsCommand; another machine's evidence is
#     refused for this endpoint.
#   boot 2: the root opens from the TPM alone; every unit is a no-op; the
#     disk is grown live (QMP) and `systemctl restart cvm-growroot` grows it all
#     again with the TPM-unsealed key.
# The first run also debootstraps the guest's root filesystem (≈ 3-5 min,
# cached in build/vm-cache afterwards) and builds the .deb (cached by
# source hash).
set -eu -o pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${CVM_BUILDDIR:-$src/build}
t0=$(date +%s)

step() { printf '\n==> [%4ss] %s\n' "$(($(date +%s) - t0))" "$*"; }

step "Installing prerequisites (apt-get)"
"$src/tools/install-deps.sh"

step "Building"
[ -f "$build/build.ninja" ] || meson setup "$build" "$src" -Dvm-tests=enabled >/dev/null
meson compile -C "$build" >/dev/null
echo "built in $build"

step "Image build, two boots of the CVM and the user's verification (log: $build/demo.log)"
rc=0
# The test's own step lines, as they happen: timings, checks, the verifier.
CVM_BUILDDIR=$build "$src/tests/vm/debian/test-debian-firstboot.sh" 2>&1 | tee "$build/demo.log" |
        grep --line-buffered -E '^(time:|ok - |not ok - |cvm-verify-host:|image:|boot [0-9]: (system is|LUKS2|failed)|critical chain:|vm: boot|mkguest: .*(took|building))' ||
        :
rc=${PIPESTATUS[0]}

step "Per-unit time in the second boot (systemd-analyze blame)"
sed -n '/^--- per-unit time/,/^--- critical chain/p' "$build/demo.log" | grep -v '^---' || :

step "Verdict (whole demo $(($(date +%s) - t0)) s)"
if [ "$rc" = 0 ]; then
        echo "PASS: first boot replaced the image key by a TPM2 token and wiped it, grew root to the disk,"
        echo "      the user verified the SSH host key against the vTPM's quote (cloud CA) before logging in,"
        echo "      the second boot opened root from the TPM with nothing to do, and root grew live again."
else
        echo "FAIL (exit $rc): see $build/demo.log and the serial logs in $build/vm-logs/."
fi
exit "$rc"
