# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for a vm-tier scenario, running in the busybox guest (ash, not
# bash: no arrays, no [[ ]]). /init sources this before /scenario.env and
# /scenario.sh, so a scenario can use everything below directly. Files the
# host passed with `--file SRC` are in /files/; disks are /dev/vda, vdb, ...;
# the TPM is /dev/tpm0 and /dev/tpmrm0 (tpm2-tss TCTI "device"); xfs, btrfs
# and efivarfs load when first mounted (mount -t TYPE).
#
# The assertions have the same names and output as tests/lib/common.sh. Each
# result is also appended to $CVM_RESULTS, so /init can count them even when
# the scenario runs in a subshell or calls `exit`; /init prints the final
# "N passed, M failed" line that the host harness reads.
#
#   ok DESC / not_ok DESC          record one result
#   check DESC CMD...              CMD must succeed
#   check_fails DESC CMD...        CMD must fail
#   check_eq DESC WANT GOT
#   cmdline_arg NAME               print VALUE of NAME=VALUE on the kernel
#                                  command line; status 1 if NAME is absent
#   wait_for PATH [SECONDS]        wait until PATH exists (default 10 s)
#   power_cut                      print "cvm-guest: power cut" and stop the
#                                  VM at once, without syncing: a power loss
#
# Fault injection ("power off at step N"): the host passes
# `vm_run --append cvm.abort_at=N ...`, the scenario reads it with
#         if n=$(cmdline_arg cvm.abort_at); then
#                 CVM_TEST_ABORT_AT=$n cvm-growroot ... ; power_cut
#         fi
# and the host waits for that with `--done 'cvm-guest: power cut'`.

CVM_RESULTS=${CVM_RESULTS:-/run/cvm-results}

ok() {
        echo "ok - $*"
        echo ok >>"$CVM_RESULTS"
}

not_ok() {
        echo "not ok - $*"
        echo fail >>"$CVM_RESULTS"
}

check() {
        local desc="$1"
        shift
        if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

check_fails() {
        local desc="$1"
        shift
        if "$@"; then not_ok "$desc (unexpectedly succeeded)"; else ok "$desc"; fi
}

check_eq() {
        if [ "$2" = "$3" ]; then
                ok "$1"
        else
                not_ok "$1: want '$2', got '$3'"
        fi
}

cmdline_arg() {
        local arg
        for arg in $(cat /proc/cmdline); do
                case $arg in
                "$1"=*)
                        echo "${arg#*=}"
                        return 0
                        ;;
                "$1")
                        echo ""
                        return 0
                        ;;
                esac
        done
        return 1
}

wait_for() {
        local n=$((${2:-10} * 10))
        while [ ! -e "$1" ]; do
                n=$((n - 1))
                [ "$n" -gt 0 ] || return 1
                usleep 100000
        done
}

power_cut() {
        echo "cvm-guest: power cut"
        # sysrq 'o' powers off without sync or unmount; poweroff -f would sync.
        echo 1 >/proc/sys/kernel/sysrq
        echo o >/proc/sysrq-trigger
        # sysrq acts asynchronously; never let the scenario go on meanwhile.
        while :; do sleep 1; done
}
