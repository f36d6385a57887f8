#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# /init of the vm tier's busybox initramfs (PID 1). It prepares a minimal
# system, runs the test's /scenario.sh, prints the "N passed, M failed" line
# the host harness waits for, and powers the VM off (qemu runs with
# -no-reboot, so a panic or a reboot ends the VM too).

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp

. /usr/lib/cvm/guest-lib.sh

# Modules in dependency order, as resolved on the host with
# `modprobe --show-depends`; /etc/cvm-modules holds their paths. (The kernel
# may have loaded some already through busybox's modprobe: skip those.)
kmods=/lib/modules/$(uname -r)
while read -r ko; do
        name=$(basename "$ko" .ko | tr - _)
        grep "^$name " /proc/modules >/dev/null && continue
        insmod "$kmods/$ko" || echo "cvm-guest: insmod $ko failed"
done </etc/cvm-modules

# Secure Boot state and the systemd-stub variables live there.
if [ -d /sys/firmware/efi/efivars ]; then
        mount -t efivarfs efivarfs /sys/firmware/efi/efivars
fi

echo "cvm-guest: running /scenario.sh at $(cut -d' ' -f1 /proc/uptime) s"
# A subshell, so a scenario may call `exit` or die without killing PID 1;
# its results reach us through $CVM_RESULTS.
(
        [ -f /scenario.env ] && . /scenario.env
        . /scenario.sh
)
rc=$?
[ "$rc" = 0 ] || not_ok "/scenario.sh exited with status $rc"

passed=$(grep -c '^ok$' "$CVM_RESULTS" 2>/dev/null)
failed=$(grep -c '^fail$' "$CVM_RESULTS" 2>/dev/null)
echo "cvm-guest: scenario done at $(cut -d' ' -f1 /proc/uptime) s"
echo "${passed:-0} passed, ${failed:-0} failed"
sync
poweroff -f
