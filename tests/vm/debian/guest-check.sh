#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs inside the Debian guest (cvm-guest-check.service) once the boot
# transaction is over, and reports on the serial console, where the host's
# harness reads it:
#   ok - ... / not ok - ...          one line per check
#   cvm-boottime[-PHASE] SECONDS     systemd's boot time: total, kernel,
#                                    initrd, userspace
#   cvm-hostkey-ed25519 BASE64       the host key made at first boot, so the
#                                    host can pin it (StrictHostKeyChecking)
#   N passed, M failed               last; the harness's result line
# Lines go straight to /dev/console: through the journal they would get a
# timestamp prefix and no longer match the harness's patterns. Each one
# starts with a newline of its own, because serial-getty's "login: "
# prompt shares the console and ends without one, at a time we don't
# control (one write(2) of a short line is not split by the tty).
set -u

exec 3>/dev/console
passed=0
failed=0

say() {
        printf '\n%s\n' "$*" >&3
}
ok() {
        passed=$((passed + 1))
        say "ok - $*"
}
not_ok() {
        failed=$((failed + 1))
        say "not ok - $*"
}
check() {
        local desc=$1
        shift
        if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# This unit is Type=simple, so its start job is done at once and --wait
# does not wait for ourselves.
state=$(systemctl is-system-running --wait)
case $state in
running | degraded) ok "system is $state" ;;
*) not_ok "system is $state" ;;
esac
[ "$state" = running ] || say "$(systemctl --failed --no-legend --plain)"

check "/dev/tpmrm0 is a character device" test -c /dev/tpmrm0
# "uninitialized" made this a first boot; systemd must have replaced it
# with a real id and committed it to the (writable) root.
check "machine-id was initialized" grep -E '^[0-9a-f]{32}$' /etc/machine-id
check "ssh.service is active" systemctl is-active --quiet ssh.service
check "root is ext4, read-write" findmnt -n -o FSTYPE,OPTIONS / --raw -t ext4 -O rw
# Without a NoCloud seed ds-identify must keep cloud-init off (it costs
# ≈ 40 s of boot under TCG when it runs for nothing).
check "cloud-init is off without a seed" test ! -e /run/systemd/generator.early/multi-user.target.wants/cloud-init.target

# Boot phases in seconds from PID 1's timestamps (µs since the kernel
# started), as "KEY VALUE" lines the host picks up with vm_log_values.
say "$(systemctl show -p InitRDTimestampMonotonic -p UserspaceTimestampMonotonic \
        -p FinishTimestampMonotonic |
        awk -F= '{ t[$1] = $2 }
             END { i = t["InitRDTimestampMonotonic"]; u = t["UserspaceTimestampMonotonic"]
                   f = t["FinishTimestampMonotonic"]
                   printf "cvm-boottime-kernel %.1f\ncvm-boottime-initrd %.1f\n", i / 1e6, (u - i) / 1e6
                   printf "cvm-boottime-userspace %.1f\ncvm-boottime %.1f\n", (f - u) / 1e6, f / 1e6 }')"
# Where the boot time goes, for whoever reads the serial log.
say "$({ systemd-analyze time; systemd-analyze blame | grep -v "\.device$" | head -n 15; } 2>&1)"
if [ -r /etc/ssh/ssh_host_ed25519_key.pub ]; then
        say "cvm-hostkey-ed25519 $(cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub)"
fi
say "$passed passed, $failed failed"
# The host now connects with ssh and powers the guest off.
